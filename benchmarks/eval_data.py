"""Where the public evaluation sets are: a folder named on the command line or in an environment variable.

Banking77, CLINC150, HINT3 and DataCLUE CIC are evaluation data: Kefu never ships them and never looks for them
outside the repository. A benchmark that needs one is told where it is (``--data DIR``, else ``$KEFU_EVAL_DIR``,
the folder holding one sub-folder per set; see docs/benchmarks.md, "Evaluation data") and stops with a message
naming the missing files otherwise, before it loads any model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Optional, Sequence

#: the folder holding ``banking77/``, ``clinc150/``, ``hint3/``, ``cic/``
EVAL_DIR_ENV = "KEFU_EVAL_DIR"


class EvalDataMissing(ValueError):
    """The evaluation data folder was not given, or lacks files the benchmark reads."""


def locate(
    given: Optional[Path],
    env: Mapping[str, str],
    *,
    own_env: Optional[str] = None,
    subdir: str = "",
) -> Optional[Path]:
    """The data folder: ``given`` (``--data``), else ``$own_env`` (a variable naming this set's folder itself),
    else ``$KEFU_EVAL_DIR`` plus ``subdir``; None when none of them is set. Empty variables count as unset."""
    if given is not None:
        return Path(given)
    if own_env and env.get(own_env):
        return Path(env[own_env])
    if env.get(EVAL_DIR_ENV):
        return Path(env[EVAL_DIR_ENV]) / subdir if subdir else Path(env[EVAL_DIR_ENV])
    return None


def require(folder: Optional[Path], files: Sequence[str], how: str) -> Path:
    """``folder`` when every one of ``files`` (paths relative to it) is a file there; else EvalDataMissing
    whose message says what is missing and ``how`` to name the folder."""
    if folder is None:
        raise EvalDataMissing(f"no evaluation data folder given: name it with {how} (it must hold {', '.join(files)})")
    if not folder.is_dir():
        raise EvalDataMissing(f"evaluation data folder {folder} does not exist (give it with {how})")
    missing = [name for name in files if not (folder / name).is_file()]
    if missing:
        raise EvalDataMissing(
            f"evaluation data folder {folder} lacks {', '.join(missing)} (give the right one with {how})"
        )
    return folder

"""Reading one configuration value: the environment variable first, then the config file, then the default.

Channels read their options from ``credentials.yml`` with environment overrides; the same three
readers give every channel the same precedence and the same error for a bad value (a
``ValueError`` that names the variable, never a traceback from ``int()``). Callers pass the
variable's name, so a scan of the calling package still sees which variables it reads.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional


def setting(
    config: Optional[Mapping[str, Any]],
    key: str,
    env: str,
    default: Any = None,
    environ: Optional[Mapping[str, str]] = None,
) -> Any:
    """``environ[env]`` when set and not empty, else ``config[key]`` when set and not empty, else ``default``."""
    value = (environ if environ is not None else os.environ).get(env)
    if value not in (None, ""):
        return value
    value = (config or {}).get(key)
    return default if value in (None, "") else value


def int_setting(value: Any, name: str, minimum: int = 0) -> int:
    """``value`` as an integer of at least ``minimum``; else a ValueError naming ``name``."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer, not {value!r}") from None
    if number < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {number}")
    return number


def float_setting(value: Any, name: str, minimum: float = 0.0) -> float:
    """``value`` as a number of at least ``minimum`` (NaN refused); else a ValueError naming ``name``."""
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {value!r}") from None
    if not number >= minimum:  # also refuses NaN
        raise ValueError(f"{name} must be at least {minimum}, not {number}")
    return number

"""JSON codec for the store dataclasses: the wire format of docs/store-api.md.

Decoding is strict: a missing field, a wrong type or an unknown enum value
raises :class:`StoreUnavailable`, because a backend that sends such data is
broken and must not be half-trusted.
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import date, datetime, timezone
from functools import cache
from typing import Any, Dict, Type, TypeVar

from actions.store.types import StoreUnavailable

T = TypeVar("T")


def to_json(value: Any) -> Any:
    """A dataclass (or a list/tuple of them) as plain JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


@cache
def _hints(cls: type) -> Dict[str, Any]:
    return typing.get_type_hints(cls)


def _bad(path: str, why: str) -> StoreUnavailable:
    return StoreUnavailable(f"store sent malformed data at {path}: {why}")


def _decode(hint: Any, raw: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union:
        if raw is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _decode(inner[0], raw, path)
    if origin in (tuple, typing.Tuple):
        if not isinstance(raw, list):
            raise _bad(path, "expected a list")
        return tuple(_decode(args[0], item, f"{path}[{i}]") for i, item in enumerate(raw))
    if dataclasses.is_dataclass(hint):
        return from_json(hint, raw, path)
    if hint is datetime:
        if not isinstance(raw, str):
            raise _bad(path, "expected an ISO time")
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError as exc:
            raise _bad(path, "expected an ISO time") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    if hint is date:
        if not isinstance(raw, str):
            raise _bad(path, "expected an ISO date")
        try:
            return date.fromisoformat(raw)
        except ValueError as exc:
            raise _bad(path, "expected an ISO date") from exc
    if hint is bool:
        if not isinstance(raw, bool):
            raise _bad(path, "expected a boolean")
        return raw
    if hint is int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise _bad(path, "expected an integer")
        return raw
    if hint is str:
        if not isinstance(raw, str):
            raise _bad(path, "expected a string")
        return raw
    raise _bad(path, f"unsupported type {hint!r}")


def from_json(cls: Type[T], raw: Any, path: str = "$") -> T:
    """Build dataclass ``cls`` from decoded JSON, strictly."""
    if not isinstance(raw, dict):
        raise _bad(path, "expected an object")
    hints = _hints(cls)
    values: Dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in raw:
            values[f.name] = _decode(hints[f.name], raw[f.name], f"{path}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _bad(path, f"missing field {f.name!r}")
    return cls(**values)

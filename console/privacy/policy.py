"""The retention policy: days per kind of personal data (``console/privacy.yml``), with environment overrides.

- ``KEFU_PRIVACY_CONFIG``: another YAML file instead of console/privacy.yml
- ``KEFU_PRIVACY_<KIND>_DAYS`` (KIND: TRANSCRIPTS, TICKETS, LEADS, UNANSWERED, FEEDBACK, NOTICES): days; 0 keeps
  that kind forever
- ``KEFU_PRIVACY_SCHEDULE`` [true]: the console runs the retention job once a day
- ``KEFU_PRIVACY_HOUR`` [3]: at this UTC hour
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import yaml

POLICY_FILE = Path(__file__).resolve().parent.parent / "privacy.yml"

#: the kinds of personal data with a retention period, in the order the job handles them
KINDS = ("transcripts", "tickets", "leads", "unanswered", "feedback", "notices")
#: the most days a period may have (100 years): a typo like 3650000 is refused rather than overflowing a date
MAX_DAYS = 36500
DAY = 86400.0


class PolicyError(ValueError):
    """The privacy configuration is malformed."""


@dataclass(frozen=True)
class Policy:
    days: Dict[str, int]
    schedule: bool = True
    hour: int = 3
    batch: int = 500

    def cutoff(self, kind: str, now: float) -> Optional[float]:
        """The UNIX time before which ``kind`` is due, or None when it is kept forever."""
        days = self.days[kind]
        return None if days == 0 else now - days * DAY

    def to_dict(self) -> Dict[str, Any]:
        return {"retention_days": dict(self.days), "schedule": {"enabled": self.schedule, "hour": self.hour},
                "batch": self.batch}


def _whole(where: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PolicyError(f"{where} must be a whole number from {low} to {high}, not {value!r}")
    return value


def _flag(where: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise PolicyError(f"{where} must be true or false, not {value!r}")


def load_policy(environ: Optional[Mapping[str, str]] = None, path: Optional[Path] = None) -> Policy:
    env = os.environ if environ is None else environ
    path = path or Path(env.get("KEFU_PRIVACY_CONFIG") or POLICY_FILE)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise PolicyError(f"{path}: {error}") from error
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: expected a mapping")
    unknown = sorted(set(data) - {"retention", "schedule"})
    if unknown:
        raise PolicyError(f"{path}: unknown key(s) {', '.join(unknown)}; use retention, schedule")
    retention = data.get("retention") or {}
    if not isinstance(retention, dict):
        raise PolicyError(f"{path}: retention must be a mapping of kind -> days")
    extra = sorted(set(retention) - set(KINDS))
    if extra:
        raise PolicyError(f"{path}: unknown retention kind(s) {', '.join(extra)}; kinds: {', '.join(KINDS)}")
    missing = [kind for kind in KINDS if kind not in retention]
    if missing:
        raise PolicyError(f"{path}: retention needs days for {', '.join(missing)} (0 keeps forever)")
    days: Dict[str, int] = {}
    for kind in KINDS:
        name = f"KEFU_PRIVACY_{kind.upper()}_DAYS"
        raw = env.get(name)
        where, value = (name, raw) if raw not in (None, "") else (f"{path}: retention.{kind}", retention[kind])
        days[kind] = _whole(where, value, 0, MAX_DAYS)
    schedule = data.get("schedule") or {}
    if not isinstance(schedule, dict):
        raise PolicyError(f"{path}: schedule must be a mapping")
    extra = sorted(set(schedule) - {"enabled", "hour", "batch"})
    if extra:
        raise PolicyError(f"{path}: schedule: unknown key(s) {', '.join(extra)}; use enabled, hour, batch")
    enabled_raw = env.get("KEFU_PRIVACY_SCHEDULE", "")
    enabled = _flag("KEFU_PRIVACY_SCHEDULE", enabled_raw) if enabled_raw else _flag(
        f"{path}: schedule.enabled", schedule.get("enabled", True))
    hour_raw = env.get("KEFU_PRIVACY_HOUR", "")
    hour = _whole("KEFU_PRIVACY_HOUR", hour_raw, 0, 23) if hour_raw else _whole(
        f"{path}: schedule.hour", schedule.get("hour", 3), 0, 23)
    batch = _whole(f"{path}: schedule.batch", schedule.get("batch", 500), 1, 10000)
    return Policy(days=days, schedule=enabled, hour=hour, batch=batch)

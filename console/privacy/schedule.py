"""The console process runs the retention job once a day at the policy's hour (UTC).

Every console replica may run this loop: the job's lock row lets one of them run at a time, and the day of the
last finished run (kept in that row) makes the others skip that day. A failed run is logged and tried again at
the next check (every :data:`CHECK_SECONDS`)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Optional

from console.privacy.service import Privacy

log = logging.getLogger("kefu.console.privacy")

#: how often the loop looks whether the day's run is due
CHECK_SECONDS = 300.0


def due_day(privacy: Privacy, now: float) -> Optional[str]:
    """The UTC day whose run is due now (the hour has come and that day has no finished run), else None."""
    moment = datetime.fromtimestamp(now, tz=timezone.utc)
    if moment.hour < privacy.policy.hour:
        return None
    day = moment.strftime("%Y-%m-%d")
    return None if privacy.last_run_day() == day else day


async def run_daily(privacy: Privacy, check_seconds: float = CHECK_SECONDS) -> None:
    """Check every ``check_seconds``, the first time one interval after start-up (a console that was just
    started, or restarted in a crash loop, serves agents first)."""
    while True:
        await asyncio.sleep(check_seconds)
        try:
            day = await asyncio.to_thread(due_day, privacy, privacy.clock())
            if day is not None:
                result = await asyncio.to_thread(privacy.retain, "schedule", False, day)
                if not result.ran:
                    log.info("privacy.retain.skipped reason=%s", result.reason)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a broken store must not stop the console; the next check tries again
            log.error("privacy.retain.failed error=%s", type(error).__name__, exc_info=True)

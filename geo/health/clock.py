"""The day the health rules are judged on: today in Beijing (the rules' calendar)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def today() -> date:
    """Today's date in Asia/Shanghai."""
    return datetime.now(TZ).date()

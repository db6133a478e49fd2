"""Calendar periods of the health rules: month, quarter, half-year and year, each a half-open
span of dates [start, end); a period's evidence is due on its last day plus the rule's grace."""

from __future__ import annotations

from datetime import date, timedelta

MONTHS = {"month": 1, "quarter": 3, "half-year": 6, "year": 12}
PER_YEAR = {"month": 12, "quarter": 4, "half-year": 2, "year": 1}
DAY = timedelta(days=1)


def add_months(d: date, n: int) -> date:
    """The same day `n` months on (the month's last day when it has fewer days)."""
    index = d.year * 12 + d.month - 1 + n
    year, month = divmod(index, 12)
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month + 1, min(d.day, day))
        except ValueError:
            continue
    raise ValueError(f"no day {d.day} in {year}-{month + 1}")


def add_years(d: date, n: int) -> date:
    """The same day `n` years on (28 February for 29 February in a common year)."""
    return add_months(d, 12 * n)


def month_start(d: date) -> date:
    """The first day of the month of `d`."""
    return d.replace(day=1)


def period_of(period: str, d: date) -> tuple[date, date]:
    """The calendar period holding `d`: [start, end)."""
    size = MONTHS[period]
    first = (d.month - 1) // size * size + 1
    start = date(d.year, first, 1)
    return start, add_months(start, size)


def previous(period: str, span: tuple[date, date]) -> tuple[date, date]:
    """The period before `span`."""
    return period_of(period, span[0] - DAY)


def following(period: str, span: tuple[date, date]) -> tuple[date, date]:
    """The period after `span`."""
    return period_of(period, span[1])


def due_on(span: tuple[date, date], grace_days: int) -> date:
    """The day a period's evidence is due: its last day plus the grace."""
    return span[1] - DAY + timedelta(days=grace_days)

"""Working days in mainland China: weekends, public holidays and make-up working days (调休).

The official calendar comes from the `chinesecalendar` package, which carries each year's State
Council notice (published each November for the next year). For a day beyond the years it knows,
the rule falls back to Monday to Friday without the fixed-date holidays (New Year's Day, 1–2 May,
1–3 October); the lunar holidays and make-up days of such a year are unknown until the package
is upgraded, so a deadline that far out may be a day or two early (never later than the law's).
"""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

# (month, day) of the holidays fixed in the solar calendar (全国年节及纪念日放假办法, 2025)
_FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})


def calendar_covers(day: date) -> bool:
    """Tell whether the official calendar is known for this day's year."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return False
    return True


def is_working_day(day: date) -> bool:
    """Tell whether a day is a working day: the official calendar, else the fallback rule."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5 and (day.month, day.day) not in _FIXED_HOLIDAYS


def add_working_days(start: date, count: int) -> date:
    """Return the count-th working day after start (start itself never counts)."""
    if count < 0:
        raise ValueError("count must not be negative")
    day = start
    while count:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


def working_days_between(start: date, end: date) -> int:
    """Count the working days after start up to and including end (0 when end <= start)."""
    count = 0
    day = start + timedelta(days=1)
    while day <= end:
        if is_working_day(day):
            count += 1
        day += timedelta(days=1)
    return count

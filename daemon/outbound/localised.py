"""Dates, times and numbers in mail, written as a reader of the mail's language writes them (Babel).

The filters read the language of the render under way (`writing_in`), so one compiled template
serves every language: `{{ now|format_date("long") }}` is "5 December 2026", "5. desember 2026"
or "5 декабря 2026 г.". Times are in UTC, as everything patroldesk stores.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from contextvars import ContextVar

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_decimal, format_percent

from daemon.languages import FALLBACK, normalise

_LANGUAGE: ContextVar[str] = ContextVar("mail_language", default=FALLBACK)


@contextmanager
def writing_in(language: str):
    """Format dates and numbers for readers of `language` while the block runs."""
    token = _LANGUAGE.set(_known(normalise(language)))
    try:
        yield
    finally:
        _LANGUAGE.reset(token)


def _known(code: str) -> str:
    try:
        Locale.parse(code)
    except (ValueError, UnknownLocaleError):
        return FALLBACK
    return code


def _moment(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)  # stored times are UTC
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    raise TypeError(f"a date or a time is needed, not {type(value).__name__}")


def date_filter(value, format: str = "long") -> str:  # noqa: A002 - Babel's own name for it
    """A date: format short, medium, long, full, or a Babel pattern."""
    return format_date(_moment(value).date(), format, locale=_LANGUAGE.get())


def datetime_filter(value, format: str = "medium") -> str:  # noqa: A002
    """A date and a time, in UTC."""
    return format_datetime(_moment(value), format, tzinfo=dt.timezone.utc, locale=_LANGUAGE.get())


def time_filter(value, format: str = "short") -> str:  # noqa: A002
    """A time of day, in UTC."""
    return format_time(_moment(value), format, tzinfo=dt.timezone.utc, locale=_LANGUAGE.get())


def number_filter(value, format: str | None = None) -> str:  # noqa: A002
    """A number with the reader's digit grouping and decimal sign."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a number is needed, not {type(value).__name__}")
    return format_decimal(value, format, locale=_LANGUAGE.get())


def percent_filter(value, format: str | None = None) -> str:  # noqa: A002
    """A share (0.25) as a percentage (25 %), as the reader writes it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a number is needed, not {type(value).__name__}")
    return format_percent(value, format, locale=_LANGUAGE.get())


def plural_filter(value) -> str:
    """The plural category of a count in the language (CLDR: one, few, many, other...), so a template can
    pick the word: {{ {"one": "отчёт", "few": "отчёта"}.get(n|plural_form, "отчётов") }}."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a number is needed, not {type(value).__name__}")
    return Locale.parse(_LANGUAGE.get()).plural_form(abs(value))


FILTERS = {"format_date": date_filter, "format_datetime": datetime_filter, "format_time": time_filter,
           "format_number": number_filter, "format_percent": percent_filter, "plural_form": plural_filter}

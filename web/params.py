"""Numbers typed into forms and addresses: ASCII digits only, and small enough for any database.

str.isdigit() is not enough: "²" is a digit to it and not to int(), and a
5,000-digit page number overflows SQLite's integers.
"""
from __future__ import annotations

import re

from werkzeug.routing import IntegerConverter

LARGEST = 2**31 - 1  # an INTEGER column on PostgreSQL
_DIGITS = re.compile(r"[0-9]{1,10}")


def number(text: str | None, largest: int = LARGEST) -> int | None:
    """The whole number `text` spells (1 to `largest`), or None."""
    text = (text or "").strip()
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= largest else None


class IdConverter(IntegerConverter):
    """<int:...> in routes, capped: an id past any column's range is a 404, not an overflow."""

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = None, max: int | None = LARGEST,
                 signed: bool = False) -> None:
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

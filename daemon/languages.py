"""The languages patroldesk knows: which it detects in customer mail, and which it speaks itself.

Codes are ISO 639-1 as Babel spells them ("nb" Norwegian bokmål, "nn" nynorsk).
"""
from __future__ import annotations

# What customer mail is recognised in (daemon.mail.language).
DETECTED = ("en", "nb", "nn", "ru", "sv", "da", "de", "fr", "uk")
# What the console and the built-in customer mail are written in.
SHIPPED = ("en", "nb", "ru")
FALLBACK = "en"
# Close enough that a reader of one reads the other: nynorsk readers get bokmål before English.
NEIGHBOURS = {"nn": ("nb",), "no": ("nb",), "da": ("nb",), "sv": ("nb",), "uk": ("ru",)}


def normalise(code: str) -> str:
    """A language tag as kept here: lower case, the primary subtag only ("nb-NO" -> "nb", "no" -> "nb")."""
    code = (code or "").strip().lower().replace("_", "-").split("-")[0]
    return "nb" if code == "no" else code


def choices(wanted: str, available, default: str = FALLBACK) -> list[str]:
    """Languages to try for a reader of `wanted`, best first, among `available`.

    The language itself, then a neighbour its reader understands, then the
    installation's default, then English.
    """
    order = [normalise(wanted), *NEIGHBOURS.get(normalise(wanted), ()), normalise(default), FALLBACK]
    seen: list[str] = []
    for code in order:
        if code and code in available and code not in seen:
            seen.append(code)
    return seen


def best(wanted: str, available, default: str = FALLBACK) -> str | None:
    """The one language of `available` to use for a reader of `wanted` (None: none of them will do)."""
    found = choices(wanted, available, default)
    return found[0] if found else None


def name(code: str, in_language: str = FALLBACK) -> str:
    """The language's name as a reader of `in_language` writes it ("ru" in "nb": "russisk")."""
    from babel import Locale, UnknownLocaleError
    try:
        return Locale.parse(in_language or FALLBACK).languages.get(normalise(code), code)
    except (ValueError, UnknownLocaleError):
        return code

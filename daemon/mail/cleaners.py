"""Small text cleaners shared by the header and body readers.

Decoded mail text may hold controls, line breaks inside header values, lone
surrogates (undecodable bytes kept by surrogateescape) and NUL characters;
these helpers turn it into text that is safe to show and to store.
"""

from __future__ import annotations

import re

from daemon.mail import charsets

_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_QUOTED_PAIR_RE = re.compile(r"\\(.)")


def one_line(text: str) -> str:
    """Text on one line: controls and line breaks become spaces, runs collapse."""
    if text.isprintable():  # no controls, separators or lone surrogates: only spaces to collapse
        return " ".join(text.split())
    return " ".join(_CONTROL_RE.sub(" ", _without_surrogates(text)).split())


def clean_text(text: str) -> str:
    """Text safe to store: no NUL (PostgreSQL rejects it), no lone surrogates."""
    return _without_surrogates(text.replace("\x00", ""))


def _without_surrogates(text: str) -> str:
    """Lone surrogates (undecoded bytes) replaced, so the text can be stored as UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE_RE.sub("\ufffd", text)
    return text


def ascii_header(value: str) -> str:
    """A header value unfolded, with stray 8-bit bytes decoded as UTF-8 with replacement.

    For headers whose syntax is ASCII (ids, dates, Content-ID), where raw
    bytes are noise rather than text in some charset.
    """
    value = charsets.unfold(value)
    if value.isascii():
        return value
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def unescape(text: str) -> str:
    """Undo backslash quoting (RFC 5322 quoted-pair): '\\"' -> '"', '\\\\' -> '\\'."""
    return _QUOTED_PAIR_RE.sub(r"\1", text)

"""Removing quoted history and signatures, for the thread view.

Conservative: only the trailing quote (with its attribution line), an
Outlook-style original-message block, a "-- " signature and a signature
without one at the very end (daemon.mail.signatures) are removed; quotes
interleaved with the customer's own text stay.  Never returns an
empty string for non-empty input.
"""

from __future__ import annotations

import re

from daemon.mail.signatures import signature_start

_ATTRIBUTION_RES = (
    re.compile(r"\bwrote:\s*$", re.I),
    re.compile(r"\b(?:пишет|написал|написала|написал\(а\)):\s*$", re.I),
    re.compile(r"\bskrev:\s*$", re.I),
    re.compile(r"^\s*den\b.*\bskrev\b.*:\s*$", re.I),
    re.compile(r"\b(?:schrieb|a écrit|escribió|skrev følgende):\s*$", re.I),
)
# Date or address plus a final colon: Gmail/Yandex/Mail.ru attributions in any language.
_GENERIC_ATTRIBUTION_RE = re.compile(r"(?:@|\d{1,2}[:.]\d{2}).*:\s*$")
_MAX_ATTRIBUTION_CHARS = 400
# The two halves of an attribution wrapped by the mailer: "On ..., X <x@y>" / "wrote:".
_WRAPPED_TAIL_RE = re.compile(
    r"^\s*(?:\S+\s+){0,3}(?:wrote|skrev|пишет|написал\(а\)|написала|написал|schrieb):\s*$", re.I)
_WRAPPED_HEAD_RE = re.compile(r"^\s*(?:on|den|am|le|el)\s", re.I)
_ORIGINAL_MESSAGE_RE = re.compile(
    r"^\s*-{2,}\s*(?:original message|opprinnelig melding|исходное сообщение|"
    r"original melding|oprindelig meddelelse|ursprüngliche nachricht|"
    r"forwarded message|videresendt melding|пересылаемое сообщение)\s*-{2,}\s*$",
    re.I,
)
_HEADER_FROM_RE = re.compile(r"^\s*\*?(?:from|fra|от|von)\s*:\*?\s*\S", re.I)
_HEADER_SENT_RE = re.compile(
    r"^\s*\*?(?:sent|date|sendt|dato|отправлено|дата|gesendet)\s*:\*?\s*\S", re.I)
_RULE_RE = re.compile(r"^\s*_{10,}\s*$")


def strip_quoted(text: str) -> str:
    """The text without trailing quoted history and signature.

    Removes, in order: an Outlook "-----Original Message-----" block or a
    "From: ... / Sent: ..." header block and all below it; a signature
    after a "-- " line; the trailing block of "> " lines with the
    attribution line above it ("On ... wrote:", "... пишет:",
    "Den ... skrev ...:"); then a signature ending the text without a
    "-- " line ("Best regards,\nKari", "Sent from my iPhone").  Returns
    `text` unchanged when nothing applies and never returns an empty
    string for non-empty input.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    changed = False
    for cut in (_original_message_start, _signature_start, _trailing_quote_start, signature_start):
        position = cut(lines)
        # Only cut when something of the writer's own stays above the cut.
        if position is not None and _has_content(lines[:position]):
            lines = _without_trailing_blanks(lines[:position])
            changed = True
    return "\n".join(lines) if changed else text


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _has_content(lines: list[str]) -> bool:
    return any(line.strip() for line in lines)


def _without_trailing_blanks(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[:end]


def _original_message_start(lines: list[str]) -> int | None:
    """First line of an Outlook-style quoted original (separator or header block)."""
    for index, line in enumerate(lines):
        # Cheap filter first: both markers contain a colon or a dash run.
        if (":" not in line and "--" not in line) or _is_quoted(line):
            continue
        if _ORIGINAL_MESSAGE_RE.match(line) or _is_header_block(lines, index):
            # A line of underscores often stands right above Outlook's header block.
            above = _previous_content_line(lines, index)
            return above if above is not None and _RULE_RE.match(lines[above]) else index
    return None


def _is_header_block(lines: list[str], index: int) -> bool:
    """'From: ...' followed (within two lines) by 'Sent: ...' or 'Date: ...'."""
    if not _HEADER_FROM_RE.match(lines[index]):
        return False
    return any(_HEADER_SENT_RE.match(line) for line in lines[index + 1:index + 3])


def _signature_start(lines: list[str]) -> int | None:
    """The "-- " signature delimiter line (the first one outside quotes)."""
    for index, line in enumerate(lines):
        if line in ("-- ", "--"):
            return index
    return None


def _trailing_quote_start(lines: list[str]) -> int | None:
    """Start of the final run of quoted lines, including its attribution line."""
    index = len(lines)
    while index > 0 and not lines[index - 1].strip():
        index -= 1
    end = index
    while index > 0 and (_is_quoted(lines[index - 1]) or not lines[index - 1].strip()):
        index -= 1
    if index == end or not any(_is_quoted(line) for line in lines[index:end]):
        return None
    return _attribution_start(lines, index)


def _attribution_start(lines: list[str], quote_start: int) -> int:
    """Move the cut up over an attribution line (possibly wrapped over two lines)."""
    above = _previous_content_line(lines, quote_start)
    if above is None or not _is_attribution(lines[above]):
        return quote_start
    # Mailers wrap long attributions: "On ..., Name <addr>" / "wrote:".
    higher = above - 1
    if higher >= 0 and _WRAPPED_TAIL_RE.match(lines[above]) and _starts_attribution(lines[higher]):
        return higher
    return above


def _is_attribution(line: str) -> bool:
    """Whether a line introduces a quote ("On ... wrote:" and its translations)."""
    line = line.rstrip()
    # Attributions are short and end with a colon; the check also keeps the regexes cheap.
    if not line.endswith(":") or len(line) > _MAX_ATTRIBUTION_CHARS:
        return False
    return any(pattern.search(line) for pattern in _ATTRIBUTION_RES) or bool(
        _GENERIC_ATTRIBUTION_RE.search(line))


def _starts_attribution(line: str) -> bool:
    """Whether a line looks like the first half of a wrapped attribution."""
    return not _is_attribution(line) and bool(_WRAPPED_HEAD_RE.match(line) or "@" in line)


def _previous_content_line(lines: list[str], index: int) -> int | None:
    """Index of the nearest non-blank line above `index`."""
    index -= 1
    while index >= 0 and not lines[index].strip():
        index -= 1
    return index if index >= 0 else None

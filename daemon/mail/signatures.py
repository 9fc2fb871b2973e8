"""Signatures written without the RFC 3676 "-- " line, found at the end of a mail.

Conservative: only within the last few lines, only where what follows the
start is short (a name, a title, a phone number), and only for starts that
mean nothing else: a closing phrase ("Best regards," "С уважением,"
"Med vennlig hilsen"), a device line ("Sent from my iPhone"), or a line of
dashes or underscores above a name. A bare "Regards" or "Thanks" is left
alone: it is too often the writer's own last word.
"""

from __future__ import annotations

import re

TAIL_LINES = 8  # a signature start is looked for among the last non-blank lines only
_MAX_SIGNATURE_LINES = 6
_MAX_SIGNATURE_LINE_CHARS = 70

_CLOSING_PHRASE = (
    r"(?:(?:best|kind|kindest|warm|warmest)\s+regards|best\s+wishes|yours\s+(?:sincerely|faithfully|truly)"
    r"|sincerely|с\s+уважением|с\s+наилучшими\s+пожеланиями|всего\s+(?:доброго|наилучшего|хорошего)"
    r"|med\s+vennlig\s+hilsen|vennlig\s+hilsen|vennlige\s+hilsener|beste\s+hilsen|med\s+hilsen|mvh)"
)
# The phrase alone ("Best regards,") or with the name after it ("Mvh Silje Moen").
_CLOSING_RE = re.compile(rf"{_CLOSING_PHRASE}\s*[,.!]?(?P<name>\s+\S+(?:\s+\S+){{0,3}})?", re.I)
_DEVICE_RE = re.compile(
    r"(?:sent\s+from\s+(?:my\s+)?|sendt\s+fra\s+(?:min\s+)?|отправлено\s+(?:с|из)\s+(?:моего\s+)?"
    r"|skickat\s+från\s+(?:min\s+)?|get\s+outlook\s+for\s+)\S.{0,40}", re.I)
_RULE_RE = re.compile(r"(?:-{2,}|_{2,}|—+)")
_NAME_RE = re.compile(r"[^\W\d_]")  # a name starts with a letter


def signature_start(lines: list[str]) -> int | None:
    """Index of the line a trailing signature starts on, or None."""
    content = [index for index, line in enumerate(lines) if line.strip()]
    for position, index in enumerate(content[-TAIL_LINES:], start=max(0, len(content) - TAIL_LINES)):
        after = [lines[i].strip() for i in content[position + 1:]]
        if _starts_signature(lines[index].strip(), after):
            return index
    return None


def _starts_signature(line: str, after: list[str]) -> bool:
    if len(after) > _MAX_SIGNATURE_LINES or any(len(text) > _MAX_SIGNATURE_LINE_CHARS for text in after):
        return False
    if _DEVICE_RE.fullmatch(line):
        return len(after) <= 2
    closing = _CLOSING_RE.fullmatch(line)
    if closing:  # the name follows, on the same line or the next
        return bool(closing.group("name")) if not after else bool(_NAME_RE.match(after[0]))
    if _RULE_RE.fullmatch(line):
        return bool(after) and bool(_NAME_RE.match(after[0]))
    return False

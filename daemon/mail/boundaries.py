"""Broken multiparts: parts found again, and MIME boundary lines kept out of the text.

The stdlib parser leaves a multipart unsplit when its parts are separated by
another boundary than the one declared (or none is declared, or the opening
delimiter carries junk); its payload is then the raw parts, delimiters and
part headers included. `repair_multiparts` finds the delimiter the parts
really use and splits them again. What still slips through (a delimiter
glued to the end of a text line, a part never closed) is taken out of the
text by `without_boundaries`.
"""

from __future__ import annotations

import re
from email import policy
from email.message import Message
from email.parser import Parser

from daemon.mail.mime import content_type_of, header_params, part_header

_PARSER = Parser(policy=policy.compat32)
_HEADER_RE = re.compile(r"[!-9;-~]+:")
# An opening delimiter line: "--" and a token of boundary characters (RFC 2046: at most 70), junk allowed after.
_OPENING_RE = re.compile(r"--([0-9A-Za-z'()+_,./:=?-]{1,70})(?:[ \t].*)?")
_MAX_REPAIRS = 20  # a mail asking for more is hostile; the rest stays as it came


def repair_multiparts(message: Message, notes: list[str]) -> None:
    """Split again, in place, every multipart the parser could not split; each repair is noted."""
    stack, repairs = [message], 0
    while stack:
        part = stack.pop()
        payload = part._payload  # compat32: a list of parts, or the raw text when unsplit
        if isinstance(payload, list):
            stack.extend(sub for sub in payload if isinstance(sub, Message))
            continue
        multipart = content_type_of(part).startswith("multipart/")
        if repairs >= _MAX_REPAIRS or not isinstance(payload, str) or not multipart:
            continue
        found = _split_again(part, payload)
        if found is not None:
            repairs += 1
            notes.append(f"a multipart's declared boundary (if any) does not separate its parts; split at the "
                         f"'--{found}' lines they use")
            stack.extend(sub for sub in part._payload if isinstance(sub, Message))


def _split_again(part: Message, payload: str) -> str | None:
    """Re-parse an unsplit multipart's payload with the delimiter its parts use; returns that boundary."""
    boundary = _used_boundary(payload)
    if boundary is None:
        return None
    text = _normalised_delimiters(payload, boundary)
    try:
        again = _PARSER.parsestr(f'Content-Type: {content_type_of(part)}; boundary="{boundary}"\n\n{text}')
    except Exception:  # noqa: BLE001 - a repair that fails leaves the part as it was
        return None
    parts = again._payload
    if not isinstance(parts, list) or not parts:
        return None
    part._payload, part.preamble, part.epilogue = parts, again.preamble, again.epilogue
    return boundary


def _used_boundary(payload: str) -> str | None:
    """The token of the first delimiter-like line that a header line or a blank line follows."""
    lines = payload.splitlines()
    for index, line in enumerate(lines[:-1]):
        match = _OPENING_RE.fullmatch(line.rstrip())
        if match and not match.group(1).endswith("--"):
            following = lines[index + 1]
            if not following.strip() or _HEADER_RE.match(following):
                return match.group(1)
    return None


def _normalised_delimiters(payload: str, boundary: str) -> str:
    """Delimiter lines of `boundary` with the junk after them removed, so the parser sees them."""
    pattern = re.compile(rf"(?m)^--{re.escape(boundary)}(--)?[ \t][^\r\n]*")
    return pattern.sub(lambda m: f"--{boundary}{m.group(1) or ''}", payload)


def boundaries_of(message: Message) -> tuple[str, ...]:
    """Every boundary declared by a multipart of the mail (after repairs, the ones used)."""
    found, stack = [], [message]
    while stack:
        part = stack.pop()
        payload = part._payload
        if isinstance(payload, list):
            stack.extend(sub for sub in payload if isinstance(sub, Message))
        value = part_header(part, "content-type")
        if value and value.lstrip()[:10].lower() == "multipart/":
            boundary = header_params(value)[1].get("boundary", "").strip()
            if boundary:
                found.append(boundary)
    return tuple(dict.fromkeys(found))


def without_boundaries(text: str, boundaries: tuple[str, ...]) -> str:
    """The text without delimiter lines of these boundaries (alone on a line or glued to its end),
    nor the part headers that follow an opening one."""
    for boundary in boundaries:
        if f"--{boundary}" in text:
            text = _scrub(text, boundary)
    return text


def _scrub(text: str, boundary: str) -> str:
    delimiter = re.compile(rf"^(.*?)--{re.escape(boundary)}(--)?[ \t]*$")
    kept: list[str] = []
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        match = delimiter.match(lines[index])
        index += 1
        if match is None:
            kept.append(lines[index - 1])
            continue
        if match.group(1).strip():
            kept.append(match.group(1).rstrip())
        if not match.group(2):
            index = _after_part_headers(lines, index)
        if kept and kept[-1].strip():
            kept.append("")  # one blank line where the parts met
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept).lstrip("\n")


def _after_part_headers(lines: list[str], index: int) -> int:
    """The index after a part's header block (and its blank line) starting at `index`, if there is one."""
    if index >= len(lines) or not _HEADER_RE.match(lines[index]):
        return index
    while index < len(lines) and (_HEADER_RE.match(lines[index]) or lines[index][:1] in (" ", "\t")):
        index += 1
    return index + 1 if index < len(lines) and not lines[index].strip() else index

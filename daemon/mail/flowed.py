"""Undoing format=flowed (RFC 3676) in text/plain bodies.

Thunderbird, Apple Mail and others wrap long lines with soft breaks: a line
ending in a space continues on the next line of the same quote depth.  With
delsp=yes that space was added by the wrapper and goes when the lines are
joined.  A line starting with a space, ">" or "From " is space-stuffed (a
space put in front) and quoted lines start with one ">" per depth.  The
signature separator "-- " ends in a space but never continues.

The result is the text as written: paragraphs on one line, stuffing removed,
quoted lines with their ">" marks (one per depth, then a space) so the quote
stripper still recognises them.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
_SIGNATURE_SEPARATOR = "-- "


class _Line(NamedTuple):
    depth: int  # number of quote marks
    content: str  # without quote marks and stuffing (and, for delsp=yes, the soft-break space)
    kind: str  # "flowed" (continues on the next line), "fixed" or "separator"


def flowed_params(params: dict[str, str]) -> tuple[bool, bool]:
    """(format=flowed, delsp=yes) from the parameters of a text/plain Content-Type."""
    flowed = params.get("format", "").strip().lower() == "flowed"
    return flowed, flowed and params.get("delsp", "").strip().lower() == "yes"


def unflow(text: str, delsp: bool = False) -> str:
    """The text of a format=flowed body with its soft line breaks undone.

    Lines come out separated by "\\n"; a final line break is kept.  A flowed
    line followed by a line of another quote depth, by a signature separator
    or by the end of the text ends its paragraph (RFC 3676 section 4.5).
    """
    lines = _LINE_BREAK_RE.split(text)
    ending = ""
    if len(lines) > 1 and not lines[-1]:
        lines.pop()  # the text ends with a line break: no empty last line follows it
        ending = "\n"
    out: list[str] = []
    depth, paragraph = 0, []  # the open paragraph: quote depth and the contents of its lines
    for line in (_read_line(raw, delsp) for raw in lines):
        if paragraph and (line.depth != depth or line.kind == "separator"):
            out.append(_render(depth, paragraph))
            paragraph = []
        depth = line.depth
        paragraph.append(line.content)
        if line.kind != "flowed":
            out.append(_render(depth, paragraph))
            paragraph = []
    if paragraph:
        out.append(_render(depth, paragraph))
    return "\n".join(out) + ending


def _read_line(raw: str, delsp: bool) -> _Line:
    """Quote depth, content and kind of one physical line."""
    content = raw.lstrip(">")
    depth = len(raw) - len(content)
    if content.startswith(" "):
        content = content[1:]  # space-stuffing (after quote marks: the space a quote adds)
    if content == _SIGNATURE_SEPARATOR:
        return _Line(depth, content, "separator")
    if not content.endswith(" "):
        return _Line(depth, content, "fixed")
    return _Line(depth, content[:-1] if delsp else content, "flowed")


def _render(depth: int, parts: list[str]) -> str:
    """One logical line: its parts joined, after one ">" per quote depth and a space."""
    text = "".join(parts)
    if not depth:
        return text
    return ">" * depth + (" " + text if text else "")

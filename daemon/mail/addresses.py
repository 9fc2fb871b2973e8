"""Address lists (From, To, Cc, ...) split into (display name, address) pairs."""

from __future__ import annotations

import re

from daemon.mail.cleaners import unescape

_COMMENT_RE = re.compile(r"\(((?:[^()\\]|\\.)*)\)")
_QUOTED_RE = re.compile(r'"((?:[^"\\]|\\.)*)"?')


def split_addresses(value: str) -> list[tuple[str, str]]:
    """Split an address list into (raw display name, raw address) pairs.

    Tolerant of what mailers write: quoted names with commas, comments,
    groups ("undisclosed-recipients:;"), missing angle brackets.
    """
    pairs = []
    for element in _split_top_level(value):
        pair = _name_and_addr(element.strip())
        if pair is not None:
            pairs.append(pair)
    return pairs


def _split_top_level(value: str) -> list[str]:
    """Split at commas/semicolons outside quotes, comments and angle brackets."""
    if not any(ch in value for ch in '"(\\:;'):
        return value.split(",")  # the common case needs no scanning
    elements, current = [], []
    quoted, escaped, comment, angle = False, False, 0, False
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\" and (quoted or comment):
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif comment:
            comment += {"(": 1, ")": -1}.get(ch, 0)
        elif ch == '"':
            quoted = True
        elif ch == "(":
            comment = 1
        elif ch in "<>":
            angle = ch == "<"
        elif ch in ",;" and not angle:
            elements.append("".join(current))
            current = []
            continue
        elif ch == ":" and not angle and "@" not in "".join(current):
            current = []  # a group name: "Team: a@x, b@y;"
            continue
        current.append(ch)
    elements.append("".join(current))
    return elements


def _name_and_addr(element: str) -> tuple[str, str] | None:
    """One list element as (display name, address)."""
    if not element:
        return None
    angle = _angle_position(element)
    if angle is not None:
        addr, _, after = element[angle + 1:].partition(">")
        return _unquote(element[:angle].strip()) or _comment_text(after), addr
    comments = _COMMENT_RE.findall(element)
    bare = _COMMENT_RE.sub(" ", element).split()
    if not bare:
        return None
    at_tokens = [token for token in bare if "@" in token]
    if at_tokens:
        addr = at_tokens[-1]
        rest = [token for token in bare if token is not addr]
        name = _unquote(" ".join(rest)) or (unescape(comments[0]).strip() if comments else "")
        return name, addr
    if len(bare) == 1:
        return (unescape(comments[0]).strip() if comments else ""), bare[0]
    return None


def _angle_position(element: str) -> int | None:
    """Index of the '<' opening the address, ignoring any inside quoted strings."""
    if "<" not in element:
        return None
    if '"' not in element:
        return element.index("<")
    quoted = escaped = False
    for index, ch in enumerate(element):
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            return index
    return None


def _unquote(text: str) -> str:
    """Replace quoted strings by their content."""
    return _QUOTED_RE.sub(lambda m: unescape(m.group(1)), text).strip()


def _comment_text(text: str) -> str:
    """The text of the first (comment) in `text`, unescaped; empty when there is none."""
    comments = _COMMENT_RE.findall(text)
    return unescape(comments[0]).strip() if comments else ""

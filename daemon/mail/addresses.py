"""Address lists (From, To, Cc, ...) split into (display name, address) pairs, and addr-specs checked.

An address is read per RFC 5322 (the stdlib's parser decides what an
addr-spec is, quoted local parts included); the old tolerant reading stays
for what no RFC reading makes sense of (names without angle brackets, stray
quotes), and `addr_spec` tells anyone about to send mail whether an address
is one at all.
"""

from __future__ import annotations

import re
from email.headerregistry import Address as _StdlibAddress

from daemon.languages import N_
from daemon.mail.cleaners import unescape

_COMMENT_RE = re.compile(r"\(((?:[^()\\]|\\.)*)\)")
_QUOTED_RE = re.compile(r'"((?:[^"\\]|\\.)*)"?')
_COMPLETE_QUOTED_RE = re.compile(r'("(?:[^"\\]|\\.)*")')
# A dot-atom on both sides of one @ (UTF-8 letters allowed, RFC 6532): most addresses, checked without the parser.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\xa1-\ud7ff\ue000-\U0010ffff-]+"
_DOT_ATOM_ADDRESS_RE = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
MAX_ADDRESS_CHARS = 320  # RFC 5321 allows 64 + 1 + 255


def addr_spec(text: str) -> str | None:
    """`text` as an RFC 5322 addr-spec (local-part@domain), or None when it is not one.

    Quoted local parts are kept quoted where they must be ('"john smith"@example.org')
    and unquoted where they need not be; UTF-8 is allowed (RFC 6532).
    """
    text = text.strip()
    if not text or len(text) > MAX_ADDRESS_CHARS or _CONTROL_RE.search(text):
        return None
    if _DOT_ATOM_ADDRESS_RE.fullmatch(text):
        return text
    # The stdlib refuses non-ASCII outright; in RFC 6532 it may stand wherever an ASCII letter may.
    checked = _NON_ASCII_RE.sub("a", text)
    try:
        parsed = _StdlibAddress(addr_spec=checked)
    except Exception:  # noqa: BLE001 - the parser raises ValueError, its defects, or IndexError on 'x@'
        return None
    if not parsed.username or not parsed.domain:
        return None
    return parsed.addr_spec if checked == text else text


def address_problem(address: str) -> str | None:
    """Why mail cannot be sent to `address`, or None when it is a valid addr-spec."""
    if not address.strip():
        return N_("there is no address to send it to")
    if addr_spec(address) is None:
        return N_("%(address)r is not a valid mail address (RFC 5322 addr-spec)", address=address)
    return None


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
    spec = addr_spec(_outside_quotes(element, _COMMENT_RE.sub, " "))
    if spec is not None:  # a lone addr-spec, quoted local part and all; a comment beside it names its owner
        return _comment_text(_COMPLETE_QUOTED_RE.sub(" ", element)), spec
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


def _outside_quotes(text: str, substitute, replacement: str) -> str:
    """Apply a regex substitution (`pattern.sub`) to the parts of `text` outside quoted strings."""
    if '"' not in text:
        return substitute(replacement, text)
    pieces = _COMPLETE_QUOTED_RE.split(text)
    return "".join(piece if index % 2 else substitute(replacement, piece) for index, piece in enumerate(pieces))

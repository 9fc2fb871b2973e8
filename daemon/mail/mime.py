"""Reading MIME parts of a compat32 Message: header parameters, types, payloads.

Everything reads the raw headers and payloads (`_headers`, `_payload`):
Message.get() is slow and rewrites 8-bit values, and get_payload() decodes
lossily.  RFC 2045/2231 parameters, transfer encodings and serialising a
sub-message back to bytes are handled here, leniently.
"""

from __future__ import annotations

import binascii
import re
from email.message import Message
from urllib.parse import unquote_to_bytes

from daemon.mail import charsets
from daemon.mail.cleaners import ascii_header, unescape

_PARAM_RE = re.compile(r';\s*([^\s=;"]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)')
_SECTION_RE = re.compile(r"([^*]+)\*(\d+)?(\*)?")


# ---------------------------------------------------------------------------
# Headers and parameters (RFC 2045 and RFC 2231).


def part_header(part: Message, name: str) -> str | None:
    """The raw value of a part's header (first occurrence), without compat32 rewriting.

    `name` must be lower-case.
    """
    # _headers is what raw_items() copies; reading it directly saves a copy per lookup.
    for key, value in part._headers:
        if key.lower() == name:
            return value if isinstance(value, str) else str(value)
    return None


def header_params(value: str | None, hint: str | None = None) -> tuple[str, dict[str, str]]:
    """Split 'type/sub; a=b; c*=utf-8''x' into (lower-cased value, decoded params).

    RFC 2231 continuations and charsets are assembled; RFC 2047 words and
    raw 8-bit bytes in plain values are decoded too (common, if not allowed).
    """
    if not value:
        return "", {}
    if ";" not in value:
        return value.strip().lower(), {}
    value = charsets.unfold(value)
    main = value.split(";", 1)[0].strip().lower()
    params: dict[str, str] = {}
    sections: dict[str, list[tuple[int, bool, str]]] = {}
    for match in _PARAM_RE.finditer(value):
        name, text = match.group(1).lower(), match.group(2).strip()
        if text.startswith('"'):
            text = unescape(text[1:-1] if text.endswith('"') and len(text) > 1 else text[1:])
        section = _SECTION_RE.fullmatch(name)
        if section:
            number = int(section.group(2)) if section.group(2) else 0
            encoded = section.group(2) is None or bool(section.group(3))
            sections.setdefault(section.group(1), []).append((number, encoded, text))
        elif name not in params:
            params[name] = charsets.decode_header_value(text, hint) if "=?" in text or not text.isascii() else text
    for name, pieces in sections.items():
        params[name] = _join_rfc2231(pieces, hint)
    return main, params


def _join_rfc2231(pieces: list[tuple[int, bool, str]], hint: str | None) -> str:
    """Assemble name*0*=charset'lang'..., name*1*=... into one decoded string."""
    pieces.sort(key=lambda piece: piece[0])
    label = None
    data = []
    for position, (_, encoded, text) in enumerate(pieces):
        if encoded and position == 0 and text.count("'") >= 2:
            label, _, text = text.split("'", 2)
        raw = text.encode("utf-8", "surrogateescape")
        data.append(unquote_to_bytes(raw) if encoded else raw)
    joined = b"".join(data)
    if label:
        return charsets.decode_bytes(joined, label)[0]
    return charsets.decode_raw_header_bytes(joined, hint)[0]


def content_type_of(part: Message) -> str:
    """A part's lower-cased type/subtype, exactly as compat32's get_content_type() reads it."""
    return content_type_from(part_header(part, "content-type"), part)


def content_type_from(value: str | None, part: Message) -> str:
    """The lower-cased type/subtype of a raw Content-Type value of `part`.

    Missing: the part's default type (message/rfc822 inside a digest);
    malformed: text/plain, as compat32 reads it.
    """
    if value is None:
        return part.get_default_type()
    ctype = value.split(";", 1)[0].strip().lower()
    return ctype if ctype.count("/") == 1 else "text/plain"


def content_id(value: str | None) -> str | None:
    """A Content-ID value without <> and whitespace; None when missing or blank."""
    if value is None:
        return None
    value = "".join(ascii_header(value).split()).strip("<>")
    return value or None


def first_declared_charset(message: Message) -> str | None:
    """The first charset parameter that names a known charset, in tree order."""
    stack = [message]
    while stack:
        part = stack.pop()
        _, params = header_params(part_header(part, "content-type"))
        label = params.get("charset")
        if label and charsets.python_codec(label) not in (None, "ascii"):
            return label
        payload = part._payload  # compat32 keeps sub-parts in a list here
        if isinstance(payload, list):
            stack.extend(reversed([sub for sub in payload if isinstance(sub, Message)]))
    return None


# ---------------------------------------------------------------------------
# Payloads.


def payload_bytes(part: Message, transfer_encoding: str | None = None) -> bytes:
    """A leaf part's payload with the transfer encoding undone, leniently.

    `transfer_encoding` is the Content-Transfer-Encoding value when the
    caller has it at hand; otherwise the part's header is read.
    """
    payload = part._payload  # the undecoded text; get_payload() may decode it lossily
    if not isinstance(payload, str):
        return b""
    data = payload.encode("utf-8", "surrogateescape")
    if transfer_encoding is None:
        transfer_encoding = part_header(part, "content-transfer-encoding")
    encoding = (transfer_encoding or "").split(";", 1)[0].strip().strip('"').lower()
    if encoding == "base64":
        return charsets.decode_base64_lenient(data)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    if encoding in ("x-uuencode", "uuencode", "x-uue", "uue"):
        return _uudecode(data)
    return data


def _uudecode(data: bytes) -> bytes:
    """Decode uuencoded data line by line, skipping lines that do not decode."""
    decoded = []
    for line in data.splitlines():
        if line.startswith((b"begin ", b"end")) or not line.strip():
            continue
        try:
            decoded.append(binascii.a2b_uu(line))
        except binascii.Error:
            continue
    return b"".join(decoded)


def serialise(message: Message) -> bytes:
    """Bytes of a (sub-)message, rebuilt from the parsed tree without recursion."""
    out: list[bytes] = []
    stack: list[Message | bytes] = [message]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            out.append(item)
            continue
        for name, value in item.raw_items():
            out.append(f"{name}: {value}\n".encode("utf-8", "surrogateescape"))
        out.append(b"\n")
        stack.extend(reversed(_serialised_body(item)))
    return b"".join(out)


def _serialised_body(item: Message) -> list[Message | bytes]:
    """The pieces of a message body: bytes, or sub-messages to expand."""
    payload = item._payload
    if isinstance(payload, str):
        return [payload.encode("utf-8", "surrogateescape")]
    if not isinstance(payload, list):
        return []
    subs = [sub for sub in payload if isinstance(sub, Message)]
    boundary = item.get_boundary() if content_type_of(item).startswith("multipart/") else None
    if not boundary:
        return list(subs)
    separator = f"--{boundary}\n".encode("utf-8", "surrogateescape")
    pieces: list[Message | bytes] = []
    if item.preamble:
        pieces.append(f"{item.preamble}\n".encode("utf-8", "surrogateescape"))
    for sub in subs:
        pieces.extend((separator, sub, b"\n"))
    pieces.append(f"--{boundary}--\n".encode("utf-8", "surrogateescape"))
    if item.epilogue:
        pieces.append(item.epilogue.encode("utf-8", "surrogateescape"))
    return pieces

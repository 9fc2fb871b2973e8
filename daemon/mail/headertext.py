"""Header values to text: unfolding, RFC 2047 encoded words, raw 8-bit bytes.

Header values come from the compat32 parser as str with the original bytes
kept by surrogateescape.  Never raises on bad input.
"""

from __future__ import annotations

import binascii
import re

from daemon.mail.charset_codecs import normalise_label
from daemon.mail.charset_decode import decode_bytes, decode_raw_header_bytes

_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_FOLD_RE = re.compile(r"\r?\n(?=[ \t])")
_Q_ESCAPE_RE = re.compile(rb"=([0-9A-Fa-f]{2})")
_BASE64_JUNK_RE = re.compile(rb"[^A-Za-z0-9+/]")


def unfold(value: str) -> str:
    """Undo header folding (RFC 5322 section 2.2.3): drop CRLF before whitespace."""
    if "\n" not in value:
        return value
    return _FOLD_RE.sub("", value).replace("\r\n", " ").replace("\n", " ")


def _to_bytes(text: str) -> bytes:
    """Recover the original bytes of a compat32 header string (surrogateescape)."""
    return text.encode("utf-8", "surrogateescape")


def decode_encoded_text(encoding: str, text: str) -> bytes:
    """Decode the payload of one encoded word (B or Q) to bytes, leniently."""
    raw = _to_bytes(text)
    if encoding in "bB":
        return decode_base64_lenient(raw)
    raw = raw.replace(b"_", b" ")
    return _Q_ESCAPE_RE.sub(lambda m: bytes((int(m.group(1), 16),)), raw)


def decode_base64_lenient(raw: bytes) -> bytes:
    """Base64-decode ignoring junk, missing padding and a truncated tail.

    Chunks separated by padding (some mailers pad every line) are decoded
    one by one so their bits do not shift.
    """
    first_pad = raw.find(b"=")
    if first_pad == -1 or not raw[first_pad:].strip(b"= \t\r\n"):
        # The usual case: padding only at the end; binascii skips line breaks itself.
        try:
            return binascii.a2b_base64(raw)
        except (binascii.Error, ValueError):
            pass
    decoded = []
    for chunk in re.split(rb"=+", raw):
        chunk = _BASE64_JUNK_RE.sub(b"", chunk)
        chunk = chunk[: len(chunk) - (len(chunk) % 4 == 1)]
        if chunk:
            chunk += b"=" * (-len(chunk) % 4)
            try:
                decoded.append(binascii.a2b_base64(chunk))
            except (binascii.Error, ValueError):
                continue
    return b"".join(decoded)


def decode_header_with_notes(value: str, fallback_label: str | None = None) -> tuple[str, list[str]]:
    """Decode a header value like decode_header_value, also returning repair notes."""
    if not isinstance(value, str):
        value = str(value)
    value = unfold(value)
    if "=?" not in value:
        if value.isascii():
            return value, []
        text, note = decode_raw_header_bytes(_to_bytes(value), fallback_label)
        return text, [note] if note else []
    return _decode_with_encoded_words(value, fallback_label)


def _decode_with_encoded_words(value: str, fallback_label: str | None) -> tuple[str, list[str]]:
    """Decode a value made of plain runs and encoded words."""
    pieces: list[str] = []
    notes: list[str] = []
    for label, payload in _header_tokens(value):
        if label is None:
            pieces.append(_decode_plain_run(payload, fallback_label, notes))
            continue
        text, note = decode_bytes(payload, label)
        pieces.append(text)
        if note:
            notes.append(note)
    return "".join(pieces), notes


def _header_tokens(value: str):
    """Yield (None, plain run) and (charset label, decoded bytes) tokens.

    Whitespace between encoded words is dropped (RFC 2047 section 6.2), and
    the bytes of adjacent same-charset words are joined, because senders
    split multibyte characters across words.
    """
    label, data, position = None, b"", 0
    for match in _ENCODED_WORD_RE.finditer(value):
        between = value[position:match.start()]
        word_label = match.group(1).split("*", 1)[0]  # drop an RFC 2231 language suffix
        if between and not (label is not None and between.isspace()):
            if label is not None:
                yield label, data
            label, data = None, b""
            yield None, between
        elif label is not None and normalise_label(word_label) != normalise_label(label):
            yield label, data
            data = b""
        label = word_label
        data += decode_encoded_text(match.group(2), match.group(3))
        position = match.end()
    if label is not None:
        yield label, data
    if position < len(value):
        yield None, value[position:]


def _decode_plain_run(run: str, fallback_label: str | None, notes: list[str]) -> str:
    """Decode text outside encoded words (ASCII, or raw 8-bit bytes)."""
    if run.isascii():
        return run
    text, note = decode_raw_header_bytes(_to_bytes(run), fallback_label)
    if note:
        notes.append(note)
    return text


def decode_header_value(value: str, fallback_label: str | None = None) -> str:
    """Decode a raw header value (RFC 2047 words and raw 8-bit bytes) to str.

    Folding is undone; the decoded text is otherwise returned as is (it may
    contain control characters an encoded word carried).  Never raises.
    `fallback_label` is the charset hint for raw 8-bit bytes.
    """
    try:
        return decode_header_with_notes(value, fallback_label)[0]
    except Exception:  # noqa: BLE001 - a header must never break intake
        return _to_bytes(str(value)).decode("utf-8", "replace")

"""Charset handling for mail: the entry points the rest of the parser uses.

Everything here is a pure function over bytes/str and never raises on bad
input: mail in the wild carries wrong, misspelt and invented charset labels.
The work is split by idea, each module importing only those before it:

- charset_codecs: labels to Python codecs, display names, strict decoding
- charset_detect: detecting the charset of undeclared 8-bit text
- charset_fitness: how much decoded text looks like real writing
- charset_opinion: a second opinion on a declared single-byte charset
- charset_decode: decoding bytes in a declared, missing or wrong charset
- headertext: header values (folding, RFC 2047 encoded words, raw 8-bit bytes)
"""

from __future__ import annotations

from daemon.mail.charset_codecs import display_name, python_codec
from daemon.mail.charset_decode import decode_bytes, decode_raw_header_bytes
from daemon.mail.charset_detect import detect_codec, plausibility
from daemon.mail.charset_opinion import second_opinion
from daemon.mail.headertext import (
    decode_base64_lenient, decode_encoded_text, decode_header_value, decode_header_with_notes, unfold,
)

__all__ = [
    "decode_base64_lenient",
    "decode_bytes",
    "decode_encoded_text",
    "decode_header_value",
    "decode_header_with_notes",
    "decode_raw_header_bytes",
    "detect_codec",
    "display_name",
    "plausibility",
    "python_codec",
    "second_opinion",
    "unfold",
]

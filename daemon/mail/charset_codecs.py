"""Charset labels and the Python codecs behind them.

Maps the labels mail carries (misspelt, invented, or meaning a superset) to
Python codec names, names codecs for notes, and decodes strictly with them.
Pure functions that never raise on bad labels or bytes.
"""

from __future__ import annotations

import codecs
import functools
import re

# Labels mail clients send that Python does not know, or that we decode with
# a superset codec (as browsers do).  None means "no real charset: detect".
_LABEL_TABLE: dict[str, str | None] = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "unicode-2-0-utf-8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "us": "ascii",
    "ansi-x3.4-1968": "ascii",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "iso-latin-1": "cp1252",
    "cp819": "cp1252",
    "ibm819": "cp1252",
    "ansi": "cp1252",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-ukrainian": "mac_cyrillic",
    "mac-cyrillic": "mac_cyrillic",
    "maccyrillic": "mac_cyrillic",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "windows-31j": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "shift-jis": "cp932",
    "ms-kanji": "cp932",
    "x-ms-cp932": "cp932",
    "ks-c-5601-1987": "cp949",
    "ks-c-5601": "cp949",
    "ksc5601": "cp949",
    "euc-kr": "cp949",
    "x-euc-kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "cn-gb": "gb18030",
    "chinese": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "cn-big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "iso-2022-jp": "iso2022_jp",
    "csiso2022jp": "iso2022_jp",
    "ibm866": "cp866",
    "866": "cp866",
    "x-user-defined": None,
    "unknown-8bit": None,
    "x-unknown": None,
    "unknown": None,
    "default": None,
    "charset": None,
    "none": None,
}

# Canonical Python codec names replaced by the superset a mail client means.
_SUPERSET: dict[str, str] = {
    "iso8859-1": "cp1252",
    "latin-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
}

# Codecs that exist in Python but are not charsets a mail can be written in.
_NOT_MAIL_CODECS = frozenset(
    {"undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode",
     "charmap", "mbcs", "oem", "utf-8-sig"}
)

# When the labelled codec fails, these supersets are tried before detecting.
WIDER: dict[str, tuple[str, ...]] = {
    "iso2022_jp": ("iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_2004"),
}

_ISO8859_RE = re.compile(r"iso-?8859-?(\d{1,2})(?:[-:].*)?")
_WINDOWS_RE = re.compile(r"(?:x-)?(?:cp|win|windows|ms|ibm)-?(\d{3,5})")


def normalise_label(label: str) -> str:
    """Lower-case a label and drop quotes, stray apostrophes and spacing."""
    cleaned = label.strip().strip("\"'` \t;").lower()
    return re.sub(r"[\s_]+", "-", cleaned)


@functools.lru_cache(maxsize=512)
def python_codec(label: str | None) -> str | None:
    """Map a MIME charset label to a Python codec name, or None if unknown.

    Never raises.  Labels that mean "unknown" (x-unknown, unknown-8bit,
    x-user-defined) map to None so the caller detects the charset.
    """
    if not label or not isinstance(label, str):
        return None
    norm = normalise_label(label)
    if not norm or len(norm) > 64:
        return None
    if norm in _LABEL_TABLE:
        return _LABEL_TABLE[norm]
    codec = _codec_from_pattern(norm) or lookup_codec(norm)
    if codec is None and norm.startswith("x-"):
        return python_codec(norm[2:])
    return codec


def _codec_from_pattern(norm: str) -> str | None:
    """Handle the iso-8859-N and windows-NNNN families with their spellings."""
    iso = _ISO8859_RE.fullmatch(norm)
    if iso:
        number = int(iso.group(1))
        if number == 8:
            # iso-8859-8-i and -e only differ in text direction, not bytes.
            return "iso8859-8"
        return lookup_codec(f"iso8859-{number}")
    windows = _WINDOWS_RE.fullmatch(norm)
    if windows:
        return lookup_codec(f"cp{windows.group(1)}")
    return None


def lookup_codec(name: str) -> str | None:
    """Ask Python's codec registry, accepting only real text charsets."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_MAIL_CODECS:
        return None
    return _SUPERSET.get(info.name, info.name)


def display_name(codec: str) -> str:
    """Human-friendly name of a Python codec for notes (cp1251 -> windows-1251)."""
    name = codec.lower().replace("_", "-")
    windows = re.fullmatch(r"cp(125\d)", name)
    if windows:
        return f"windows-{windows.group(1)}"
    iso = re.fullmatch(r"iso8859-(\d+)", name)
    return f"iso-8859-{iso.group(1)}" if iso else name


def show_label(label: str) -> str:
    """A label made safe to quote inside a one-line note."""
    printable = "".join(ch for ch in label if ch.isprintable())
    return printable[:40]


_C1_SURROGATE_RE = re.compile("[\udc80-\udcff]")
_HIGH_BYTES = bytes(range(0x80, 0x100))


def high_byte_count(data: bytes) -> int:
    """How many bytes of `data` have the high bit set."""
    return len(data) - len(data.translate(None, _HIGH_BYTES))


def _decode_cp1252_total(data: bytes) -> str:
    """Decode windows-1252 mapping its five undefined bytes to C1 controls (WHATWG)."""
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("cp1252", "surrogateescape")
        return _C1_SURROGATE_RE.sub(lambda m: chr(ord(m.group()) - 0xDC00), text)


def strict_decode(data: bytes, codec: str) -> str | None:
    """Decode strictly; None when the bytes are not valid in that codec."""
    if codec == "cp1252":
        return _decode_cp1252_total(data)
    try:
        text = data.decode(codec)
    except Exception:  # noqa: BLE001 - some codecs raise odd errors on junk
        return None
    # A UTF-8 byte order mark is not text (utf-8-sig would strip it, but slowly).
    return text[1:] if codec == "utf-8" and text.startswith("\ufeff") else text


def decode_sample(sample: bytes, codec: str, final: bool) -> str | None:
    """Strictly decode a sample; a cut multibyte char at its end is allowed."""
    try:
        decoder = codecs.getincrementaldecoder(codec)("strict")
        return decoder.decode(sample, final=final)
    except Exception:  # noqa: BLE001 - invalid for this codec
        return None

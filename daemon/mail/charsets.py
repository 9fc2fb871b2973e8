"""Charset handling for mail: label mapping, tolerant decoding, RFC 2047 headers.

Everything here is a pure function over bytes/str and never raises on bad
input: mail in the wild carries wrong, misspelt and invented charset labels.
"""

from __future__ import annotations

import binascii
import codecs
import functools
import re
import unicodedata

import charset_normalizer

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
_WIDER: dict[str, tuple[str, ...]] = {
    "iso2022_jp": ("iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_2004"),
}

_ISO8859_RE = re.compile(r"iso-?8859-?(\d{1,2})(?:[-:].*)?")
_WINDOWS_RE = re.compile(r"(?:x-)?(?:cp|win|windows|ms|ibm)-?(\d{3,5})")


def _normalise_label(label: str) -> str:
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
    norm = _normalise_label(label)
    if not norm or len(norm) > 64:
        return None
    if norm in _LABEL_TABLE:
        return _LABEL_TABLE[norm]
    codec = _codec_from_pattern(norm) or _lookup_codec(norm)
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
        return _lookup_codec(f"iso8859-{number}")
    windows = _WINDOWS_RE.fullmatch(norm)
    if windows:
        return _lookup_codec(f"cp{windows.group(1)}")
    return None


def _lookup_codec(name: str) -> str | None:
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


def _show_label(label: str) -> str:
    """A label made safe to quote inside a one-line note."""
    printable = "".join(ch for ch in label if ch.isprintable())
    return printable[:40]


_C1_SURROGATE_RE = re.compile("[\udc80-\udcff]")


def _decode_cp1252_total(data: bytes) -> str:
    """Decode windows-1252 mapping its five undefined bytes to C1 controls (WHATWG)."""
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        text = data.decode("cp1252", "surrogateescape")
        return _C1_SURROGATE_RE.sub(lambda m: chr(ord(m.group()) - 0xDC00), text)


def _strict(data: bytes, codec: str) -> str | None:
    """Decode strictly; None when the bytes are not valid in that codec."""
    if codec == "cp1252":
        return _decode_cp1252_total(data)
    try:
        text = data.decode(codec)
    except Exception:  # noqa: BLE001 - some codecs raise odd errors on junk
        return None
    # A UTF-8 byte order mark is not text (utf-8-sig would strip it, but slowly).
    return text[1:] if codec == "utf-8" and text.startswith("\ufeff") else text


def _has_iso2022_escapes(data: bytes) -> bool:
    """ISO-2022-JP is 7-bit: only its escape sequences betray it."""
    return b"\x1b$" in data or b"\x1b(" in data


def decode_bytes(data: bytes, label: str | None) -> tuple[str, str | None]:
    """Decode `data` declared as charset `label`; return (text, note or None).

    Never raises.  The declared charset is used when it decodes strictly;
    otherwise (label missing, unknown, or wrong) falls back to strict UTF-8,
    then detection, then windows-1252 with replacement.  The note says what
    was repaired, e.g. "charset 'x-unknown' unknown; decoded as koi8-r
    (detected)"; it is None when the declared charset simply worked.
    """
    if not data:
        return "", None
    data = bytes(data)
    label = label if isinstance(label, str) else None
    codec = python_codec(label)
    if codec is not None:
        for candidate in (codec, *_WIDER.get(codec, ())):
            text = _strict(data, candidate)
            if text is not None:
                return text, None
        reason = f"charset {_show_label(label or '')!r} did not decode cleanly"
    elif label and label.strip():
        reason = f"charset {_show_label(label)!r} unknown"
    else:
        reason = "charset missing"
    return _decode_undeclared(data, reason, silent_utf8=(label is None or not label.strip()))


def _decode_undeclared(data: bytes, reason: str, *, silent_utf8: bool) -> tuple[str, str | None]:
    """Decode bytes whose charset is unknown: ASCII, UTF-8, detection, last resort."""
    if _has_iso2022_escapes(data):
        for codec in ("iso2022_jp", *_WIDER["iso2022_jp"]):
            text = _strict(data, codec)
            if text is not None:
                return text, f"{reason}; decoded as iso-2022-jp (detected)"
    if data.isascii():
        return data.decode("ascii"), (None if silent_utf8 else f"{reason}; decoded as us-ascii")
    text = _strict(data, "utf-8")
    if text is not None:
        return text, (None if silent_utf8 else f"{reason}; decoded as utf-8")
    if _mostly_utf8(data):
        return data.decode("utf-8", "replace"), f"{reason}; decoded as utf-8 with replacement"
    detected = detect_codec(data)
    if detected is not None:
        text = _strict(data, detected)
        if text is not None:
            return text, f"{reason}; decoded as {display_name(detected)} (detected)"
        try:
            return (data.decode(detected, "replace"),
                    f"{reason}; decoded as {display_name(detected)} (detected, with replacement)")
        except Exception:  # noqa: BLE001 - fall through to the last resort
            pass
    return (data.decode("cp1252", "replace"),
            f"{reason}; decoded as windows-1252 with replacement (detection failed)")


_UTF8_SEQUENCE_RE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


_HIGH_BYTES = bytes(range(0x80, 0x100))


def _mostly_utf8(data: bytes) -> bool:
    """UTF-8 with a few damaged bytes (cut or corrupted), not another charset."""
    sample = data[:_DETECT_SAMPLE * 4]
    high = len(sample) - len(sample.translate(None, _HIGH_BYTES))
    valid = sum(len(match) for match in _UTF8_SEQUENCE_RE.findall(sample))
    return valid >= 4 and valid >= 0.9 * high


def decode_raw_header_bytes(data: bytes, hint: str | None) -> tuple[str, str | None]:
    """Decode unencoded 8-bit header bytes: UTF-8, else the hint charset, else detect.

    Returns (text, note or None); never raises.
    """
    if data.isascii():
        return data.decode("ascii"), None
    text = _strict(data, "utf-8")
    if text is not None:
        return text, None
    hint_codec = python_codec(hint)
    if hint_codec not in (None, "ascii", "utf-8"):
        text = _strict(data, hint_codec)
        if text is not None:
            return text, f"raw 8-bit bytes decoded as {display_name(hint_codec)} (charset of the body)"
    return _decode_undeclared(data, "raw 8-bit bytes", silent_utf8=True)


# ---------------------------------------------------------------------------
# Detection: charset-normalizer proposes, a plausibility score decides.  The
# score matters for short texts (subjects, one-line bodies), where
# charset-normalizer alone picks exotic code pages.

_DETECT_SAMPLE = 16384
_CANDIDATES = (
    "cp1251", "koi8_r", "cp1252", "iso8859_15", "cp866", "mac_cyrillic",
    "iso8859_5", "cp1250", "iso8859_2", "gb18030", "big5hkscs", "cp932",
    "euc_jp", "cp949", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp874",
)
_COMMON_LATIN = frozenset("æøåÆØÅäöüÄÖÜßéèêëàáâíóôúçñÉÈÀÇÑ")
# charset-normalizer proposals replaced by the commoner twin that decodes the same letters.
_PREFERRED_TWIN = {"cp1125": "cp866", "euc_jis_2004": "euc_jp", "shift_jis_2004": "cp932"}
_COMMON_SYMBOLS = frozenset("°©®№™×±§µ")
_COMMON_CYRILLIC = frozenset("ЁёЄєІіЇїҐґЎў")
_NON_ASCII_WORD_RE = re.compile(r"\S*[^\x00-\x7f]\S*")
_CJK_SCRIPTS = frozenset({"han", "kana"})
_SCRIPT_VALUE = {"cyrillic": 1.0, "han": 1.8, "kana": 2.0, "hangul": 1.9, "halfwidth": -1.0}


def detect_codec(data: bytes) -> str | None:
    """Guess the Python codec of undeclared 8-bit text, or None if nothing fits."""
    sample = data[:_DETECT_SAMPLE]
    final = len(data) <= _DETECT_SAMPLE
    proposed = _normalizer_guess(sample)
    # charset-normalizer is trusted in proportion to how much text it saw.
    proposal_weight = min(2.0, sum(byte >= 0x80 for byte in sample[:4096]) / 100)
    proposed = _PREFERRED_TWIN.get(proposed, proposed)
    candidates = list(_CANDIDATES)
    if proposed and proposed not in candidates:
        candidates.append(proposed)
    best_codec, best_score = None, float("-inf")
    for codec in candidates:
        text = _decode_sample(sample, codec, final)
        if text is None:
            continue
        score = plausibility(text) + (proposal_weight if codec == proposed else 0.0)
        if score > best_score:
            best_codec, best_score = codec, score
    return best_codec


def _normalizer_guess(sample: bytes) -> str | None:
    """charset-normalizer's best guess as a Python codec name, or None."""
    try:
        best = charset_normalizer.from_bytes(sample).best()
    except Exception:  # noqa: BLE001 - a detector bug must not break mail intake
        return None
    if best is None or not best.encoding:
        return None
    return _lookup_codec(best.encoding)


def _decode_sample(sample: bytes, codec: str, final: bool) -> str | None:
    """Strictly decode a sample; a cut multibyte char at its end is allowed."""
    try:
        decoder = codecs.getincrementaldecoder(codec)("strict")
        return decoder.decode(sample, final=final)
    except Exception:  # noqa: BLE001 - invalid for this codec
        return None


def plausibility(text: str) -> float:
    """Score how much `text` looks like real writing (higher is better)."""
    words = _NON_ASCII_WORD_RE.findall(text)[:400]
    score = sum(_word_score(word) for word in words)
    return score - _shouting_penalty(words)


def _shouting_penalty(words: list[str]) -> float:
    """Long texts in capitals are rare; a swapped-case Cyrillic table makes them."""
    upper = lower = 0
    for word in words:
        for ch in word:
            if not ch.isascii():
                upper += ch.isupper()
                lower += ch.islower()
    if upper + lower < 20 or upper <= 2 * lower:
        return 0.0
    return (upper - lower) * 0.5


def _word_score(word: str) -> float:
    """Score one whitespace-separated word containing non-ASCII characters."""
    score, scripts, ascii_letters, latin_extra = 0.0, set(), 0, 0
    previous_lower = False
    for ch in word:
        if ch.isascii():
            if ch.isalpha():
                ascii_letters += 1
                scripts.add("latin")
            previous_lower = ch.islower()
            continue
        category = unicodedata.category(ch)
        if category[0] != "L":
            score += _symbol_penalty(ch, category)
            previous_lower = False
            continue
        script = _script(ch)
        scripts.add(script)
        latin_extra += script == "latin"
        score += _letter_value(ch, script)
        if ch.isupper() and previous_lower:
            score -= 1.5  # case flips inside a word betray a wrong Cyrillic table
        previous_lower = ch.islower()
    return score + _word_shape_bonus(scripts, ascii_letters, latin_extra)


def _letter_value(ch: str, script: str) -> float:
    """Worth of one non-ASCII letter; CJK letters stand for two bytes."""
    if script == "latin":
        return 1.5 if ch in _COMMON_LATIN else 1.0
    if script == "cyrillic" and not ("\u0410" <= ch <= "\u044f" or ch in _COMMON_CYRILLIC):
        return -0.5  # Serbian/Macedonian letters are what wrong Cyrillic tables produce
    return _SCRIPT_VALUE.get(script, 0.5)


def _word_shape_bonus(scripts: set[str], ascii_letters: int, latin_extra: int) -> float:
    """Reward natural word shapes, punish mixed scripts and accent soup."""
    script_groups = {"han" if script in _CJK_SCRIPTS else script for script in scripts}
    if len(script_groups) > 1:
        return -4.0  # one word in two scripts is almost always a wrong charset
    if latin_extra >= 2 and latin_extra > ascii_letters:
        return -2.5 * latin_extra  # words made mostly of accented letters are mojibake
    if latin_extra and ascii_letters:
        return 0.5
    return 0.0


def _symbol_penalty(ch: str, category: str) -> float:
    """Penalty for a non-letter character: symbols and controls are rare in text."""
    if category in ("Pd", "Po", "Ps", "Pe", "Pi", "Pf", "Zs", "Sc", "Nd"):
        return -1.0 if ch == "\u00a4" else 0.0
    if ch in _COMMON_SYMBOLS:
        return 0.0
    if category == "No":
        return -0.5
    if category == "Mn":
        return -1.0
    return -2.0


def _script(ch: str) -> str:
    """Coarse script of a letter, enough to spot mixed-script mojibake."""
    cp = ord(ch)
    if cp < 0x250 or 0x1E00 <= cp < 0x1F00:
        return "latin"
    if 0x370 <= cp < 0x400:
        return "greek"
    if 0x400 <= cp < 0x530:
        return "cyrillic"
    if 0x3040 <= cp < 0x3100:
        return "kana"
    if 0x4E00 <= cp < 0xA000 or 0x3400 <= cp < 0x4DC0 or 0xF900 <= cp < 0xFB00:
        return "han"
    if 0xAC00 <= cp < 0xD7B0 or 0x1100 <= cp < 0x1200 or 0x3130 <= cp < 0x3190:
        return "hangul"
    if 0xFF61 <= cp < 0xFFA0:
        return "halfwidth"
    return "other"


# ---------------------------------------------------------------------------
# Header values (RFC 2047 encoded words and raw 8-bit bytes).

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
        elif label is not None and _normalise_label(word_label) != _normalise_label(label):
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

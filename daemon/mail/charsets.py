"""Charset handling for mail: label mapping, tolerant decoding, RFC 2047 headers.

Everything here is a pure function over bytes/str and never raises on bad
input: mail in the wild carries wrong, misspelt and invented charset labels.
"""

from __future__ import annotations

import binascii
import codecs
import functools
import math
import operator
import re
import unicodedata
import zlib
from typing import NamedTuple

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
    then detection, then windows-1252 with replacement.  A single-byte
    charset always decodes, so its text gets a second opinion: when it looks
    like mojibake and a common alternative is clearly better, that is used
    ("declared charset 'iso-8859-1' looks wrong; decoded as windows-1251").
    The note says what was repaired, e.g. "charset 'x-unknown' unknown;
    decoded as koi8-r (detected)"; it is None when the declared charset
    simply worked.
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
                better = second_opinion(data, candidate, text)
                if better is not None:
                    return better[0], (f"declared charset {_show_label(label or '')!r} looks wrong; "
                                       f"decoded as {display_name(better[1])}")
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
            better = second_opinion(data, hint_codec, text)
            if better is not None:
                return better[0], (f"raw 8-bit bytes: charset of the body {_show_label(hint or '')!r} "
                                   f"looks wrong for them; decoded as {display_name(better[1])}")
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
# A second opinion on a declared single-byte charset.  Such a codec never
# fails, so a wrong label (windows-1251 text sent as iso-8859-1, KOI8-R sent
# as windows-1251, UTF-8 sent as iso-8859-1) would go unnoticed.  A cheap
# look at the bytes (translated to classes of the characters they decode to)
# decides whether alternatives are worth trying at all; an alternative then
# wins only when its text is clean and clearly better than the declared one.
# Being wrong here garbles correct mail, so every threshold errs towards
# keeping the declared charset: short texts are rarely switched.

_LATIN_CODECS = frozenset({
    "cp1252", "iso8859-1", "iso8859-15", "iso8859-2", "cp1250", "iso8859-3", "iso8859-4",
    "iso8859-9", "cp1254", "iso8859-10", "iso8859-13", "iso8859-14", "iso8859-16", "cp1257",
    "mac-roman", "mac-latin2",
})
_CYRILLIC_CODECS = frozenset({"cp1251", "koi8-r", "koi8-u", "cp866", "iso8859-5", "mac-cyrillic"})
# Alternatives, in order of preference on equal scores.  A Latin label is never
# swapped for another Latin one: their letters differ too little to judge.
_CYRILLIC_ALTERNATIVES = ("cp1251", "koi8-r", "koi8-u", "cp866", "iso8859-5", "mac-cyrillic")
_LATIN_ALTERNATIVES = ("cp1252", "iso8859-15")

_MIN_HIGH_BYTES = 4  # fewer 8-bit bytes than this is too little to judge
_OPINION_SAMPLE = 1024  # bytes looked at, from just before the first 8-bit byte
_FIRST_HIGH_RE = re.compile(rb"[\x80-\xff]")

# The comparison.  Russian letter frequencies (per cent) give Cyrillic letters
# their worth: KOI8-R, windows-1251, cp866 and iso-8859-5 read as one another
# give the right alphabet but the wrong letters (and cases).
_RUSSIAN_FREQUENCY = {  # ё raised: most writers use е for it, so it is not that rare
    "о": 10.97, "е": 8.45, "а": 8.01, "и": 7.35, "н": 6.70, "т": 6.26, "с": 5.47, "р": 4.73,
    "в": 4.54, "л": 4.40, "к": 3.49, "м": 3.21, "д": 2.98, "п": 2.81, "у": 2.62, "я": 2.01,
    "ы": 1.90, "ь": 1.74, "г": 1.70, "з": 1.65, "б": 1.59, "ч": 1.44, "й": 1.21, "х": 0.97,
    "ж": 0.94, "ш": 0.73, "ю": 0.64, "ц": 0.48, "щ": 0.36, "э": 0.32, "ф": 0.26, "ъ": 0.10,
    "ё": 0.50,
}
_CYRILLIC_VALUE = {letter: max(-2.5, math.log(share / 100) + 3.5)
                   for letter, share in _RUSSIAN_FREQUENCY.items()}
_CYRILLIC_VALUE.update({"і": 0.5, "ї": 0.0, "є": 0.0, "ґ": -0.5, "ў": -0.5})  # Ukrainian, Belarusian
_IN_WORD_MARKS = frozenset("\u2018\u2019\u02bc\u00b7")  # apostrophes, middle dot
_QUOTES = frozenset("“”„‟«»‹›‚…")  # punctuation that touches words in real text
_TEXT_PUNCTUATION = frozenset("«»‹›“”„‘’‚–—―…•·№°©®™§±×€£¥¢\u00a0\u00ad")
# Words with non-ASCII letters; hyphens and apostrophes split them ("Excel-файле", "Word'е").
_FITNESS_WORD_RE = re.compile(r"[^\s\-'\u2019]*[^\x00-\x7f\s\u2019][^\s\-'\u2019]*")
# Three non-ASCII letters in a row, not all the same (Estonian has "jäääär").
_ACCENT_SOUP_RE = re.compile(r"([^\W\d_\x00-\x7f])(?!\1\1)[^\W\d_\x00-\x7f]{2}")
# "æøå" and "ÆØÅ" as a word: Norwegians and Danes write about their letters.
_LETTER_NAMES_RE = re.compile(r"\W*(?:æøå|ÆØÅ|æ, ø og å|Æ, Ø og Å)\W*")
_MIN_LETTERS = 6
_SUSPECT_AVERAGE = 0.15  # real Russian averages about 0.45 a letter, swapped tables about 0
_FREQUENCY_ONLY_LETTERS = 20


def second_opinion(data: bytes, codec: str, text: str) -> tuple[str, str] | None:
    """(text, codec) of a clearly better charset than the declared single-byte `codec`, or None.

    `text` is `data` decoded with `codec`.  Pure ASCII and multibyte codecs
    cost nothing; for text with 8-bit bytes a few byte translations and counts
    look for signs of mojibake, and only text that shows them is decoded again
    with the alternatives and compared.  Never raises.
    """
    try:
        return _second_opinion(data, codec, text)
    except Exception:  # noqa: BLE001 - a bug here must not break mail intake
        return None


def _second_opinion(data: bytes, codec: str, text: str) -> tuple[str, str] | None:
    family = _family(codec)
    if family is None or data.isascii():
        return None
    start = max(0, _FIRST_HIGH_RE.search(data).start() - 64)
    sample = data[start:start + _OPINION_SAMPLE]
    high = len(sample) - len(sample.translate(None, _HIGH_BYTES))
    if high < _MIN_HIGH_BYTES:
        return None
    final = start + len(sample) >= len(data)
    shown = text[start:start + _OPINION_SAMPLE]  # single-byte codecs: one character per byte
    utf8 = _utf8_sample(sample, final)
    # UTF-8 read as a single-byte charset ("pÃ¥", "Ð—Ð´") shows little mojibake to the
    # cheap look, but valid UTF-8 made of two-byte characters is a sign on its own.
    two_byte_utf8 = utf8 is not None and 5 * _non_ascii_count(utf8) >= 2 * high
    if not two_byte_utf8 and not _looks_wrong(sample, codec, family, high):
        return None
    if not two_byte_utf8 and family != "latin":
        utf8 = None  # cp866 Russian can be valid UTF-8 (of CJK characters) by chance
    return _better_alternative(data, sample, final, codec, family, shown, utf8, high)


def _utf8_sample(sample: bytes, final: bool) -> str | None:
    """_decode_sample(sample, "utf-8", final), faster: most samples fail at once."""
    try:
        return sample.decode("utf-8")
    except UnicodeDecodeError as error:
        if final or error.reason != "unexpected end of data":
            return None
        return _decode_sample(sample, "utf-8", final)


def _non_ascii_count(text: str) -> int:
    return len(text) - len(text.encode("ascii", "ignore"))


@functools.lru_cache(maxsize=64)
def _family(codec: str) -> str | None:
    """'latin' or 'cyrillic' for the single-byte codecs whose labels are checked, else None."""
    name = codecs.lookup(codec).name
    if name in _LATIN_CODECS:
        return "latin"
    return "cyrillic" if name in _CYRILLIC_CODECS else None


class _ByteClasses(NamedTuple):
    """Translation tables (bytes.translate) that turn bytes into classes of the
    characters they decode to, so the cheap look is a few bytes.count calls."""
    shape: bytes  # l letter, s symbol (not a dash, quote, apostrophe or space), c C1 control
    accent: bytes  # x non-ASCII letter
    case: bytes  # u, U lower- and upper-case Cyrillic letter
    script: bytes  # a ASCII letter, C Cyrillic letter, r other Cyrillic letter, b box drawing
    worth: bytes  # 1..9: the worth of a Russian letter in half steps from -2.5; 0 for the rest


@functools.lru_cache(maxsize=32)
def _byte_classes(codec: str) -> _ByteClasses:
    """The _ByteClasses of a single-byte codec (undecodable bytes count as C1 controls)."""
    tables: dict[str, bytearray] = {name: bytearray(b" " * 256) for name in _ByteClasses._fields}
    tables["worth"] = bytearray(256)
    for byte in range(256):
        try:
            ch = bytes((byte,)).decode(codec)
        except UnicodeDecodeError:
            ch = chr(byte)
        category = unicodedata.category(ch)
        if ch.isalpha():
            tables["shape"][byte] = ord("l")
        elif "\x80" <= ch <= "\x9f":
            tables["shape"][byte] = ord("c")
        elif ch >= "\x80" and not ch.isspace() and category[0] != "M" and category != "Pd" \
                and ch not in _IN_WORD_MARKS and ch not in _QUOTES:
            tables["shape"][byte] = ord("s")
        if ch.isalpha() and ch >= "\x80":
            tables["accent"][byte] = ord("x")
        value = _CYRILLIC_VALUE.get(ch.lower())
        if "\u0400" <= ch <= "\u04ff" and ch.isalpha():
            tables["case"][byte] = ord("U" if ch.isupper() else "u")
            tables["script"][byte] = ord("C" if value is not None else "r")
        elif "\u2500" <= ch <= "\u259f":
            tables["script"][byte] = ord("b")
        elif ch.isascii() and ch.isalpha():
            tables["script"][byte] = ord("a")
        if value is not None:
            tables["worth"][byte] = 1 + round((value + 2.5) * 2)
    return _ByteClasses(*(bytes(table) for table in tables.values()))


def _looks_wrong(sample: bytes, codec: str, family: str, high: int) -> bool:
    """Cheap signs of mojibake: accent soup, symbols inside words, swapped Cyrillic tables."""
    classes = _byte_classes(codec)
    shape = sample.translate(classes.shape)
    odd = shape.count(b"ls") + shape.count(b"sl") + shape.count(b"c")  # "г©в", "Ã¥b"; C1 controls
    if family == "latin":
        # "Çäðàâñòâóéòå": runs of accented letters, which real Latin text rarely has.
        odd += 3 * sample.translate(classes.accent).count(b"xxx")
        return odd >= max(3, 0.25 * high)
    # "ъДТБЧУФЧХКФЕ": KOI8-R and windows-1251 read as each other swap the case;
    # cp866 and iso-8859-5 read as windows-1251 give Serbian letters and symbols,
    # other tables read as KOI8 or cp866 give box drawing inside words, and Latin
    # text read as Cyrillic mixes the scripts inside words.
    case = sample.translate(classes.case)
    script = sample.translate(classes.script)
    odd += case.count(b"uU") + case.count(b"UU") + script.count(b"r")
    odd += 2 * (script.count(b"aC") + script.count(b"Ca"))
    odd += 4 * (script.count(b"bC") + script.count(b"Cb"))
    if odd >= max(3, 0.25 * high):
        return True
    # "утпюоп ое тбвпфбеф": a swapped table keeps the case of all-capital text,
    # but not the frequencies of the letters.  Those need many letters to tell.
    worth = sample.translate(classes.worth)
    letters = len(worth) - worth.count(0)
    # The low half of an Adler-32 checksum is 1 + the sum of the bytes, modulo 65521,
    # which _OPINION_SAMPLE bytes worth at most 9 each cannot reach: a fast sum.
    steps = (zlib.adler32(worth) & 0xFFFF) - 1
    return letters >= _FREQUENCY_ONLY_LETTERS and steps / 2 - 3 * letters < _SUSPECT_AVERAGE * letters


def _alternatives(codec: str, family: str) -> tuple[str, ...]:
    name = codecs.lookup(codec).name
    options = _CYRILLIC_ALTERNATIVES if family == "latin" else _CYRILLIC_ALTERNATIVES + _LATIN_ALTERNATIVES
    return tuple(option for option in options if option != name)


def _better_alternative(data: bytes, sample: bytes, final: bool, codec: str, family: str,
                        shown: str, utf8: str | None, high: int) -> tuple[str, str] | None:
    """The clean alternative that scores clearly above the declared text, decoded whole.

    The lead needed grows with the number of letters that change, and is
    larger per letter for few letters, where letter frequencies vary more.
    Letter frequencies alone (no mojibake signs in the declared text) decide
    only when many letters change.
    """
    declared = _fitness(shown)
    ranked = []
    for option in (*_alternatives(codec, family), "utf-8"):
        text = utf8 if option == "utf-8" else _decode_sample(sample, option, final)
        if text is None:
            continue
        fit = _fitness(text)
        score, letters, chars = fit.score, fit.letters, fit.chars
        if option == "utf-8":
            # Compare per byte (a UTF-8 character stands for two or more), and trust
            # valid UTF-8: other charsets rarely happen to be.
            scale = high / max(1, _non_ascii_count(text))
            score, letters, chars = (score + 0.5 * chars) * scale, letters * scale, chars * scale
            changed = declared.letters
        else:
            # Only the characters that differ can make a difference (koi8-r and koi8-u
            # differ in eight).
            changed = min(declared.letters, sum(map(operator.ne, shown, text)))
            if not declared.bad and changed < _FREQUENCY_ONLY_LETTERS:
                continue
        changed = max(changed, _MIN_LETTERS)
        margin = max(0.3 * changed, 2.5 * math.sqrt(changed))
        clean = fit.bad <= letters / 25 and score >= 0 and letters >= 0.7 * chars
        enough = letters >= (_MIN_HIGH_BYTES if option == "utf-8" else _MIN_LETTERS)
        if enough and clean and score >= declared.score + margin:
            ranked.append((score, option))
    if not ranked:
        return None
    # The best first, but a commoner charset (earlier in the list) wins a near tie.
    best = max(score for score, _ in ranked) - max(2.0, 0.05 * declared.letters)
    ranked.sort(key=lambda item: -item[0] if item[0] < best else -math.inf)
    for _, option in ranked:
        text = _strict(data, option)
        if text is not None:
            return text, option
    return None


class _Fitness(NamedTuple):
    score: float  # higher for real text
    bad: int  # signs of mojibake
    letters: int
    chars: int  # non-ASCII characters


def _fitness(text: str) -> _Fitness:
    """How much decoded text looks like real writing.

    Each distinct word counts once, so a repeated word or abbreviation does
    not pass for a lot of evidence.
    """
    score, bad, letters = 0.0, 0, 0
    words = set(_FITNESS_WORD_RE.findall(text))
    for word in words:
        word_score, word_bad, word_letters = _word_fitness(word)
        score += word_score
        bad += word_bad
        letters += word_letters
    return _Fitness(score, bad, letters, _non_ascii_count("".join(words)))


def _word_fitness(word: str) -> tuple[float, int, int]:
    """(score, signs of mojibake, letters) of one word that has non-ASCII characters."""
    score, bad = 0.0, 0
    ascii_letters = latin = cyrillic = others = 0
    latin_value = 0.0
    previous = ""  # what came before: "lower", "upper", "box" (drawing) or "" (anything else)
    glued = False  # a symbol came after a letter: one more letter makes it a symbol inside the word
    for ch in word:
        if ch < "\x80":
            if ch.isalpha():
                ascii_letters += 1
                bad += glued
                score -= 2.0 * glued
                previous = "lower" if ch.islower() else "upper"
            else:
                previous = ""
            glued = False
            continue
        category = unicodedata.category(ch)
        if category[0] == "M":
            continue  # a combining mark belongs to its letter
        if category[0] != "L":
            box = "\u2500" <= ch <= "\u259f"
            if category == "Cc":
                bad += 1
                score -= 3.0
            elif box and previous in ("lower", "upper"):
                bad += 1  # box drawing touching a letter: "бухгалтер╕╖"
                score -= 2.0
            elif ch not in _TEXT_PUNCTUATION and category not in ("Pd", "Zs", "No"):
                score -= 1.0
            # "г©в", "Ã¥b"; dashes and apostrophes may stand between letters.
            glued = ((glued or previous in ("lower", "upper")) and not box and category != "Pd"
                     and ch not in _IN_WORD_MARKS)
            previous = "box" if box else ""
            continue
        if glued or previous == "box":
            bad += 1
            score -= 2.0
        glued = False
        script = _script(ch)
        if script == "cyrillic":
            cyrillic += 1
            value = _CYRILLIC_VALUE.get(ch.lower())
            if value is None:
                bad += 1  # Serbian and Macedonian letters: what wrong Cyrillic tables give
                value = -0.5
            elif previous == "upper" and ch.isupper():
                value -= 0.25  # capitals inside words: acronyms, shouting or a swapped table
            score += value
        elif script == "latin":
            latin += 1
            latin_value += 1.2 if ch in _COMMON_LATIN else 0.8
        else:
            others += 1
            score += _SCRIPT_VALUE.get(script, 0.3)
        if ch.isupper() and previous == "lower":
            bad += 1
            score -= 4.0  # "ъДТБЧУФЧХКФЕ"
        previous = "lower" if ch.islower() else "upper"
    if ascii_letters:
        score += latin_value  # accented letters are worth something next to plain ones
    if cyrillic and (latin or ascii_letters or others):
        bad += 1
        score -= 3.0  # one word in two scripts
    elif latin >= 3 and latin > ascii_letters and _ACCENT_SOUP_RE.search(word) \
            and not _LETTER_NAMES_RE.fullmatch(word):
        bad += latin
        score -= 2.5 * latin  # a word of accented letters: "Çäðàâñòâóéòå"
    return score, bad, latin + cyrillic + others


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

"""A second opinion on a declared single-byte charset.

Such a codec never fails, so a wrong label (windows-1251 text sent as
iso-8859-1, KOI8-R sent as windows-1251, UTF-8 sent as iso-8859-1) would go
unnoticed.  A cheap look at the bytes (translated to classes of the
characters they decode to) decides whether alternatives are worth trying at
all; an alternative then wins only when its text is clean and clearly better
than the declared one (charset_fitness scores both).  Being wrong here
garbles correct mail, so every threshold errs towards keeping the declared
charset: short texts are rarely switched.
"""

from __future__ import annotations

import codecs
import functools
import math
import operator
import re
import unicodedata
import zlib
from typing import NamedTuple

from daemon.mail.charset_codecs import decode_sample, high_byte_count, strict_decode
from daemon.mail.charset_fitness import CYRILLIC_VALUE, IN_WORD_MARKS, QUOTES, Fitness, fitness, non_ascii_count

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
    high = high_byte_count(sample)
    if high < _MIN_HIGH_BYTES:
        return None
    final = start + len(sample) >= len(data)
    shown = text[start:start + _OPINION_SAMPLE]  # single-byte codecs: one character per byte
    utf8 = _utf8_sample(sample, final)
    # UTF-8 read as a single-byte charset ("pÃ¥", "Ð—Ð´") shows little mojibake to the
    # cheap look, but valid UTF-8 made of two-byte characters is a sign on its own.
    two_byte_utf8 = utf8 is not None and 5 * non_ascii_count(utf8) >= 2 * high
    if not two_byte_utf8 and not _looks_wrong(sample, codec, family, high):
        return None
    if not two_byte_utf8 and family != "latin":
        utf8 = None  # cp866 Russian can be valid UTF-8 (of CJK characters) by chance
    return _better_alternative(data, sample, final, codec, family, shown, utf8, high)


def _utf8_sample(sample: bytes, final: bool) -> str | None:
    """decode_sample(sample, "utf-8", final), faster: most samples fail at once."""
    try:
        return sample.decode("utf-8")
    except UnicodeDecodeError as error:
        if final or error.reason != "unexpected end of data":
            return None
        return decode_sample(sample, "utf-8", final)


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
                and ch not in IN_WORD_MARKS and ch not in QUOTES:
            tables["shape"][byte] = ord("s")
        if ch.isalpha() and ch >= "\x80":
            tables["accent"][byte] = ord("x")
        value = CYRILLIC_VALUE.get(ch.lower())
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
    """The clean alternative that scores clearly above the declared text, decoded whole."""
    declared = fitness(shown)
    ranked = []
    for option in (*_alternatives(codec, family), "utf-8"):
        text = utf8 if option == "utf-8" else decode_sample(sample, option, final)
        score = None if text is None else _clear_lead(option, text, shown, declared, high)
        if score is not None:
            ranked.append((score, option))
    return _decode_best(data, ranked, declared) if ranked else None


def _clear_lead(option: str, text: str, shown: str, declared: Fitness, high: int) -> float | None:
    """The score of an alternative's text when it is clean and clearly beats the declared one.

    The lead needed grows with the number of letters that change, and is
    larger per letter for few letters, where letter frequencies vary more.
    Letter frequencies alone (no mojibake signs in the declared text) decide
    only when many letters change.
    """
    fit = fitness(text)
    score, letters, chars = fit.score, fit.letters, fit.chars
    if option == "utf-8":
        # Compare per byte (a UTF-8 character stands for two or more), and trust
        # valid UTF-8: other charsets rarely happen to be.
        scale = high / max(1, non_ascii_count(text))
        score, letters, chars = (score + 0.5 * chars) * scale, letters * scale, chars * scale
        changed = declared.letters
    else:
        # Only the characters that differ can make a difference (koi8-r and koi8-u
        # differ in eight).
        changed = min(declared.letters, sum(map(operator.ne, shown, text)))
        if not declared.bad and changed < _FREQUENCY_ONLY_LETTERS:
            return None
    changed = max(changed, _MIN_LETTERS)
    margin = max(0.3 * changed, 2.5 * math.sqrt(changed))
    clean = fit.bad <= letters / 25 and score >= 0 and letters >= 0.7 * chars
    enough = letters >= (_MIN_HIGH_BYTES if option == "utf-8" else _MIN_LETTERS)
    return score if enough and clean and score >= declared.score + margin else None


def _decode_best(data: bytes, ranked: list[tuple[float, str]], declared: Fitness) -> tuple[str, str] | None:
    """The best-scoring alternative that decodes the whole data (text, codec), or None.

    A commoner charset (earlier in the list) wins a near tie.
    """
    best = max(score for score, _ in ranked) - max(2.0, 0.05 * declared.letters)
    ranked.sort(key=lambda item: -item[0] if item[0] < best else -math.inf)
    for _, option in ranked:
        text = strict_decode(data, option)
        if text is not None:
            return text, option
    return None

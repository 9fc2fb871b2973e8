"""Detecting the charset of undeclared 8-bit text.

charset-normalizer proposes, a plausibility score decides.  The score
matters for short texts (subjects, one-line bodies), where charset-normalizer
alone picks exotic code pages.
"""

from __future__ import annotations

import itertools
import unicodedata

import charset_normalizer

from daemon.mail.charset_codecs import decode_sample, lookup_codec

DETECT_SAMPLE = 16384
_CANDIDATES = (
    "cp1251", "koi8_r", "cp1252", "iso8859_15", "cp866", "mac_cyrillic",
    "iso8859_5", "cp1250", "iso8859_2", "gb18030", "big5hkscs", "cp932",
    "euc_jp", "cp949", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp874",
)
COMMON_LATIN = frozenset("æøåÆØÅäöüÄÖÜßéèêëàáâíóôúçñÉÈÀÇÑ")
# charset-normalizer proposals replaced by the commoner twin that decodes the same letters.
_PREFERRED_TWIN = {"cp1125": "cp866", "euc_jis_2004": "euc_jp", "shift_jis_2004": "cp932"}
_COMMON_SYMBOLS = frozenset("°©®№™×±§µ")
_COMMON_CYRILLIC = frozenset("ЁёЄєІіЇїҐґЎў")
_CJK_SCRIPTS = frozenset({"han", "kana"})
SCRIPT_VALUE = {"cyrillic": 1.0, "han": 1.8, "kana": 2.0, "hangul": 1.9, "halfwidth": -1.0}


def detect_codec(data: bytes) -> str | None:
    """Guess the Python codec of undeclared 8-bit text, or None if nothing fits."""
    sample = data[:DETECT_SAMPLE]
    final = len(data) <= DETECT_SAMPLE
    proposed = _normalizer_guess(sample)
    # charset-normalizer is trusted in proportion to how much text it saw.
    proposal_weight = min(2.0, sum(byte >= 0x80 for byte in sample[:4096]) / 100)
    proposed = _PREFERRED_TWIN.get(proposed, proposed)
    candidates = list(_CANDIDATES)
    if proposed and proposed not in candidates:
        candidates.append(proposed)
    best_codec, best_score = None, float("-inf")
    for codec in candidates:
        text = decode_sample(sample, codec, final)
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
    return lookup_codec(best.encoding)


def plausibility(text: str) -> float:
    """Score how much `text` looks like real writing (higher is better)."""
    # Split, then keep: a regex of \S* around a non-ASCII letter backtracks over every long run of
    # ASCII without spaces, quadratically (a 100 kB line took minutes).
    words = list(itertools.islice((word for word in text.split() if not word.isascii()), 400))
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
        script = script_of(ch)
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
        return 1.5 if ch in COMMON_LATIN else 1.0
    if script == "cyrillic" and not ("\u0410" <= ch <= "\u044f" or ch in _COMMON_CYRILLIC):
        return -0.5  # Serbian/Macedonian letters are what wrong Cyrillic tables produce
    return SCRIPT_VALUE.get(script, 0.5)


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


def script_of(ch: str) -> str:
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

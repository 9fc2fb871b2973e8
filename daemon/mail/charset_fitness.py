"""How much decoded text looks like real writing, to compare candidate charsets.

The second opinion on a declared single-byte charset (charset_opinion)
scores the declared text and each alternative with `fitness`.  Russian letter
frequencies (per cent) give Cyrillic letters their worth: KOI8-R,
windows-1251, cp866 and iso-8859-5 read as one another give the right
alphabet but the wrong letters (and cases).  Mojibake signs (controls,
symbols inside words, mixed scripts, accent soup) count as bad.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import NamedTuple

from daemon.mail.charset_detect import COMMON_LATIN, SCRIPT_VALUE, script_of

_RUSSIAN_FREQUENCY = {  # ё raised: most writers use е for it, so it is not that rare
    "о": 10.97, "е": 8.45, "а": 8.01, "и": 7.35, "н": 6.70, "т": 6.26, "с": 5.47, "р": 4.73,
    "в": 4.54, "л": 4.40, "к": 3.49, "м": 3.21, "д": 2.98, "п": 2.81, "у": 2.62, "я": 2.01,
    "ы": 1.90, "ь": 1.74, "г": 1.70, "з": 1.65, "б": 1.59, "ч": 1.44, "й": 1.21, "х": 0.97,
    "ж": 0.94, "ш": 0.73, "ю": 0.64, "ц": 0.48, "щ": 0.36, "э": 0.32, "ф": 0.26, "ъ": 0.10,
    "ё": 0.50,
}
CYRILLIC_VALUE = {letter: max(-2.5, math.log(share / 100) + 3.5)
                  for letter, share in _RUSSIAN_FREQUENCY.items()}
CYRILLIC_VALUE.update({"і": 0.5, "ї": 0.0, "є": 0.0, "ґ": -0.5, "ў": -0.5})  # Ukrainian, Belarusian
IN_WORD_MARKS = frozenset("\u2018\u2019\u02bc\u00b7")  # apostrophes, middle dot
QUOTES = frozenset("“”„‟«»‹›‚…")  # punctuation that touches words in real text
_TEXT_PUNCTUATION = frozenset("«»‹›“”„‘’‚–—―…•·№°©®™§±×€£¥¢\u00a0\u00ad")
# Words with non-ASCII letters; hyphens and apostrophes split them ("Excel-файле", "Word'е").
_FITNESS_WORD_RE = re.compile(r"[^\s\-'\u2019]*[^\x00-\x7f\s\u2019][^\s\-'\u2019]*")
# Three non-ASCII letters in a row, not all the same (Estonian has "jäääär").
_ACCENT_SOUP_RE = re.compile(r"([^\W\d_\x00-\x7f])(?!\1\1)[^\W\d_\x00-\x7f]{2}")
# "æøå" and "ÆØÅ" as a word: Norwegians and Danes write about their letters.
_LETTER_NAMES_RE = re.compile(r"\W*(?:æøå|ÆØÅ|æ, ø og å|Æ, Ø og Å)\W*")


class Fitness(NamedTuple):
    score: float  # higher for real text
    bad: int  # signs of mojibake
    letters: int
    chars: int  # non-ASCII characters


def fitness(text: str) -> Fitness:
    """How much decoded text looks like real writing.

    Each distinct word counts once, so a repeated word or abbreviation does
    not pass for a lot of evidence.
    """
    score, bad, letters = 0.0, 0, 0
    # Distinct words in text order (a set would sum in hash-seed order: float drift between processes).
    words = dict.fromkeys(_FITNESS_WORD_RE.findall(text))
    for word in words:
        word_score, word_bad, word_letters = _word_fitness(word)
        score += word_score
        bad += word_bad
        letters += word_letters
    return Fitness(score, bad, letters, non_ascii_count("".join(words)))


def _word_fitness(word: str) -> tuple[float, int, int]:
    """(score, signs of mojibake, letters) of one word that has non-ASCII characters."""
    walk = _WordWalk()
    for ch in word:
        if ch < "\x80":
            walk.ascii_char(ch)
            continue
        category = unicodedata.category(ch)
        if category[0] == "M":
            continue  # a combining mark belongs to its letter
        if category[0] == "L":
            walk.letter(ch)
        else:
            walk.symbol(ch, category)
    return walk.result(word)


class _WordWalk:
    """The running tally of _word_fitness over the characters of one word."""

    __slots__ = ("score", "bad", "ascii_letters", "latin", "cyrillic", "others", "latin_value",
                 "previous", "glued")

    def __init__(self) -> None:
        self.score, self.bad = 0.0, 0
        self.ascii_letters = self.latin = self.cyrillic = self.others = 0
        self.latin_value = 0.0
        self.previous = ""  # what came before: "lower", "upper", "box" (drawing) or "" (anything else)
        self.glued = False  # a symbol came after a letter: one more letter makes it a symbol inside the word

    def _sign(self, cost: float) -> None:
        """One sign of mojibake."""
        self.bad += 1
        self.score -= cost

    def ascii_char(self, ch: str) -> None:
        """An ASCII character: a letter after a glued symbol is a symbol inside the word."""
        if ch.isalpha():
            self.ascii_letters += 1
            if self.glued:
                self._sign(2.0)
            self.previous = "lower" if ch.islower() else "upper"
        else:
            self.previous = ""
        self.glued = False

    def symbol(self, ch: str, category: str) -> None:
        """A non-ASCII non-letter: controls and box drawing by letters are signs."""
        box = "\u2500" <= ch <= "\u259f"
        after_letter = self.previous in ("lower", "upper")
        if category == "Cc":
            self._sign(3.0)
        elif box and after_letter:
            self._sign(2.0)  # box drawing touching a letter: "бухгалтер╕╖"
        elif ch not in _TEXT_PUNCTUATION and category not in ("Pd", "Zs", "No"):
            self.score -= 1.0
        # "г©в", "Ã¥b"; dashes and apostrophes may stand between letters.
        self.glued = ((self.glued or after_letter) and not box and category != "Pd"
                      and ch not in IN_WORD_MARKS)
        self.previous = "box" if box else ""

    def letter(self, ch: str) -> None:
        """A non-ASCII letter: its worth by script, and signs of a wrong table."""
        if self.glued or self.previous == "box":
            self._sign(2.0)
        self.glued = False
        script = script_of(ch)
        if script == "cyrillic":
            self.cyrillic += 1
            self.score += self._cyrillic_value(ch)
        elif script == "latin":
            self.latin += 1
            self.latin_value += 1.2 if ch in COMMON_LATIN else 0.8
        else:
            self.others += 1
            self.score += SCRIPT_VALUE.get(script, 0.3)
        if ch.isupper() and self.previous == "lower":
            self._sign(4.0)  # "ъДТБЧУФЧХКФЕ"
        self.previous = "lower" if ch.islower() else "upper"

    def _cyrillic_value(self, ch: str) -> float:
        """The worth of a Cyrillic letter by its Russian frequency."""
        value = CYRILLIC_VALUE.get(ch.lower())
        if value is None:
            self.bad += 1  # Serbian and Macedonian letters: what wrong Cyrillic tables give
            return -0.5
        if self.previous == "upper" and ch.isupper():
            return value - 0.25  # capitals inside words: acronyms, shouting or a swapped table
        return value

    def result(self, word: str) -> tuple[float, int, int]:
        """(score, signs of mojibake, letters) once the whole word is walked."""
        if self.ascii_letters:
            self.score += self.latin_value  # accented letters are worth something next to plain ones
        if self.cyrillic and (self.latin or self.ascii_letters or self.others):
            self._sign(3.0)  # one word in two scripts
        elif self.latin >= 3 and self.latin > self.ascii_letters and _ACCENT_SOUP_RE.search(word) \
                and not _LETTER_NAMES_RE.fullmatch(word):
            self.bad += self.latin
            self.score -= 2.5 * self.latin  # a word of accented letters: "Çäðàâñòâóéòå"
        return self.score, self.bad, self.latin + self.cyrillic + self.others


def non_ascii_count(text: str) -> int:
    """How many characters of `text` are not ASCII."""
    return len(text) - len(text.encode("ascii", "ignore"))

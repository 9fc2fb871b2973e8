"""The language a customer wrote in, from the text itself (lingua, restricted to daemon.languages.DETECTED).

lingua's low-accuracy mode over a few hundred letters takes about 0.1 ms and
tells bokmål from nynorsk, Russian from Ukrainian; the models load once, on
first use. A text too short or too mixed to tell gives None, not a guess. When
the text's small words clearly name another language (daemon.mail.language_words),
that one is given instead, with lingua's lower confidence in it: not confident.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from daemon.languages import DETECTED
from daemon.mail.language_words import clearly_other

# Enough text to tell nine languages apart, little enough to stay well under a millisecond.
_SAMPLE_CHARS = 600
_MIN_LETTERS = 12
# Below this confidence (lingua's share of the probability), or on fewer letters, an answer is
# kept on the message but not taken as the customer's language: "Faktura mangler" may be Danish.
CONFIDENT = 0.75
_CONFIDENT_LETTERS = 20
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_URLISH = re.compile(r"\S*[@/\\]\S*|\S*\.\w{2,4}\b")


@dataclass(frozen=True)
class Detected:
    """What the text is written in and how sure the detector is (0..1)."""
    language: str
    confidence: float
    letters: int = 0

    @property
    def confident(self) -> bool:
        return self.confidence >= CONFIDENT and self.letters >= _CONFIDENT_LETTERS


@lru_cache(maxsize=1)
def _detector():
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in DETECTED]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def detect(text: str) -> Detected | None:
    """The language of `text`, or None when there are too few letters to tell."""
    sample = _URLISH.sub(" ", text[: _SAMPLE_CHARS * 2])[:_SAMPLE_CHARS]
    letters = len(_LETTER.findall(sample))
    if letters < _MIN_LETTERS:
        return None
    values = _detector().compute_language_confidence_values(sample)
    if not values or values[0].value <= 0:
        return None
    top = values[0]
    language = top.language.iso_code_639_1.name.lower()
    other = clearly_other(sample, language)
    if other is not None:  # lingua's fast mode misreads some short texts; their small words seldom lie
        doubted = next((value.value for value in values if value.language.iso_code_639_1.name.lower() == other), 0.0)
        return Detected(other, round(float(min(doubted, CONFIDENT / 2)), 3), letters)
    return Detected(language, round(float(top.value), 3), letters)

"""Stemmers for every language customer mail is detected in: Snowball, and a light one for Ukrainian.

Snowball (PyStemmer) has English, Norwegian (bokmål; nynorsk inflects close
enough to share it), Swedish, Danish, German, French and Russian. It has no
Ukrainian, so Ukrainian words lose their endings here by a small suffix
stripper shaped like Snowball's Russian one (see ukrainian()).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

import Stemmer

_SNOWBALL = {"en": "english", "nb": "norwegian", "nn": "norwegian", "sv": "swedish", "da": "danish",
             "de": "german", "fr": "french", "ru": "russian"}
# Which alphabet a language is written in: a word in the other one is stemmed as if its language were unknown.
CYRILLIC_LANGUAGES = frozenset({"ru", "uk"})
LATIN_LANGUAGES = frozenset(_SNOWBALL) - CYRILLIC_LANGUAGES
# Norwegian suffixes fall off one per pass (skriveren -> skriver -> skriv); a few passes meet the stem.
_NORWEGIAN_PASSES = 3


@lru_cache(maxsize=None)
def _snowball(name: str):
    return Stemmer.Stemmer(name)


def stemmer(language: str) -> Callable[[str], str] | None:
    """The stem function for a language code of daemon.languages.DETECTED; None for any other."""
    if language in ("nb", "nn"):
        return norwegian
    if language == "uk":
        return ukrainian
    name = _SNOWBALL.get(language)
    return _snowball(name).stemWord if name else None


def norwegian(word: str) -> str:
    """Snowball's Norwegian, run until it stops shortening, and the plural definite -erne taken off."""
    stem = _snowball("norwegian")
    for _ in range(_NORWEGIAN_PASSES):
        shorter = stem.stemWord(word)
        if shorter == word or len(shorter) < 3:
            break
        word = shorter
    if word.endswith("ern") and len(word) > 6:  # skriverne, brukerne
        word = word[:-3]
    return word


# Ukrainian -------------------------------------------------------------------
# Endings in the order Snowball's Russian stemmer tries its classes: a verbal adverb, else the
# reflexive -ся/-сь, then an adjective (or participle), else a verb, else a noun ending; then a final
# -ь and a doubled н go. Longest endings first within a class. Only the part after the first vowel
# (Snowball's RV) may lose an ending, and a letter of it stays, so "ліс" and "дім" stay whole.
_VOWELS = "аеиоуюяіїє"
_ADVERB = ("ючись", "учись", "ячись", "ачись", "вшись", "ючи", "учи", "ячи", "ачи", "вши", "ши")
_REFLEXIVE = ("ся", "сь")
_ADJECTIVE = ("ього", "ьому", "ими", "іми", "ого", "ому", "ої", "ою", "ий", "ій", "их", "іх", "им", "ім", "ею",
              "ая", "яя", "ее", "іє")
_PARTICIPLE = ("ен", "ан", "ян", "ин", "ит", "от", "ут")
_VERB = ("уватиме", "увати", "ували", "ювати", "ується", "ують", "юють", "уєте", "уємо", "уєш",
         "ятиме", "атиме", "итиме", "ити", "ати", "яти", "іти", "ути", "ила", "ило", "или", "ала", "ало",
         "али", "ять", "ють", "уть", "ать", "ить", "ете", "ємо", "емо", "имо", "ите", "еш", "иш",
         "ує", "ив", "ав", "іла", "іли", "ула", "ули", "яла", "яли", "ети")
_NOUN = ("ями", "ами", "ові", "еві", "єві", "ям", "ам", "ах", "ях", "ом", "ем", "єм", "ою", "ею", "єю", "ів",
         "їв", "ей", "ії", "ія", "ію", "а", "я", "о", "е", "є", "у", "ю", "і", "ї", "и", "й")
_RV = re.compile(f"^.*?[{_VOWELS}]")


def ukrainian(word: str) -> str:
    """A light Ukrainian stemmer: помилка, помилки, помилкою -> помилк; оновлення, оновити -> онов...

    Not Snowball (Snowball has no Ukrainian): its Russian algorithm's shape with Ukrainian endings,
    so that words Russian shares (принтер, пароль, сервер) stem alike in both.
    """
    head = _RV.match(word)
    if head is None:
        return word
    prefix, rv = word[:head.end()], word[head.end():]
    found = _take(rv, _ADVERB)
    if found is None:
        rv = _take(rv, _REFLEXIVE) or rv
        found = _take(rv, _ADJECTIVE)
        if found is not None:
            found = _take(found, _PARTICIPLE) or found
        else:
            found = _take(rv, _VERB) or _take(rv, _NOUN)
        rv = found if found is not None else rv
    else:
        rv = found
    if rv.endswith("ь"):
        rv = rv[:-1]
    if rv.endswith("нн"):
        rv = rv[:-1]
    return prefix + rv


def _take(rv: str, endings: tuple[str, ...]) -> str | None:
    """`rv` without the first of `endings` it ends in (leaving a letter), or None."""
    for ending in endings:
        if rv.endswith(ending) and len(rv) - len(ending) >= 1:
            return rv[:-len(ending)]
    return None

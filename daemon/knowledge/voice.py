"""Whether a resolution reads as steps for the customer or as the agent's diary of what was done.

An article's resolution tells the reader what to do ("Open Devices. Remove
the printer."); an agent's account says what happened ("Called Kari, opened
the settings, reinstalled the driver"). A text is a diary when most of its
sentences (or lines) open with a first-person pronoun or a verb in the past
tense, in English, Norwegian or Russian. A heuristic, so it only marks a
draft for a person to rewrite; it never changes the text.
"""
from __future__ import annotations

import re

from daemon.mail.language import detect

DIARY_SHARE = 0.5  # of the sentences that open as a diary's do, for the text to read as one

_PIECES = re.compile(r"(?<=[.!?;])\s+|\n+|,\s+(?=[^\W\d_]+(?:ed|et|te|de|ла|ли|л)\b)")
_FIRST_WORDS = re.compile(r"^[\s\-*•\d.)]*([^\W\d_]+)(?:\s+([^\W\d_]+))?", re.UNICODE)
_PRONOUNS = frozenset({"i", "we", "jeg", "vi", "я", "мы"})
# Past tense, by the text's language: English -ed, Scandinavian -et/-te/-de (åpnet, ringte, prøvde),
# Russian -л/-ла/-ли (открыл, позвонила, перезапустили). Each language's own: English "reset" and
# "delete" are imperatives, and would read as Norwegian past tense.
_PAST = {
    "en": re.compile(r"[a-z]{3,}ed$"),
    "nordic": re.compile(r"[a-zæøå]{2,}(?:et|te|de)$"),
    "ru": re.compile(r"[а-яё]{2,}(?:л|ла|ли|лся|лась|лись)$"),
}
_NORDIC = ("nb", "nn", "no", "da", "sv")
# Words that end like a past tense and are not one, common at the head of a step.
_NOT_PAST = frozenset({"need", "feed", "speed", "seed", "bed", "red", "shed", "embed", "bred", "shred",
                       "dette", "slette", "sette", "lagre", "hente", "teste", "ende", "bruke", "bytte", "kjøre",
                       "starte", "velge", "åpne", "installere", "endre", "prøve", "sende", "koble"})


def reads_as_diary(text: str, language: str = "") -> bool:
    """Whether most sentences of `text` open as a diary's do (first person, or a past-tense verb);
    `language` is the text's, found from the text when not given."""
    pieces = [piece.strip() for piece in _PIECES.split(text or "") if piece and piece.strip()]
    heads = [match for match in map(_FIRST_WORDS.match, pieces) if match]
    if not heads:
        return False
    past = _past_of(language or _language(text))
    diary = sum(1 for match in heads if _diary_head(match.group(1).lower(), past))
    return diary / len(heads) >= DIARY_SHARE


def _past_of(language: str) -> list[re.Pattern]:
    if language in _NORDIC:
        return [_PAST["nordic"]]
    if language in ("ru", "uk"):
        return [_PAST["ru"]]
    if language == "en":
        return [_PAST["en"]]
    return [_PAST["en"], _PAST["ru"]]  # unsure: the endings that no other language's imperative shares


def _language(text: str) -> str:
    found = detect(text)
    return found.language if found is not None else ""


def _diary_head(first: str, past: list[re.Pattern]) -> bool:
    if first in _PRONOUNS:
        return True
    return first not in _NOT_PAST and any(pattern.search(first) for pattern in past)

"""A second opinion on a text's language from its small words ("the", "ikkje", "что").

lingua's fast mode can be sure of the wrong language on one short sentence ("After the toner
change the printer only gives blank pages." reads as Danish); the words it is built from seldom are.
"""
from __future__ import annotations

import re

# Words that say a language, each listed under every language that writes it.
_WORDS = {
    "en": "the and is are to of it my you not can cannot with this that have has was for after only please when "
          "what from but will does doesn't don't can't since there any our your they get gets since",
    "nb": "ikke jeg og er det på til som med har hva hvordan etter noen meg min mitt kan vi dere fra av får bare "
          "når ut blir hei takk også",
    "nn": "ikkje eg og er det på til som med har kva korleis etter nokon noko meg min mitt kan vi de frå av får "
          "berre når ut blir hei takk også",
    "da": "ikke jeg og er det på til som med har hvad hvordan efter nogle noget mig min mit kan vi i fra af får kun "
          "når ud bliver hej tak også",
    "sv": "inte jag och är det på till som med har vad hur efter några något mig min mitt kan vi ni från av får "
          "bara när ut blir hej tack också",
    "de": "nicht ich und ist das der die mit zu auf ein eine kann wir ihr mein meine von nach nur wenn bitte "
          "nach hallo danke auch",
    "fr": "ne pas je et est le la les des un une avec pour sur mon ma mes nous vous du après quand plus bonjour "
          "merci aussi",
    "ru": "не и в на я что с это по как мне у меня мой моя для после только уже ещё нет вы здравствуйте спасибо",
    "uk": "не і в на я що з це по як мені у мене мій моя для після тільки вже ще немає ви й та вітаю дякую",
}
_LANGUAGES: dict[str, tuple[str, ...]] = {}
for _language, _words in _WORDS.items():
    for _word in _words.split():
        _LANGUAGES[_word] = tuple(dict.fromkeys((*_LANGUAGES.get(_word, ()), _language)))
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
# How many more small words another language must have before the detector is doubted.
CLEAR_LEAD = 2.0


def word_votes(text: str) -> dict[str, float]:
    """Each language's share of the text's small words (a word several languages write counts for each in part)."""
    votes: dict[str, float] = {}
    for word in _WORD.findall(text.lower()):
        languages = _LANGUAGES.get(word)
        if languages:
            for language in languages:
                votes[language] = votes.get(language, 0.0) + 1 / len(languages)
    return votes


def clearly_other(text: str, language: str) -> str | None:
    """The language the small words clearly name instead of `language`, or None when they do not."""
    votes = word_votes(text)
    if not votes:
        return None
    best = max(votes, key=votes.get)
    if best != language and votes[best] >= votes.get(language, 0.0) + CLEAR_LEAD:
        return best
    return None

"""Words as the knowledge base indexes them: tokens, stems, stopwords, keywords.

One analysis for documents and queries alike, so "принтер", "принтера" and
"принтеры" meet on one stem, and "skriver", "skriveren" on another. Mail
here is written in Russian, Norwegian and English, often mixed in one
text, so each word is stemmed by its script: Cyrillic with the Russian
Snowball stemmer; Latin with both the English and the Norwegian one (a
word gives one or two index terms). Latin diacritics are folded after
stemming (é -> e; ø, æ stay letters of their own), ё becomes е. Words
with digits (error codes, versions) are kept whole.

Pure functions over text: no database, no I/O.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable

import Stemmer

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[a-zA-Z\u00c0-\u024f]")
_DIGIT = re.compile(r"\d")
_STEMMERS = {name: Stemmer.Stemmer(name) for name in ("english", "norwegian", "russian")}

# Words that say nothing about a problem: function words of the three languages, and the
# courtesies every support mail carries. Kept out of queries, similarity and keywords.
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can cannot could did do does doing done down during each few for from
further get gets got had has have having he her here hers him his how i if in into is it its itself
just me more most my no nor not now of off on once only or other our ours out over own same she
should so some still such than that the their theirs them then there these they this those through
to too under until up very was we were what when where which while who whom why will with would you
your yours yet am pm im ive dont doesnt didnt cant isnt wont also etc ok okay
hi hello dear thanks thank regards best kind please help support team problem issue question
again anyone someone something anything today yesterday tomorrow morning evening now since
и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее мне было
вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни быть был него до вас
нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем
была сам чтоб без будто чего раз тоже себе под будет ж тогда кто этот того потому этого какой совсем
ним здесь этом один почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец два
об другой хоть после над больше тот через эти нас про всего них какая много разве три эту моя впрочем
хорошо свою этой перед иногда лучше чуть том нельзя такой им более всегда конечно всю между это
здравствуйте добрый день пожалуйста спасибо помогите помощь проблема вопрос уважением коллеги привет
очень также снова сегодня вчера утром
og i jeg det at en et den til er som på de med han av ikke der så var meg seg men ett har om vi min
mitt ha hadde hun nå over da ved fra du ut sin dem oss opp man kan hans hvor eller hva skal selv sjøl
her alle vil bli ble blitt kunne inn når være kom noen noe ville dere deres kun ja etter ned skulle
denne for deg si sine sitt mot å meget hvorfor dette disse uten hvordan ingen din ditt blir samme
hvilken hvilke sånn inni mellom vår hver hvem vors hvis både bare enn fordi før mange også slik vært
båe begge siden henne hennes ikkje ikke eg meg mye mer også
hei hallo takk hilsen vennlig mvh hjelp problem spørsmål igjen fortsatt lenger idag i dag går får
""".split())

# Norwegian suffixes fall off one per pass (skriveren -> skriver -> skriv); a few passes meet the stem.
_NORWEGIAN_PASSES = 3
# How many articles' worth of evidence idf needs before its weights count fully (see idf).
_IDF_PRIOR = 10


@dataclass(frozen=True)
class Word:
    """One word of a text: as written (lower-cased) and the index terms it gives."""
    surface: str
    terms: tuple[str, ...]


def words(text: str) -> list[Word]:
    """Every word of `text` with its index terms, stopwords included, in order."""
    return [Word(token, _terms(token)) for token in _WORD.findall(text.lower())]


def content_words(text: str) -> list[Word]:
    """The words that can say what a text is about: no stopwords, no single letters, no short numbers."""
    return [word for word in words(text) if _is_content(word.surface)]


_LONGEST_WORD = 60  # longer runs of letters are encoded data or a pasted hash, not words anyone searches


def _is_content(token: str) -> bool:
    if token in STOPWORDS or len(token) > _LONGEST_WORD:
        return False
    if token.isdigit():
        return len(token) >= 3  # 404, 550, 2019; not "2 pages"
    return len(token) >= 2


@lru_cache(maxsize=65536)
def _terms(token: str) -> tuple[str, ...]:
    token = token.replace("ё", "е")
    if _DIGIT.search(token):
        return (_fold(token),)
    if _CYRILLIC.search(token):
        return (_STEMMERS["russian"].stemWord(token),)
    if _LATIN.search(token):
        english = _STEMMERS["english"].stemWord(token)
        norwegian = token
        for _ in range(_NORWEGIAN_PASSES):
            shorter = _STEMMERS["norwegian"].stemWord(norwegian)
            if shorter == norwegian or len(shorter) < 3:
                break
            norwegian = shorter
        if norwegian.endswith("ern") and len(norwegian) > 6:  # the plural definite -erne: skriverne, brukerne
            norwegian = norwegian[:-3]
        return tuple(dict.fromkeys((_fold(english), _fold(norwegian))))
    return (token,)


def _fold(term: str) -> str:
    """Latin diacritics off (é -> e, å -> a), as SQLite's unicode61 remove_diacritics does; ø and æ stay."""
    if term.isascii():
        return term
    decomposed = unicodedata.normalize("NFD", term)
    kept = []
    for char in decomposed:
        if unicodedata.combining(char) and kept and "a" <= kept[-1].lower() <= "z":
            continue
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def index_text(text: str) -> str:
    """The text as the full-text index stores it: its content words' terms, space-separated."""
    return " ".join(term for word in content_words(text) for term in word.terms)


def query_groups(text: str) -> list[tuple[str, ...]]:
    """A search's words as groups of alternative terms (one group per distinct content word).

    A query of nothing but stopwords keeps them, so "how to" still asks something.
    """
    found = content_words(text) or [w for w in words(text) if len(w.surface) > 1]
    groups = dict.fromkeys(word.terms for word in found)
    return list(groups)


def normal_query(text: str) -> str:
    """What makes two searches the same search: their distinct terms, sorted ("принтера" == "принтер")."""
    return " ".join(sorted({_shortest(group) for group in query_groups(text)}))


def term_counts(text: str) -> Counter:
    """How often each content word occurs, a word counted once by its shortest term (a Latin word
    has an English and a Norwegian stem; counting both would make every shared word count twice)."""
    keys = map(_content_key, _WORD.findall(text.lower()))
    return Counter(key for key in keys if key)


@lru_cache(maxsize=65536)
def _content_key(token: str) -> str | None:
    """The word_key of a token, or None for a stopword (term_counts runs for every new ticket)."""
    return _shortest(_terms(token)) if _is_content(token) else None


def word_key(word: Word) -> str:
    """The one term that stands for a word: its shortest stem (printer, printed, prints: print)."""
    return _shortest(word.terms)


def _shortest(terms: tuple[str, ...]) -> str:
    return min(terms, key=lambda term: (len(term), term))


def _top(vector: dict[str, float], top: int | None) -> dict[str, float]:
    if top is None or len(vector) <= top:
        return vector
    return dict(sorted(vector.items(), key=lambda item: (-item[1], item[0]))[:top])


def cosine(left: Counter, right: Counter, weight: Callable[[str], float], top: int | None = None) -> float:
    """Cosine similarity of two term-count vectors, each term weighted by its idf and by the log of
    its count (a word said five times is not five times the subject; the "printer" of a printer
    problem would drown the words that tell two printer problems apart). The one shared word that
    contributes most counts for at most all the others together, so no single word makes two
    texts alike. With `top`, each side keeps only its `top` heaviest terms."""
    if not left or not right:
        return 0.0
    a = _top({term: (1 + math.log(count)) * weight(term) for term, count in left.items()}, top)
    b = _top({term: (1 + math.log(count)) * weight(term) for term, count in right.items()}, top)
    shared = [value * b[term] for term, value in a.items() if term in b]
    if not shared:
        return 0.0
    # No single word makes two texts alike: the top shared word counts for at most the rest together.
    dot = min(sum(shared), 2 * (sum(shared) - max(shared)))
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


def idf(document_frequency: int, documents: int) -> float:
    """Smoothed inverse document frequency: rare terms weigh more, none weighs nothing.

    A base of a handful of articles says little about which words are rare, so
    the weights start level and spread out as the base grows.
    """
    raw = math.log((documents + 1) / (document_frequency + 1)) + 1.0
    return 1.0 + (raw - 1.0) * documents / (documents + _IDF_PRIOR)



def keywords(texts: Iterable[tuple[str, float]], frequencies: Callable[[list[str]], dict[str, int]],
             documents: int, limit: int = 8) -> list[str]:
    """The words that best say what the texts are about, as written: TF-IDF over the knowledge base.

    `texts` are (text, weight) pairs (a subject weighs more than a body);
    `frequencies(terms)` gives each term's document frequency in the base,
    `documents` its size. A word's score is its weighted count times the
    idf of its rarest term; each distinct stem is named once, by the form
    the texts use most.
    """
    scores: Counter = Counter()
    forms: dict[str, Counter] = {}
    for text, text_weight in texts:
        for word in content_words(text):
            if word.surface.isdigit() and len(word.surface) < 4:
                continue
            key = word_key(word)
            scores[key] += text_weight
            forms.setdefault(key, Counter())[word.surface] += 1
    if not scores:
        return []
    df = frequencies(sorted(scores))
    ranked = sorted(scores, key=lambda key: (-scores[key] * idf(df.get(key, 0), documents), key))
    return [forms[key].most_common(1)[0][0] for key in ranked[:limit]]


_NORWEGIAN_LETTERS = re.compile(r"[æøå]")
_NORWEGIAN_WORDS = frozenset("og ikke jeg det er på med som har til av kan vi skal hei takk ble når etter".split())
_ENGLISH_WORDS = frozenset("the and not is are to of with can we have it this when after was".split())


def language(text: str) -> str:
    """ru, no or en, judged by script, then Norwegian letters and common words; '' without words."""
    tokens = _WORD.findall(text.lower())
    if not tokens:
        return ""
    cyrillic = sum(1 for t in tokens if _CYRILLIC.search(t))
    if cyrillic * 2 >= len(tokens):
        return "ru"
    norwegian = sum(1 for t in tokens if t in _NORWEGIAN_WORDS or _NORWEGIAN_LETTERS.search(t))
    english = sum(1 for t in tokens if t in _ENGLISH_WORDS)
    return "no" if norwegian > english else "en"

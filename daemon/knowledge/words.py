"""Words as the knowledge base indexes them: tokens, stems, concepts, stopwords, keywords.

One analysis for documents and queries alike, so "принтер", "принтера" and
"принтеры" meet on one stem, and "skriver", "skriveren" on another. A text
whose language is known (an article variant's, a mail's detected one) is
stemmed with that language's stemmer (daemon.knowledge.stems) and, as a
text of unknown language is, by its script: Cyrillic with the Russian
stemmer (and the Ukrainian one for words with і, ї, є or ґ); Latin with
the English and the Norwegian one. So a word gives one to three index
terms, and a search that does not know its language still meets them.
A word of the support-domain lexicon (daemon.knowledge.lexicon) also
gives its concept, one term shared by every language ("пароль",
"passord", "password": password), which is how a Russian mail finds an
article written in English. Latin diacritics are folded after stemming
(é -> e; ø, æ stay letters of their own), as SQLite's FTS5 tokenizer folds
them, so PostgreSQL, given the same terms, matches alike; ё becomes е.
Words with digits (error codes, versions) are kept whole.

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

from daemon.knowledge.lexicon import LEXICON
from daemon.languages import normalise
from daemon.knowledge.stems import CYRILLIC_LANGUAGES, LATIN_LANGUAGES, stemmer

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_UKRAINIAN_LETTERS = re.compile(r"[іїєґ]")
_LATIN = re.compile(r"[a-zA-Z\u00c0-\u024f]")
_DIGIT = re.compile(r"\d")
# What a word is stemmed with when its text's language is unknown (and besides its own, when known).
_LATIN_DEFAULTS = ("en", "nb")
_CYRILLIC_DEFAULTS = ("ru",)

# Words that say nothing about a problem: function words of the languages mail is detected in, and the
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
och att det som en på är av för med till den har de inte om ett men var jag sig så vi kan man eller hej tack
hälsningar vänliga
og at det som en på er af for med til den har de ikke om et men var jeg sig så vi kan man eller hej tak
venlig hilsen
der die das und ist nicht ein eine einen dem den des zu mit auf für von sich es ich wir sie bei nach
auch noch nur wie kann hallo danke grüßen grüße freundlichen bitte
le la les de des du un une et est pas ne que qui dans pour sur avec au aux ce cette il elle nous vous
je mon ma mes bonjour merci cordialement
і та й що не на в у з до за від як це але або ми ви я він вона вони його її їх мене мені також вже ще
дуже добрий день вітаю дякую будь ласка з повагою
""".split())

# How many articles' worth of evidence idf needs before its weights count fully (see idf).
_IDF_PRIOR = 10


@dataclass(frozen=True)
class Word:
    """One word of a text: as written (lower-cased) and the index terms it gives (its stems, then
    the concepts of the lexicon it stands for, if any)."""
    surface: str
    terms: tuple[str, ...]
    concepts: tuple[str, ...] = ()
    stems: tuple[str, ...] = ()  # the terms that are its stems (a stem may also name a concept: printer)


def words(text: str, language: str = "") -> list[Word]:
    """Every word of `text` with its index terms, stopwords included, in order; `language` is the
    text's (a code of daemon.languages.DETECTED), "" when unknown."""
    language = normalise(language)
    return [_word(token, language) for token in _WORD.findall(text.lower())]


def content_words(text: str, language: str = "") -> list[Word]:
    """The words that can say what a text is about: no stopwords, no single letters, no short numbers."""
    return [word for word in words(text, language) if _is_content(word.surface)]


@lru_cache(maxsize=131072)
def _word(token: str, language: str) -> Word:
    stems = _terms(token, language)
    concepts = _concepts(token.replace("ё", "е"), stems, _own(token, language))
    return Word(token, tuple(dict.fromkeys(stems + concepts)), concepts, stems)


_LONGEST_WORD = 60  # longer runs of letters are encoded data or a pasted hash, not words anyone searches


def _is_content(token: str) -> bool:
    if token in STOPWORDS or len(token) > _LONGEST_WORD:
        return False
    if token.isdigit():
        return len(token) >= 3  # 404, 550, 2019; not "2 pages"
    return len(token) >= 2


def _own(token: str, language: str) -> str:
    """The language to stem `token` with besides the defaults of its script ("" : none)."""
    if _CYRILLIC.search(token):
        if language in CYRILLIC_LANGUAGES:
            return language
        return "uk" if _UKRAINIAN_LETTERS.search(token) else ""
    return language if language in LATIN_LANGUAGES and _LATIN.search(token) else ""


@lru_cache(maxsize=65536)
def _terms(token: str, language: str = "") -> tuple[str, ...]:
    """The stems of a token: its own language's (when known), then its script's defaults, folded."""
    token = token.replace("ё", "е")
    if _DIGIT.search(token):
        return (_fold(token),)
    if _CYRILLIC.search(token):
        defaults = _CYRILLIC_DEFAULTS
    elif _LATIN.search(token):
        defaults = _LATIN_DEFAULTS
    else:
        return (token,)
    own = _own(token, language)
    codes = ((own,) if own else ()) + defaults
    return tuple(dict.fromkeys(_fold(stemmer(code)(token)) for code in codes))


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


def index_text(text: str, language: str = "") -> str:
    """The text as the full-text index stores it: its content words' terms, space-separated."""
    return " ".join(term for word in content_words(text, language) for term in word.terms)


def query_groups(text: str, language: str = "") -> list[tuple[str, ...]]:
    """A search's words as groups of alternative terms (one group per distinct content word).

    A query of nothing but stopwords keeps them, so "how to" still asks something.
    """
    found = content_words(text, language) or [w for w in words(text, language) if len(w.surface) > 1]
    groups = dict.fromkeys(word.terms for word in found)
    return list(groups)


def normal_query(text: str) -> str:
    """What makes two searches the same search: their distinct stems, sorted ("принтера" == "принтер")."""
    found = content_words(text) or [w for w in words(text) if len(w.surface) > 1]
    return " ".join(sorted({_shortest(_terms(word.surface)) for word in found}))


def term_counts(text: str, language: str = "") -> Counter:
    """How often each content word occurs, a word counted once by its shortest stem (a Latin word has
    an English and a Norwegian stem; counting both would make every word count twice); and how often
    each concept of the lexicon occurs, under its name marked with CONCEPT (cosine compares the two
    kinds apart: see there)."""
    counts: Counter = Counter()
    language = normalise(language)
    for token in _WORD.findall(text.lower()):
        counts.update(_content_keys(token, language))
    return counts


def concept_counts(text: str, language: str = "") -> Counter:
    """A text put into the lexicon's terms, to compare with a text in another language: each content
    word counted by its concepts if the lexicon knows it, else by its shortest stem (which another
    language shares only for names and codes, so a text the lexicon covers badly compares weakly)."""
    counts: Counter = Counter()
    language = normalise(language)
    for token in _WORD.findall(text.lower()):
        if _is_content(token):
            word = _word(token, language)
            counts.update(word.concepts or (word_key(word),))
    return counts


CONCEPT = "~"  # marks a concept's key in term_counts; no word has it (it is not a letter)


@lru_cache(maxsize=131072)
def _content_keys(token: str, language: str) -> tuple[str, ...]:
    """The keys of a token, none for a stopword (term_counts runs for every new ticket)."""
    if not _is_content(token):
        return ()
    word = _word(token, language)
    return (word_key(word), *(CONCEPT + concept for concept in word.concepts))


def word_key(word: Word) -> str:
    """The one term that stands for a word: its shortest stem (printer, printed, prints: print)."""
    return _shortest(word.stems or word.terms)


def _shortest(terms: tuple[str, ...]) -> str:
    return min(terms, key=lambda term: (len(term), term))


# Concepts ---------------------------------------------------------------------

_SHORTEST_ENTRY = 3  # shorter words of the lexicon ("e" of e-post) would tie unrelated words to a concept
# Languages that write "skriverdriver" as one word: a compound of them is looked up by its parts
# when its language is known (an English word split by Norwegian rules would be nonsense).
_COMPOUNDING = frozenset({"nb", "nn", "sv", "da", "de"})
_SHORTEST_PART = 4  # of a compound: "lagrings|plass"; shorter parts would find "tom" (empty) in "customer"


@lru_cache(maxsize=1)
def _lexicon() -> tuple[dict[str, dict[str, tuple[str, ...]]], dict[str, tuple[str, ...]]]:
    """The lexicon as lookups: per language, and for words of unknown language, from a word's
    folded form and its stem (in the entry's language) to the concepts it stands for."""
    by_language: dict[str, dict[str, set]] = {}
    anywhere: dict[str, set] = {}
    for line in LEXICON.splitlines():
        concept, _, cells = line.partition("=")
        concept = concept.strip()
        for cell in cells.split(";"):
            code, _, written = cell.partition(":")
            code = code.strip()
            for token in _WORD.findall(written.lower()):
                token = token.replace("ё", "е")
                if len(token) < _SHORTEST_ENTRY:
                    continue
                for key in {_fold(token), _fold(stemmer(code)(token))}:
                    by_language.setdefault(code, {}).setdefault(key, set()).add(concept)
                    anywhere.setdefault(key, set()).add(concept)
    for key, found in by_language.get("nb", {}).items():  # a nynorsk reader's words are mostly bokmål's
        by_language.setdefault("nn", {}).setdefault(key, set()).update(found)
    freeze = lambda table: {k: tuple(sorted(v)) for k, v in table.items()}  # noqa: E731
    return {code: freeze(table) for code, table in by_language.items()}, freeze(anywhere)


def _concepts(token: str, stems: tuple[str, ...], own: str) -> tuple[str, ...]:
    """The concepts a word stands for: by its own language's words first, then any language's;
    the word as written before its stems; a compound by its parts."""
    by_language, anywhere = _lexicon()
    folded = _fold(token)
    tables = ((by_language.get(own, {}),) if own else ()) + (anywhere,)
    for table in tables:
        for key in (folded, *stems):
            if key in table:
                return table[key]
    if own in _COMPOUNDING and len(token) >= 2 * _SHORTEST_PART:
        return _compound(folded, own, tables)
    return ()


def _compound(token: str, own: str, tables) -> tuple[str, ...]:
    """A compound's concepts: its head (the last part, which says what it is) and what the rest adds."""
    for cut in range(_SHORTEST_PART, len(token) - _SHORTEST_PART + 1):
        head = _lookup(token[cut:], own, tables)
        if head:
            rest = token[:cut]
            modifier = _lookup(rest, own, tables) or (
                _lookup(rest[:-1], own, tables) if rest[-1] in "se" and len(rest) > _SHORTEST_PART else ())
            return tuple(dict.fromkeys((*modifier, *head)))
    return ()


def _lookup(part: str, own: str, tables) -> tuple[str, ...]:
    stems = tuple(_fold(stemmer(code)(part)) for code in ((own,) if own else ()) + _LATIN_DEFAULTS)
    for table in tables:
        for key in (part, *stems):
            if key in table:
                return table[key]
    return ()

def _top(vector: dict[str, float], top: int | None) -> dict[str, float]:
    if top is None or len(vector) <= top:
        return vector
    return dict(sorted(vector.items(), key=lambda item: (-item[1], item[0]))[:top])


def cosine(left: Counter, right: Counter, weight: Callable[[str], float], top: int | None = None,
           across: bool = False) -> float:
    """Cosine similarity of two term-count vectors, each term weighted by its idf and by the log of
    its count (a word said five times is not five times the subject; the "printer" of a printer
    problem would drown the words that tell two printer problems apart). The one shared word that
    contributes most counts for at most all the others together, so no single word makes two
    texts alike. With `top`, each side keeps only its `top` heaviest terms.

    Texts in one language are compared by their words (a term_counts key marked CONCEPT is left
    out). With `across`, two texts in different languages, given as concept_counts: scaled by
    ACROSS_SHARE, for a concept ("printer") is weaker evidence than the word itself."""
    if across:
        return ACROSS_SHARE * _cosine(left, right, weight, top)
    words_only = lambda counts: Counter({k: v for k, v in counts.items() if not k.startswith(CONCEPT)})  # noqa: E731
    return _cosine(words_only(left), words_only(right), weight, top)


# How a comparison across languages counts against one within a language (see cosine): calibrated so
# that no two different problems of tests/kb_corpus.py in different languages reach [knowledge]
# match_percent (15), while the same problem in tests/crosslang_corpus.py mostly does.
ACROSS_SHARE = 0.6


def _cosine(left: Counter, right: Counter, weight: Callable[[str], float], top: int | None) -> float:
    if not left or not right:
        return 0.0
    a = _top({term: _damped(count) * weight(term) for term, count in left.items()}, top)
    b = _top({term: _damped(count) * weight(term) for term, count in right.items()}, top)
    shared = [value * b[term] for term, value in a.items() if term in b]
    if not shared:
        return 0.0
    # No single word makes two texts alike: the top shared word counts for at most the rest together.
    dot = min(sum(shared), 2 * (sum(shared) - max(shared)))
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


def _damped(count: float) -> float:
    """1 + log(count): a word said five times is not five times the subject."""
    return 1 + math.log(count)


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

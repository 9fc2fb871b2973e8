"""Full-text search over knowledge articles: FTS5 on SQLite, tsvector on PostgreSQL.

Both indexes hold the same thing, the terms daemon.knowledge.words makes of an
article (stems, folded in Python, so PostgreSQL folds diacritics as SQLite's
tokenizer does; and the lexicon's concepts, which is how a search or a mail
in one language finds an article written in another), in three fields weighted apart: the title weighs
most, then the keywords (the words people searched with), then the body
(issue, environment, resolution, cause). A search asks for every one of
its words first and, when that finds nothing, for any of them; ranking is
BM25 on SQLite and ts_rank on PostgreSQL. The callers never see which. On
SQLite a search that matches more than _BM25_AT_MOST articles ("printer" in a
printer maker's base) is ranked instead by how much its words weigh in each
article (article_term, below), among the articles that match it: BM25 over
thousands of matches costs tens of milliseconds, a help-center search must not.

Suggestions for new tickets run inside the ingest transaction, where BM25
over every article sharing a common word costs milliseconds. So checked
articles also keep their most telling words with a precomputed weight
(tf-idf, normalised, as the base stood when they were indexed) in
article_term, and a suggestion reads only the heaviest rows of each of the
mail's words and concepts: bounded work, whatever the size of the base.

An article is one problem with a variant per language: its document holds
each variant's text analysed in that variant's language; a hit names the
article and, from search(), its variant that suits the searcher best.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from daemon.knowledge.words import CONCEPT, idf, index_text, query_groups, term_counts
from daemon.store import db
from daemon.store.models import ArticleVariant

# bm25() weights of the FTS5 columns, in their order: title, body, keywords.
_SQLITE_WEIGHTS = (10.0, 1.0, 5.0)
_TELLING_WORDS = 24  # per article (and 12 more per further variant), in article_term
_ROWS_PER_WORD = 30  # read per word of a mail: the articles where that word weighs most
_BM25_AT_MOST = 1500  # matches BM25 ranks in a few milliseconds; a broader search is ranked by telling words
_BROAD_ROWS_PER_TERM = 200  # read per searched term of such a search
_MAIL_WORDS = 16  # its words and their concepts
_FREQUENCY_CHUNK = 64  # document_frequencies asks in chunks of one size, so its SQL is built once


@dataclass(frozen=True)
class Hit:
    article_id: int
    score: float  # higher is better; comparable only within one search (on SQLite, maybe about 1e-6)
    variant_id: int | None = None  # search(): the variant that suits the searcher best
    language: str = ""  # that variant's


def _texts(article) -> list[tuple[object, str]]:
    """(text holder, language) for each variant of `article`; the article itself, language unknown,
    when it has no variant_list (anything with the text fields will do)."""
    variants = getattr(article, "variant_list", None)
    if variants:
        return [(variant, variant.language) for variant in variants]
    return [(article, getattr(article, "language", "") or "")]


def index(article) -> None:
    """(Re)index one article: anything with id, title, issue, environment, resolution, cause, keyword_list
    and, optionally, variant_list (each variant with those fields and its language): then each
    variant's text is analysed in its own language."""
    texts = _texts(article)
    title = " ".join(index_text(v.title, language) for v, language in texts)
    body = " ".join(index_text("\n".join((v.issue, v.environment, v.resolution, v.cause)), language)
                    for v, language in texts)
    keywords = " ".join(index_text(" ".join(v.keyword_list), language) for v, language in texts)
    unindex(article.id)
    terms = sorted(set(f"{title} {body} {keywords}".split()))
    if db.is_sqlite():
        db.execute('INSERT INTO "article_fts" ("rowid", "title", "body", "keywords") VALUES (?, ?, ?, ?)',
                   (article.id, title, body, keywords))
    else:
        db.execute('INSERT INTO "article_search" ("article_id", "terms", "document") VALUES (?, ?, '
                   "setweight(to_tsvector('simple', ?), 'A') || setweight(to_tsvector('simple', ?), 'B') || "
                   "setweight(to_tsvector('simple', ?), 'D'))", (article.id, " ".join(terms), title, keywords, body))
    _count(terms, +1)


def unindex(article_id: int) -> None:
    if db.is_sqlite():
        row = db.execute('SELECT "title", "body", "keywords" FROM "article_fts" WHERE "rowid" = ?',
                         (article_id,)).fetchone()
        db.execute('DELETE FROM "article_fts" WHERE "rowid" = ?', (article_id,))
    else:
        row = db.execute('SELECT "terms" FROM "article_search" WHERE "article_id" = ?', (article_id,)).fetchone()
        db.execute('DELETE FROM "article_search" WHERE "article_id" = ?', (article_id,))
    if row is not None:
        _count(sorted(set(" ".join(row).split())), -1)


def clear() -> None:
    """Empty the index, the document frequencies and the suggestion weights (to build them anew)."""
    db.execute('DELETE FROM "article_fts"' if db.is_sqlite() else 'DELETE FROM "article_search"')
    db.execute('DELETE FROM "term_frequency"')
    db.execute('DELETE FROM "article_term"')


def _count(terms: list[str], change: int) -> None:
    """Keep each term's document frequency (a primary-key read for capture, keywords and suggestions)."""
    for term in terms:
        if change > 0:
            db.execute('INSERT INTO "term_frequency" ("term", "docs") VALUES (?, 1) '
                       'ON CONFLICT ("term") DO UPDATE SET "docs" = "term_frequency"."docs" + 1', (term,))
        else:
            db.execute('UPDATE "term_frequency" SET "docs" = "docs" - 1 WHERE "term" = ?', (term,))
            db.execute('DELETE FROM "term_frequency" WHERE "term" = ? AND "docs" <= 0', (term,))


def search(text: str, states: tuple[str, ...], limit: int = 10, language: str = "") -> list[Hit]:
    """Articles in one of `states` matching `text`: all of its words if any article has them, else any;
    each hit with its variant in `states` that suits best (in `language`, the searcher's, if it has
    one, else the one sharing most of the search's terms)."""
    groups = query_groups(text, language)
    if not groups:
        return []
    hits = match(groups, states, limit, every=True) or (
        match(groups, states, limit, every=False) if len(groups) > 1 else [])
    return _with_variants(hits, groups, states, language)


def _with_variants(hits: list[Hit], groups, states, language: str) -> list[Hit]:
    """The hits, each with its variant in `states` that suits the searcher best: in their language,
    else the one sharing most of the search's terms (read only when an article has several)."""
    if not hits:
        return hits
    ids = [hit.article_id for hit in hits]
    rows = db.execute(f'SELECT "id", "article_id", "language" FROM "article_variant" WHERE "article_id" IN '
                      f'({", ".join("?" * len(ids))}) AND "state" IN ({", ".join("?" * len(states))}) '
                      f'ORDER BY "id"', (*ids, *states)).fetchall()
    variants: dict[int, list[tuple[int, str]]] = {}
    for variant_id, article_id, variant_language in rows:
        variants.setdefault(article_id, []).append((variant_id, variant_language))
    found = []
    for hit in hits:
        mine = variants.get(hit.article_id, [])
        best = next((v for v in mine if v[1] == language), None) if language else None
        if best is None and mine:
            best = mine[0] if len(mine) == 1 else _most_alike(mine, groups)
        found.append(Hit(hit.article_id, hit.score, *best) if best else hit)
    return found


def _most_alike(variants: list[tuple[int, str]], groups) -> tuple[int, str]:
    asked = {term for group in groups for term in group}
    texts = {row.id: row for row in ArticleVariant.select(
        ArticleVariant.id, ArticleVariant.language, ArticleVariant.title, ArticleVariant.issue,
        ArticleVariant.keywords).where(ArticleVariant.id.in_([v[0] for v in variants]))}

    def shared(variant: tuple[int, str]) -> tuple[int, int]:
        row = texts[variant[0]]
        text = "\n".join((row.title, row.issue, " ".join(row.keyword_list)))
        return len(asked & set(index_text(text, row.language).split())), -variant[0]
    return max(variants, key=shared)


def match(groups: list[tuple[str, ...]], states: tuple[str, ...], limit: int, every: bool) -> list[Hit]:
    """Articles in `states` with every (or any) group: a group is alternative terms for one word."""
    if not groups or not states:
        return []
    if db.is_sqlite():
        return _match_sqlite(groups, states, limit, every)
    return _match_postgres(groups, states, limit, every)


def _match_sqlite(groups, states, limit, every) -> list[Hit]:
    # FTS5's BM25 floors the idf of a term held by half the articles or more at 1e-6: tiny scores, still ranked.
    expression = (" AND " if every else " OR ").join(
        "(" + " OR ".join(f'"{term}"' for term in group) + ")" for group in groups)
    # Counted only as far as the choice needs: a common word's every match is not walked twice.
    matching = db.execute('SELECT count(*) FROM (SELECT 1 FROM "article_fts" WHERE "article_fts" MATCH ? LIMIT ?)',
                          (expression, _BM25_AT_MOST + 1)).fetchone()[0]
    if matching > _BM25_AT_MOST:
        found = _by_telling_words(groups, expression, states, limit)
        if len(found) >= limit:
            return found
    marks = ", ".join("?" * len(states))
    weights = ", ".join(str(w) for w in _SQLITE_WEIGHTS)
    rows = db.execute(
        f'SELECT f."rowid", bm25("article_fts", {weights}) AS "rank" FROM "article_fts" AS f '
        f'JOIN "article" AS a ON a."id" = f."rowid" '
        f'WHERE "article_fts" MATCH ? AND a."state" IN ({marks}) ORDER BY "rank" LIMIT ?',
        (expression, *states, limit)).fetchall()
    return [Hit(row[0], -row[1]) for row in rows]


def _by_telling_words(groups, expression: str, states, limit: int) -> list[Hit]:
    """For a search so broad that BM25 over every match would cost tens of milliseconds: the articles
    in which the searched words weigh most (article_term, as suggestions read it), those that match
    the search as FTS5 reads it, heaviest first. Bounded work: _ROWS_PER_WORD rows a term."""
    terms = sorted({term for group in groups for term in group})
    part = (f'SELECT "article_id", "weight" FROM (SELECT "article_id", "weight" FROM "article_term" '
            f'WHERE "term" = ? ORDER BY "weight" DESC LIMIT {_BROAD_ROWS_PER_TERM}) AS t{{n}}')
    union = " UNION ALL ".join(part.format(n=n) for n in range(len(terms)))
    marks = ", ".join("?" * len(states))
    rows = db.execute(
        f'SELECT w."article_id", SUM(w."weight") AS "score" FROM ({union}) AS w '
        f'JOIN "article" AS a ON a."id" = w."article_id" AND a."state" IN ({marks}) '
        f'WHERE w."article_id" IN (SELECT "rowid" FROM "article_fts" WHERE "article_fts" MATCH ?) '
        f'GROUP BY w."article_id" ORDER BY "score" DESC, w."article_id" LIMIT ?',
        (*terms, *states, expression, limit)).fetchall()
    return [Hit(row[0], float(row[1])) for row in rows]


def _match_postgres(groups, states, limit, every) -> list[Hit]:
    expression = (" & " if every else " | ").join(
        "(" + " | ".join(_pg_term(term) for term in group) + ")" for group in groups)
    marks = ", ".join("?" * len(states))
    rows = db.execute(
        "SELECT s.\"article_id\", ts_rank(s.\"document\", q, 1) AS \"rank\" "
        "FROM \"article_search\" AS s JOIN \"article\" AS a ON a.\"id\" = s.\"article_id\", "
        "to_tsquery('simple', ?) AS q "
        f"WHERE s.\"document\" @@ q AND a.\"state\" IN ({marks}) ORDER BY \"rank\" DESC, s.\"article_id\" LIMIT ?",
        (expression, *states, limit)).fetchall()
    return [Hit(row[0], float(row[1])) for row in rows]


def _pg_term(term: str) -> str:
    return "'" + term.replace("'", "''").replace("\\", "") + "'"


def document_frequencies(terms: list[str]) -> dict[str, int]:
    """How many indexed articles hold each term."""
    found = {}
    concepts = {term: term[len(CONCEPT):] for term in terms if term.startswith(CONCEPT)}
    if concepts:  # a concept's key in term_counts is its index term marked
        named = document_frequencies(sorted(set(concepts.values())))
        found.update({key: named[name] for key, name in concepts.items() if name in named})
        terms = [term for term in terms if term not in concepts]
    marks = ", ".join("?" * _FREQUENCY_CHUNK)
    for start in range(0, len(terms), _FREQUENCY_CHUNK):
        chunk = list(terms[start:start + _FREQUENCY_CHUNK])
        chunk += [""] * (_FREQUENCY_CHUNK - len(chunk))
        rows = db.execute(f'SELECT "term", "docs" FROM "term_frequency" WHERE "term" IN ({marks})',
                          tuple(chunk)).fetchall()
        found.update({term: count for term, count in rows if term})
    return found


def documents() -> int:
    """How many articles the index holds: every article (counting an FTS5 table would read all of it)."""
    return db.execute('SELECT count(*) FROM "article"').fetchone()[0]


# Suggestions ------------------------------------------------------------------

def index_for_suggestions(article) -> None:
    """Keep a checked article's most telling words and concepts, weighted, for suggest(); see the module
    docstring. With variants, each counts in its own language, and a term takes its largest count
    among them (a concept every variant names is not three times the subject)."""
    unindex_for_suggestions(article.id)
    texts = _texts(article)
    counts: Counter = Counter()
    for variant, language in texts:
        mine: Counter = Counter()
        for text, weight in ((variant.title, 3.0), (" ".join(variant.keyword_list), 2.0), (variant.issue, 1.0),
                             (variant.cause, 1.0), (variant.resolution, 0.5)):
            for term, count in term_counts(text, language).items():
                mine[term] += count * weight
        counts |= mine
    if not counts:
        return
    df, total = document_frequencies(sorted(counts)), documents()
    vector = {term: math.log1p(count) * idf(df.get(term, 0), total) for term, count in counts.items()}
    norm = math.sqrt(sum(v * v for v in vector.values()))
    telling = _TELLING_WORDS + 12 * (len(texts) - 1)
    for term, weight in sorted(vector.items(), key=lambda item: (-item[1], item[0]))[:telling]:
        db.execute('INSERT INTO "article_term" ("term", "weight", "article_id") VALUES (?, ?, ?)',
                   (term, weight / norm, article.id))


def unindex_for_suggestions(article_id: int) -> None:
    db.execute('DELETE FROM "article_term" WHERE "article_id" = ?', (article_id,))


def suggest(subject: str, body: str, limit: int, language: str = "") -> list[Hit]:
    """The checked articles whose telling words (or their concepts, in any language) a new mail uses
    most, best first; `language` is the mail's, when known."""
    counts: Counter = Counter()
    for text, weight in ((subject, 2.0), (body, 1.0)):
        for term, count in term_counts(text, language).items():
            counts[term] += count * weight
    asked = [(term, math.log1p(count)) for term, count in counts.most_common(_MAIL_WORDS)]
    if not asked:
        return []
    part = (f'SELECT "article_id", "weight" * ? AS "w" FROM (SELECT "article_id", "weight" FROM "article_term" '
            f'WHERE "term" = ? ORDER BY "weight" DESC LIMIT {_ROWS_PER_WORD}) AS t{{n}}')
    union = " UNION ALL ".join(part.format(n=n) for n in range(len(asked)))
    rows = db.execute(f'SELECT "article_id", SUM("w") AS "score" FROM ({union}) AS asked '
                      f'GROUP BY "article_id" ORDER BY "score" DESC, "article_id" LIMIT ?',
                      (*(value for pair in asked for value in (pair[1], pair[0])), limit)).fetchall()
    return [Hit(row[0], float(row[1])) for row in rows]

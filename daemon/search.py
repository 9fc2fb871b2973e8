"""Full-text search over knowledge articles: FTS5 on SQLite, tsvector on PostgreSQL.

Both indexes hold the same thing, the terms daemon.words makes of an
article (stems, folded), in three fields weighted apart: the title weighs
most, then the keywords (the words people searched with), then the body
(issue, environment, resolution, cause). A search asks for every one of
its words first and, when that finds nothing, for any of them; ranking is
BM25 on SQLite and ts_rank on PostgreSQL. The callers never see which.
"""
from __future__ import annotations

from dataclasses import dataclass

from daemon import db, words

# bm25() weights of the FTS5 columns, in their order: title, body, keywords.
_SQLITE_WEIGHTS = (10.0, 1.0, 5.0)


@dataclass(frozen=True)
class Hit:
    article_id: int
    score: float  # higher is better; comparable only within one search


def index(article) -> None:
    """(Re)index one article: anything with id, title, issue, environment, resolution, cause, keyword_list."""
    title = words.index_text(article.title)
    body = words.index_text("\n".join((article.issue, article.environment, article.resolution, article.cause)))
    keywords = words.index_text(" ".join(article.keyword_list))
    unindex(article.id)
    if db.is_sqlite():
        db.execute('INSERT INTO "article_fts" ("rowid", "title", "body", "keywords") VALUES (?, ?, ?, ?)',
                   (article.id, title, body, keywords))
    else:
        db.execute('INSERT INTO "article_search" ("article_id", "document") VALUES (?, '
                   "setweight(to_tsvector('simple', ?), 'A') || setweight(to_tsvector('simple', ?), 'B') || "
                   "setweight(to_tsvector('simple', ?), 'D'))", (article.id, title, keywords, body))


def unindex(article_id: int) -> None:
    if db.is_sqlite():
        db.execute('DELETE FROM "article_fts" WHERE "rowid" = ?', (article_id,))
    else:
        db.execute('DELETE FROM "article_search" WHERE "article_id" = ?', (article_id,))


def search(text: str, states: tuple[str, ...], limit: int = 10) -> list[Hit]:
    """Articles in one of `states` matching `text`: all of its words if any article has them, else any."""
    groups = words.query_groups(text)
    if not groups:
        return []
    return match(groups, states, limit, every=True) or (
        match(groups, states, limit, every=False) if len(groups) > 1 else [])


def match(groups: list[tuple[str, ...]], states: tuple[str, ...], limit: int, every: bool) -> list[Hit]:
    """Articles in `states` with every (or any) group: a group is alternative terms for one word."""
    if not groups or not states:
        return []
    if db.is_sqlite():
        return _match_sqlite(groups, states, limit, every)
    return _match_postgres(groups, states, limit, every)


def _match_sqlite(groups, states, limit, every) -> list[Hit]:
    expression = (" AND " if every else " OR ").join(
        "(" + " OR ".join(f'"{term}"' for term in group) + ")" for group in groups)
    marks = ", ".join("?" * len(states))
    weights = ", ".join(str(w) for w in _SQLITE_WEIGHTS)
    rows = db.execute(
        f'SELECT f."rowid", bm25("article_fts", {weights}) AS "rank" FROM "article_fts" AS f '
        f'JOIN "article" AS a ON a."id" = f."rowid" '
        f'WHERE "article_fts" MATCH ? AND a."state" IN ({marks}) ORDER BY "rank" LIMIT ?',
        (expression, *states, limit)).fetchall()
    return [Hit(row[0], -row[1]) for row in rows]


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
    if not terms:
        return {}
    if db.is_sqlite():
        marks = ", ".join("?" * len(terms))
        rows = db.execute(f'SELECT "term", "doc" FROM "article_fts_vocab" WHERE "term" IN ({marks})',
                          tuple(terms)).fetchall()
        return {term: count for term, count in rows}
    rows = db.execute("SELECT t, (SELECT count(*) FROM \"article_search\" "
                      "WHERE \"document\" @@ to_tsquery('simple', quote_literal(t))) "
                      "FROM unnest(?::text[]) AS t", (list(terms),)).fetchall()
    return {term: count for term, count in rows if count}


def documents() -> int:
    """How many articles the index holds."""
    table = "article_fts" if db.is_sqlite() else "article_search"
    return db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]

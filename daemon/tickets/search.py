"""Finding tickets by what was written in them: subject and visible text of every message.

Words are matched whole and unstemmed, because people search the queue for
names, codes and error texts as much as for words; a word ending in * is a
prefix ("skriv*" finds "skriveren"). Prefixes are not the default because a
prefix merges every matching word's postings before the newest can be taken
(measured at 500,000 messages: p95 27 ms for prefixes, 4 ms for whole words). A
ticket number ("#10023" or "10023") and an address find their ticket directly.
The newest matching messages win when a common word matches more than `cap`.
"""
from __future__ import annotations

import logging
import re
import unicodedata

from peewee import OperationalError

from daemon.store import db

log = logging.getLogger("patroldesk.search")
_NUMBER = re.compile(r"#?([0-9]{1,9})")
# Letters to Python that FTS5's unicode61 (Unicode 6.1) splits words at: spacing marks then.
_FTS5_SEPARATORS = frozenset("\u19b0\u19b1\u19b2\u19b3\u19b4\u19b5\u19b6\u19b7\u19b8\u19b9\u19ba\u19bb"
                             "\u19bc\u19bd\u19be\u19bf\u19c0\u19c8\u19c9\u1cf2\u1cf3")


def ticket_ids(text: str, cap: int = 2000) -> list[int]:
    """Ids of the tickets whose messages contain every word of `text`, newest match first."""
    text = text.strip()
    if _NUMBER.fullmatch(text):
        rows = db.execute('SELECT "id" FROM "ticket" WHERE "number" = ?', (int(_NUMBER.fullmatch(text).group(1)),))
        found = [row[0] for row in rows.fetchall()]
        if found:
            return found
    if "@" in text and " " not in text:
        rows = db.execute('SELECT t."id" FROM "ticket" t JOIN "customer" c ON c."id" = t."requester_id" '
                          'WHERE c."email" = ? ORDER BY t."id" DESC LIMIT ?', (text.lower(), cap))
        return [row[0] for row in rows.fetchall()]
    sqlite = db.is_sqlite()
    words = _words(text, sqlite)
    if not words:
        return []
    rows = _messages_sqlite(words, cap) if sqlite else _messages_postgres(words, cap)
    return list(dict.fromkeys(row[0] for row in rows))


def _words(text: str, sqlite: bool) -> list[tuple[str, str]]:
    """The words as the database's tokenizer cuts them, each with '*' when a prefix was asked for.

    Both keep letters and digits together; PostgreSQL's parser also keeps
    combining marks inside a word ("हिन्दी" is one word there), SQLite's FTS5
    splits at them and at a few letters it did not know as letters.
    """
    found, current = [], []
    for char in text + " ":
        if (char.isalnum() and not (sqlite and char in _FTS5_SEPARATORS)) or (
                not sqlite and current and unicodedata.category(char).startswith("M")):
            current.append(char)
            continue
        if current:
            found.append(("".join(current), "*" if char == "*" else ""))
            current = []
    return found[:12]


def _messages_sqlite(words: list[tuple[str, str]], cap: int):
    query = " ".join(f'"{word}"' + ("*" if star else "") for word, star in words)  # letters only: no quotes
    try:
        return db.execute('SELECT m."ticket_id" FROM "message" m WHERE m."id" IN (SELECT rowid FROM "message_fts" '
                          'WHERE "message_fts" MATCH ? ORDER BY rowid DESC LIMIT ?) ORDER BY m."id" DESC',
                          (query, cap)).fetchall()
    except OperationalError as exc:  # a word the tokenizer still cuts in two: no match, never a crash
        log.warning("search %r refused by the index: %s", query, exc)
        return []


def _messages_postgres(words: list[tuple[str, str]], cap: int):
    query = " & ".join(word.lower() + (":*" if star else "") for word, star in words)  # letters: nothing to escape
    # The expression of migration 0011's index, word for word, or the index is not used.
    return db.execute('SELECT "ticket_id" FROM "message" WHERE to_tsvector(\'simple\', left("subject" || \' \' || '
                      '"body_visible", 100000)) @@ to_tsquery(\'simple\', ?) ORDER BY "id" DESC LIMIT ?',
                      (query, cap)).fetchall()

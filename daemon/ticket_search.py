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

import re

from daemon import db

# Letters and digits, as the index's tokenizer splits them ("_" separates words there too).
_WORD = re.compile(r"([^\W_]+)(\*?)", re.UNICODE)
_NUMBER = re.compile(r"#?(\d{1,12})")


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
    words = _WORD.findall(text)[:12]
    if not words:
        return []
    rows = _messages_sqlite(words, cap) if db.is_sqlite() else _messages_postgres(words, cap)
    return list(dict.fromkeys(row[0] for row in rows))


def _messages_sqlite(words: list[tuple[str, str]], cap: int):
    query = " ".join(f'"{word}"' + ("*" if star else "") for word, star in words)  # \w+: no quotes inside
    return db.execute('SELECT m."ticket_id" FROM "message" m WHERE m."id" IN (SELECT rowid FROM "message_fts" '
                      'WHERE "message_fts" MATCH ? ORDER BY rowid DESC LIMIT ?) ORDER BY m."id" DESC',
                      (query, cap)).fetchall()


def _messages_postgres(words: list[tuple[str, str]], cap: int):
    query = " & ".join(word.lower() + (":*" if star else "") for word, star in words)  # \w+: nothing to escape
    # The expression of migration 0011's index, word for word, or the index is not used.
    return db.execute('SELECT "ticket_id" FROM "message" WHERE to_tsvector(\'simple\', left("subject" || \' \' || '
                      '"body_visible", 100000)) @@ to_tsquery(\'simple\', ?) ORDER BY "id" DESC LIMIT ?',
                      (query, cap)).fetchall()

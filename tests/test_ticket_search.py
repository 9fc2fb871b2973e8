"""The queue's text search against the real indexes: every letter a person can type is a word or a
separator to both databases, never a query error, and words with combining marks are found."""
from __future__ import annotations

import sys
import unicodedata

import pytest

from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.store import db
from daemon.store.models import Ticket
from daemon.tickets import search as ticket_search
from tests.conftest import make_config
from tests.corpus import simple_mail

MARKED = ("हिन्दी", "மொழி", "مُحَمَّد", "שָׁלוֹם", unicodedata.normalize("NFD", "café"))


@pytest.fixture
def searchable(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url)
    handle = db.open_database(config)
    db.upgrade()
    spool.enqueue(simple_mail(frm="ola@example.no", to="support@localhost", subject="Språk",
                              body="Skriveren sier: " + " ".join(MARKED)), "test")
    pipeline.drain(config)
    yield Ticket.get()
    handle.close()


@pytest.mark.parametrize("word", MARKED)
def test_words_with_combining_marks_are_found(searchable, word):
    assert ticket_search.ticket_ids(word) == [searchable.id]


def test_every_letter_and_digit_is_a_word_or_a_separator_never_an_error(searchable):
    """`aXb` for every code point X that Python calls a letter or a digit (about 140,000 of them)."""
    if not db.is_sqlite():
        letters = [chr(n) for n in range(0x80, sys.maxunicode + 1, 97) if chr(n).isalnum()]  # a sample on PG
    else:
        letters = [chr(n) for n in range(0x80, sys.maxunicode + 1) if chr(n).isalnum()]
    assert len(letters) > 1000
    for letter in letters:
        assert ticket_search.ticket_ids(f"a{letter}b") == [], letter
    assert ticket_search.ticket_ids("skriveren") == [searchable.id]


@pytest.mark.parametrize("text", ["foo_bar", "NEAR(a b)", "a OR b", "-x", "^x", "*", "x**", '"', "'", "\x00",
                                  "١٢٣", "#99999999999999", "a" * 500])
def test_query_syntax_in_the_words_is_only_words(searchable, text):
    assert ticket_search.ticket_ids(text) == []

"""Broken multiparts from tests/data, through the spool and the pipeline: the text a ticket shows
holds no MIME boundary lines or part headers, and the parts behind a wrong boundary are found."""
from __future__ import annotations

from pathlib import Path

import pytest

from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.mail.boundaries import without_boundaries
from daemon.store.models import Inbound

DATA = Path(__file__).parent / "data"

CASES = {
    "multipart-wrong-boundary-parameter.eml": ("Hei,\nskriveren skriver ikke ut.", ["faktura.pdf"]),
    "multipart-no-boundary-parameter.eml": ("The VPN drops every hour.", []),
    "multipart-junk-after-delimiter.eml": ("Принтер не печатает.", []),
    "multipart-delimiter-glued-to-text.eml": ("First line of the question.\n\nA second part.", []),
    "multipart-nested-without-closing-boundaries.eml": ("The invoice is wrong.", ["log.txt"]),
}


def test_every_broken_multipart_in_the_data_folder_has_a_case():
    assert sorted(path.name for path in DATA.glob("multipart-*.eml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_broken_multipart_becomes_a_ticket_without_boundary_lines_in_its_text(config, database, name):
    text, files = CASES[name]
    row = spool.enqueue((DATA / name).read_bytes(), "cli", {"file": name})
    [result] = pipeline.drain(config)
    assert result.outcome == "created", result
    message = Inbound.get_by_id(row.id).message
    assert message.body_text == text
    assert not [line for line in message.body_visible.splitlines() if line.startswith("--")]
    assert sorted(a.filename for a in message.attachments) == files


def test_only_delimiter_lines_leave_the_text_not_words_that_look_like_them():
    text = "Run it with --verbose--quiet, please.\n\n\n-- \nKari"
    assert without_boundaries(text, ("b1", "verbose")) == text
    assert without_boundaries("see the log--b1\nContent-Type: text/plain\n\nerror 42\n--b1--", ("b1",)) == \
        "see the log\n\nerror 42"

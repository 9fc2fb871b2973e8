"""`export`: tickets and article variants out as JSON or CSV, whole, readable, in real UTF-8, streamed.

Mail goes in through the real pipeline, on SQLite and on PostgreSQL; the command runs as a user runs it.
"""
from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import json
import math
import os
import sqlite3
import subprocess
import sys
import tracemalloc

import psycopg2
import pytest
from peewee import chunked

from daemon.errors import PatroldeskError
from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.knowledge import ArticleText, add_variant, create_article
from daemon.patrol.logbook import Note, close
from daemon.people.users import create_user
from daemon.store import db, export
from daemon.store.models import ArticleVariant, Customer, Message, PatrolReport, Ticket, utcnow
from daemon.tickets import lifecycle as tickets
from tests.conftest import make_config
from tests.corpus import simple_mail

SUPPORT = "hjelp@example.no"
LOG = b"2026-03-02 08:14 spooler: driver \xc2\xabHP Universal\xc2\xbb replaced\n"
PNG = bytes(range(256)) * 3
SOLVED = Note(
    situation="Пётр не получил счёт за март: письмо со счётом не пришло на его адрес.",
    behaviour='Проверил журнал рассылки, нашёл отказ "mailbox full";\nотправил счёт ещё раз, на второй адрес.',
    outcome="Счёт получен, клиент подтвердил ответом.",
    outcome_kind="resolved", cause="Переполненный почтовый ящик клиента", tags=("счёт", "почта"))


@pytest.fixture
def desk(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url, support={"addresses": [SUPPORT]})
    handle = db.open_database(config)
    db.upgrade()
    agent = create_user("kari", "agent", "korrekt-hest-batteri", name="Kari Nordmann")
    yield config, agent
    handle.close()


def mail_with_files(frm: str, subject: str, message_id: str, in_reply_to: str, text: str,
                    files: dict[str, tuple[str, bytes]]) -> bytes:
    """A multipart/mixed UTF-8 mail: the text, then each file (name -> type, bytes), names per RFC 2231."""
    parts = [b"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
             + base64.encodebytes(text.encode()).replace(b"\n", b"\r\n")]
    for name, (kind, data) in files.items():
        quoted = "".join(c if c.isascii() and c.isalnum() or c in ".-_" else
                         "".join(f"%{b:02X}" for b in c.encode()) for c in name)
        parts.append(f"--b\r\nContent-Type: {kind}\r\nContent-Disposition: attachment; filename*=UTF-8''{quoted}\r\n"
                     f"Content-Transfer-Encoding: base64\r\n\r\n".encode()
                     + base64.encodebytes(data).replace(b"\n", b"\r\n"))
    return (f"From: {frm}\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\nDate: Tue, 02 Jan 2024 11:00:00 +0000\r\n"
            f"Message-ID: <{message_id}>\r\nIn-Reply-To: <{in_reply_to}>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n").encode() + b"".join(parts) + b"--b--\r\n"


@pytest.fixture
def store(desk):
    """A Norwegian ticket (two mails, the second with files; a note; assigned) and a Russian one, solved."""
    config, agent = desk
    spool.enqueue(simple_mail(frm="Åse Ødegård <ase@example.no>", to=SUPPORT, subject="Skriveren på tredje etasje",
                              body="Hei! Skriveren på tredje etasje skriver ikke ut etter oppdateringen. "
                                   "Kan dere hjelpe meg? Hilsen Åse", message_id="nb1@example.no"), "test")
    spool.enqueue(simple_mail(frm="Пётр Иванов <petr@example.ru>", to=SUPPORT, subject="Счёт не пришёл",
                              body="Добрый день! Счёт за март так и не пришёл мне на почту. Пётр",
                              message_id="ru1@example.ru"), "test")
    pipeline.drain(config)
    spool.enqueue(mail_with_files("Åse Ødegård <ase@example.no>", "Sv: Skriveren på tredje etasje", "nb2@example.no",
                                  "nb1@example.no", "Her er feilloggen og et skjermbilde – «æøå».",
                                  {"feillogg.txt": ("text/plain", LOG), "skjermbilde på kontoret.png":
                                   ("image/png", PNG)}), "test")
    pipeline.drain(config)
    norwegian = Ticket.get(Ticket.subject == "Skriveren på tredje etasje")
    russian = Ticket.get(Ticket.subject == "Счёт не пришёл")
    tickets.add_note(norwegian, agent, "Ringte Åse: hun prøver igjen i morgen.")
    tickets.assign(norwegian, agent, agent)
    close(config, russian, SOLVED, agent)
    article = create_article(ArticleText(title="Skriveren skriver ikke etter Windows-oppdatering",
                                         issue="Skriveren står som frakoblet etter oppdateringen.",
                                         resolution="Installer skriverdriveren på nytt fra produsenten.",
                                         keywords=("skriver", "driver")), agent, language="nb")
    add_variant(article, "ru", ArticleText(title="Принтер не печатает после обновления Windows",
                                           issue="Принтер отключён после обновления.",
                                           resolution="Переустановите драйвер принтера с сайта производителя."),
                agent)
    return config, agent, norwegian.number, russian.number


def exported(write, fmt: str, **kwargs) -> str:
    out = io.StringIO(newline="")
    write(out, fmt, **kwargs)
    return out.getvalue()


def by_number(records: list[dict]) -> dict[int, dict]:
    return {record["number"]: record for record in records}


# What a ticket says -------------------------------------------------------------------------------

def test_json_export_holds_each_ticket_whole_with_its_mail_in_order(store):
    config, agent, nb, ru = store
    records = by_number(json.loads(exported(export.export_tickets, "json")))
    assert set(records) == {nb, ru}
    ase = records[nb]
    assert ase["subject"] == "Skriveren på tredje etasje" and ase["status"] in ("new", "open")
    assert ase["customer"] == {"address": "ase@example.no", "name": "Åse Ødegård"}
    assert ase["assignee"] == "kari" and ase["sbo"] is None and ase["closed_at"] is None and ase["tags"] == []
    assert [m["direction"] for m in ase["messages"]] == ["inbound", "outbound", "inbound"]
    first, acknowledgement, second = ase["messages"]
    assert first["message_id"] == "nb1@example.no" and second["message_id"] == "nb2@example.no"
    assert first["from"] == {"address": "ase@example.no", "name": "Åse Ødegård"}
    assert first["to"] == [{"name": "", "address": SUPPORT}]
    assert first["date"] == "2024-01-02T10:00:00Z" and second["date"] == "2024-01-02T11:00:00Z"
    assert "Skriveren på tredje etasje skriver ikke ut" in first["visible_text"]
    assert "«æøå»" in second["visible_text"]
    assert acknowledgement["to"][0]["address"] == "ase@example.no" and acknowledgement["automatic"]
    assert second["attachments"] == [
        {"filename": "feillogg.txt", "content_type": "text/plain", "size": len(LOG),
         "sha256": hashlib.sha256(LOG).hexdigest(), "stored": True, "inline": False},
        {"filename": "skjermbilde på kontoret.png", "content_type": "image/png", "size": len(PNG),
         "sha256": hashlib.sha256(PNG).hexdigest(), "stored": True, "inline": False}]
    [note] = ase["notes"]
    assert note["author"] == "kari" and note["text"] == "Ringte Åse: hun prøver igjen i morgen."
    for moment in (ase["created_at"], ase["updated_at"], note["at"]):
        assert moment.endswith("Z") and dt.datetime.fromisoformat(moment[:-1])


def test_json_export_holds_the_sbo_note_and_its_patrol_log_hash_when_solved(store):
    config, agent, nb, ru = store
    petr = by_number(json.loads(exported(export.export_tickets, "json")))[ru]
    report = PatrolReport.get()
    assert petr["status"] == "solved" and petr["language"] == "ru"
    assert petr["customer"] == {"address": "petr@example.ru", "name": "Пётр Иванов"}
    assert petr["closed_at"] == report.created_at.isoformat() + "Z"
    assert petr["tags"] == json.loads(report.tags) == ["почта", "счёт"]
    sbo = petr["sbo"]
    assert (sbo["situation"], sbo["behaviour"], sbo["outcome"]) == (SOLVED.situation, SOLVED.behaviour,
                                                                      SOLVED.outcome)
    assert sbo["outcome_kind"] == "resolved" and sbo["cause"] == SOLVED.cause and sbo["author"] == "kari"
    assert sbo["hash"] == report.hash and len(sbo["hash"]) == 64
    assert petr["reports"] == [sbo]
    # The acknowledgement, then the solved notice: our own mail is exported too.
    assert [m["direction"] for m in petr["messages"]] == ["inbound", "outbound", "outbound"]
    assert petr["messages"][0]["visible_text"].startswith("Добрый день! Счёт за март")


def test_json_export_is_one_array_and_one_record_per_line_in_real_utf8(store):
    text = exported(export.export_tickets, "json")
    lines = text.split("\n")
    assert lines[0] == "[" and lines[-2:] == ["]", ""]
    records = [json.loads(line.removesuffix(",")) for line in lines[1:-2]]
    assert records == json.loads(text) and len(records) == 2
    assert all(line.endswith(",") for line in lines[1:-3]) and not lines[-3].endswith(",")
    assert "Счёт не пришёл" in text and "Åse Ødegård" in text and "\\u04" not in text
    assert export.write_json(io.StringIO(), []) == 0


def test_a_record_stays_one_line_whatever_line_separators_its_text_holds():
    out = io.StringIO()
    export.write_json(out, [{"text": "a\u2028b\u2029c\x85d\r\ne"}, {"text": "next"}])
    lines = out.getvalue().splitlines()  # splitlines() breaks at U+2028, U+2029 and NEL too
    assert len(lines) == 4
    assert json.loads(lines[1].removesuffix(","))["text"] == "a\u2028b\u2029c\x85d\r\ne"


def test_csv_export_is_one_row_per_ticket_with_flat_fields_and_counts(store):
    config, agent, nb, ru = store
    text = exported(export.export_tickets, "csv")
    assert text.startswith(",".join(export.TICKET_COLUMNS) + "\r\n")
    rows = {int(row["number"]): row for row in csv.DictReader(io.StringIO(text, newline=""))}
    assert set(rows) == {nb, ru}
    ase, petr = rows[nb], rows[ru]
    assert (ase["customer_address"], ase["customer_name"], ase["assignee"]) == ("ase@example.no", "Åse Ødegård",
                                                                                 "kari")
    assert (ase["messages"], ase["attachments"], ase["notes"], ase["closed_at"], ase["situation"]) == (
        "3", "2", "1", "", "")
    assert petr["subject"] == "Счёт не пришёл" and petr["status"] == "solved" and petr["tags"] == "почта, счёт"
    # The behaviour holds a line break, quotes and a semicolon: quoted as RFC 4180 asks, and read back whole.
    assert petr["behaviour"] == SOLVED.behaviour and petr["report_hash"] == PatrolReport.get().hash
    assert petr["messages"] == "3" and petr["attachments"] == "0"


# --since ------------------------------------------------------------------------------------------

def test_since_keeps_the_tickets_updated_at_or_after_the_moment(store):
    config, agent, nb, ru = store
    Ticket.update(updated_at=dt.datetime(2024, 1, 2, 10, 0)).where(Ticket.number == nb).execute()

    def numbers(since: str) -> set[int]:
        return {r["number"] for r in json.loads(exported(export.export_tickets, "json",
                                                         since=export.parse_since(since)))}

    assert numbers("2024-01-01") == {nb, ru}
    assert numbers("2024-01-02T10:00:00Z") == {nb, ru}  # at the moment counts
    assert numbers("2024-01-02T11:00+01:00") == {nb, ru}  # the same moment, said in another zone
    assert numbers("2024-01-02T10:00:01") == {ru}
    assert numbers("2024-06-01") == {ru}
    assert numbers((utcnow() + dt.timedelta(hours=1)).isoformat()) == set()


def test_since_is_a_date_or_a_moment_and_anything_else_is_refused():
    assert export.parse_since("2026-03-01") == dt.datetime(2026, 3, 1)
    assert export.parse_since("2026-03-01 09:30") == dt.datetime(2026, 3, 1, 9, 30)
    assert export.parse_since("2026-03-01T09:30+02:00") == dt.datetime(2026, 3, 1, 7, 30)
    assert export.parse_since(None) is None
    for bad in ("yesterday", "2026-13-01", "01.03.2026", ""):
        with pytest.raises(PatroldeskError, match="not a date"):
            export.parse_since(bad)


# Articles -----------------------------------------------------------------------------------------

def test_articles_export_every_variant_with_its_text(store):
    config, agent, nb, ru = store
    records = json.loads(exported(export.export_articles, "json"))
    variants = {(r["title"], r["language"]): r for r in records}
    norwegian = variants[("Skriveren skriver ikke etter Windows-oppdatering", "nb")]
    russian = variants[("Принтер не печатает после обновления Windows", "ru")]
    assert norwegian["article"] == russian["article"]
    assert norwegian["resolution"] == "Installer skriverdriveren på nytt fra produsenten."
    assert norwegian["keywords"] == ["skriver", "driver"] and norwegian["author"] == "kari"
    assert russian["issue"] == "Принтер отключён после обновления." and russian["state"] == "draft"
    assert russian["validated_at"] is None and russian["published_at"] is None
    assert russian["created_at"].endswith("Z")
    # Closing the Russian ticket drafted an article from its note: it is there, and names the ticket.
    assert any(r["source_ticket"] == ru for r in records)
    rows = list(csv.DictReader(io.StringIO(exported(export.export_articles, "csv"), newline="")))
    assert [(r["title"], r["language"], r["keywords"]) for r in rows] == [
        (r["title"], r["language"], ", ".join(r["keywords"])) for r in records]


def test_articles_since_filters_on_the_variants_update(store):
    ArticleVariant.update(updated_at=dt.datetime(2024, 1, 1)).where(ArticleVariant.language == "nb").execute()
    records = json.loads(exported(export.export_articles, "json", since=export.parse_since("2024-06-01")))
    assert records and all(r["language"] != "nb" for r in records)


# Streaming ----------------------------------------------------------------------------------------

def many_tickets(count: int, first: int, body_size: int = 200) -> None:
    """`count` tickets of one message each, written straight to the store (the pipeline is not the point)."""
    customer = Customer.create(email=f"many{first}@example.org", name="Mange")
    now = utcnow()
    rows = [{"number": first + i, "subject": f"Sak {i}", "requester": customer.id, "created_at": now,
             "updated_at": now} for i in range(count)]
    with db.database.atomic():
        for chunk in chunked(rows, 200):
            Ticket.insert_many(chunk).execute()
        ids = [t.id for t in Ticket.select(Ticket.id).where(Ticket.number >= first)]
        body = ("Skriveren står stille. Принтер молчит. " * (body_size // 40 + 1))[:body_size]
        messages = [{"ticket": ticket_id, "kind": "inbound", "subject": "Sak", "body_text": body,
                     "body_visible": body, "sender_address": customer.email} for ticket_id in ids]
        for chunk in chunked(messages, 200):
            Message.insert_many(chunk).execute()


class Watching(io.StringIO):
    """An output that notes, at each record written, how many ticket batches had been read."""

    def __init__(self, statements: list[str]):
        super().__init__()
        self.statements = statements
        self.batches_read_at_record: list[int] = []

    def write(self, text: str) -> int:
        if text.startswith("{"):
            self.batches_read_at_record.append(len(ticket_selects(self.statements)))
        return super().write(text)


def ticket_selects(statements: list[str]) -> list[str]:
    return [sql for sql in statements if sql.startswith("SELECT") and 'FROM "ticket" AS' in sql]


def test_tickets_are_read_in_batches_and_each_batch_is_written_before_the_next_is_read(desk, monkeypatch):
    count = 2 * export.BATCH + 34
    many_tickets(count, 50001)
    statements: list[str] = []
    handle = db.database.obj
    real = handle.execute_sql

    def counting(sql, params=None, *args, **kwargs):
        statements.append(sql)
        return real(sql, params, *args, **kwargs)

    monkeypatch.setattr(handle, "execute_sql", counting)
    out = Watching(statements)
    assert export.export_tickets(out, "json") == count
    batches = math.ceil(count / export.BATCH)
    reads = ticket_selects(statements)
    assert len(reads) == batches and all("LIMIT" in sql for sql in reads)
    # The record of ticket i went out once its own batch was read, before the next one was.
    assert out.batches_read_at_record == [i // export.BATCH + 1 for i in range(count)]
    # A few queries per batch (tickets, their messages, attachments, reports), never one per ticket.
    selects = [sql for sql in statements if sql.startswith("SELECT")]
    assert len(selects) <= 4 * batches + 2, len(selects)
    assert len(json.loads(out.getvalue())) == count


class ChangingMidway(io.StringIO):
    """An output that, once the first record is out, has another connection rename the last ticket."""

    def __init__(self, url: str, number: int):
        super().__init__()
        self.url, self.number, self.changed = url, number, False

    def write(self, text: str) -> int:
        if text.startswith("{") and not self.changed:
            self.changed = True
            if self.url.startswith("sqlite:///"):
                other = sqlite3.connect(self.url[len("sqlite:///"):], timeout=15, isolation_level=None)
            else:
                other = psycopg2.connect(self.url)
                other.autocommit = True
            other.cursor().execute('UPDATE "ticket" SET "subject" = \'renamed\' WHERE "number" = %d' % self.number)
            other.close()
        return super().write(text)


def test_the_export_reads_one_snapshot_while_others_write(desk):
    config, _ = desk
    many_tickets(export.BATCH + 10, 50001)
    last = 50001 + export.BATCH + 9
    out = ChangingMidway(config.database.url, last)
    export.export_tickets(out, "json")
    assert out.changed and json.loads(out.getvalue())[-1]["subject"] == f"Sak {export.BATCH + 9}"
    assert Ticket.by_number(last).subject == "renamed"  # the change was made, after the export's view began


class Counting(io.TextIOBase):
    """An output that keeps nothing but the number of characters written."""

    def __init__(self):
        self.written = 0

    def write(self, text: str) -> int:
        self.written += len(text)
        return len(text)


def peak_memory_of_an_export() -> tuple[int, int]:
    out = Counting()
    tracemalloc.start()
    try:
        export.export_tickets(out, "json")
        return tracemalloc.get_traced_memory()[1], out.written
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_store_grows(desk):
    many_tickets(2 * export.BATCH, 60001, body_size=2000)
    small_peak, small_written = peak_memory_of_an_export()
    many_tickets(4 * export.BATCH, 70001, body_size=2000)
    large_peak, large_written = peak_memory_of_an_export()
    assert large_written > 2.5 * small_written
    # Three times the tickets written, about the same memory: one batch is held, never the whole store.
    assert large_peak < 1.4 * small_peak, (small_peak, large_peak)


# The command --------------------------------------------------------------------------------------

def run(config, tmp_path, *args) -> subprocess.CompletedProcess:
    path = tmp_path / "patroldesk.toml"
    path.write_text(f'[database]\nurl = "{config.database.url}"\n[paths]\nvar = "{config.var_dir}"\n'
                    f'[support]\naddresses = ["{SUPPORT}"]\n', encoding="utf-8")
    env = dict(os.environ, PATROLDESK_CONFIG=str(path), LC_ALL="C", PYTHONIOENCODING="ascii")
    return subprocess.run([sys.executable, "-m", "daemon", "export", *args], cwd=tmp_path, env=env,
                          capture_output=True, timeout=120)


def test_the_command_writes_json_to_standard_output_and_csv_to_a_file(store, tmp_path):
    config, agent, nb, ru = store
    shown = run(config, tmp_path, "tickets")  # json by default, UTF-8 whatever the locale says
    assert shown.returncode == 0, shown.stderr
    assert "Счёт не пришёл".encode() in shown.stdout
    assert {r["number"] for r in json.loads(shown.stdout.decode("utf-8"))} == {nb, ru}
    target = tmp_path / "tickets.csv"
    written = run(config, tmp_path, "tickets", "--format", "csv", "--since", "2000-01-01", "--output", str(target))
    assert written.returncode == 0, written.stderr
    assert written.stdout.decode() == f"2 tickets written to {target}\n"
    with open(target, encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    assert {row["customer_name"] for row in rows} == {"Åse Ødegård", "Пётр Иванов"}
    assert not (tmp_path / "tickets.csv.part").exists()
    articles = run(config, tmp_path, "articles", "--format", "csv")
    assert articles.returncode == 0, articles.stderr
    titles = {row["title"] for row in csv.DictReader(io.StringIO(articles.stdout.decode("utf-8"), newline=""))}
    assert {"Skriveren skriver ikke etter Windows-oppdatering",
            "Принтер не печатает после обновления Windows"} <= titles


@pytest.mark.parametrize("args, said", [
    (("tickets", "--format", "xml"), "patroldesk: unknown export format 'xml' (json or csv)"),
    (("articles", "--since", "last tuesday"), "patroldesk: --since: not a date or a date and time: 'last tuesday'"),
])
def test_bad_input_is_one_line_and_a_failure_not_a_traceback(tmp_path, args, said):
    config = make_config(tmp_path)
    db.open_database(config)
    db.upgrade()
    db.database.close()
    result = run(config, tmp_path, *args)
    stderr = result.stderr.decode()
    assert result.returncode == 1 and result.stdout == b""
    assert len(stderr.splitlines()) == 1 and stderr.startswith(said), stderr

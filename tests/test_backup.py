"""`patroldesk backup` while the daemon ingests, and `restore` into a fresh folder, into PostgreSQL
(`--into`, the way from SQLite) and from PostgreSQL; refusals of a full target and of altered archives.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import smtplib
import sqlite3
import tarfile
import threading
import uuid
from pathlib import Path

import psycopg2
import pytest

from tests.conftest import PG_DSN, wait_for
from tests.test_cli import cli, json_lines, mail_with_attachments, start_daemon

EARLY = 30  # tickets filed before the backup starts
AHEAD = 8  # mails sent and not yet filed, at most
CONFIG = ('[database]\nurl = "{url}"\n[smtp]\nport = 0\n[web]\nport = 0\n'
          '[support]\naddresses = ["support@example.com"]\n')
NOTE = ["--situation", "The customer's printer on floor three shows offline",
        "--behaviour", "Restarted the print spooler and re-added the printer by its address",
        "--outcome", "The printer prints again; the spooler had hung after an update", "--kind", "resolved"]


def folder(tmp_path: Path, name: str, url: str = "sqlite:///var/desk.db") -> Path:
    place = tmp_path / name
    place.mkdir()
    (place / "patroldesk.toml").write_text(CONFIG.format(url=url))
    return place


@pytest.fixture
def new_postgres():
    """Makes new, empty PostgreSQL databases, dropped afterwards (no database is opened in this process)."""
    admin = psycopg2.connect(PG_DSN, connect_timeout=5)
    admin.autocommit = True
    made = []

    def make() -> str:
        made.append(f"patroldesk_test_{uuid.uuid4().hex[:12]}")
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{made[-1]}"')
        return f"{PG_DSN.rsplit('/', 1)[0]}/{made[-1]}"
    yield make
    with admin.cursor() as cur:
        for name in made:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def a_desk_with_a_patrol_log(place: Path) -> None:
    """An installation with two tickets closed (two reports) and one review."""
    cli(place, "init", env_extra={"PATROLDESK_ADMIN_PASSWORD": "korrekt-hest-batteri"})
    for n in (1, 2):
        (place / f"{n}.eml").write_bytes(mail_with_attachments(
            f"early{n}@example.org", f"Printer offline {n}", f"early{n}@example.org", {"setup.log": b"early %d" % n}))
        cli(place, "ingest", str(place / f"{n}.eml"))
        cli(place, "close", str(10000 + n), "--as", "admin", "--new-article", *NOTE)
    cli(place, "patrol", "review", "1", "--as", "admin", "--verdict", "sound", "--analysis",
        "The spooler restart is the known fix", "--decision", "Nothing to change")


class Feed(threading.Thread):
    """Mail with an attachment each, sent to the daemon's listener until stopped, never more than
    AHEAD mails ahead of the tickets filed: the pipeline keeps writing while the backup runs."""

    def __init__(self, port: int, count_tickets):
        super().__init__()
        self.port, self.count_tickets, self.sent, self.stopping = port, count_tickets, 0, threading.Event()
        self.start()

    def run(self) -> None:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
            while not self.stopping.is_set() and self.sent < 5000:
                n = self.sent
                if n - (self.count_tickets() - 2) >= AHEAD:
                    self.stopping.wait(0.02)
                    continue
                client.sendmail(f"customer{n}@example.org", ["support@example.com"], mail_with_attachments(
                    f"customer{n}@example.org", f"Scanner jams {n}", f"feed{n}@example.org",
                    {f"scan{n}.pdf": (b"%%PDF scan %d " % n) * 300}))
                self.sent += 1

    def stop(self) -> int:
        self.stopping.set()
        self.join(60)
        return self.sent


def tickets_in(place: Path) -> list[dict]:
    return json_lines(cli(place, "tickets", "list", "--json", "--limit", "10000").stdout)


def comparable(tickets: list[dict]) -> list[dict]:
    """The ticket list with PostgreSQL's REAL (a 4-byte float) taken into account."""
    text = json.dumps(tickets, sort_keys=True)
    return json.loads(re.sub(r'"language_confidence": ([0-9.e-]+)',
                             lambda m: f'"language_confidence": {float(m.group(1)):.5f}', text))


def as_received(ticket: dict) -> tuple:
    """What the customer's mail made of a ticket, which later work (delivery, review) does not change."""
    return (ticket["ticket"], ticket["subject"], ticket["requester"]["email"], ticket["created_at"],
            [(m["message_id"], m["text"], m["attachments"]) for m in ticket["messages"] if m["kind"] == "inbound"])


def attachment_files(place: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in (place / "var" / "attachments").rglob("*") if path.is_file()}


def stored_attachments(place: Path, url: str | None = None) -> set[str]:
    """The SHA-256 of every attachment the database says is stored."""
    sql = 'SELECT DISTINCT "sha256" FROM "attachment" WHERE "stored"'
    if url is None:
        with sqlite3.connect(place / "var" / "desk.db") as connection:
            return {row[0] for row in connection.execute(sql)}
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        return {row[0] for row in cursor.fetchall()}


def verified(place: Path) -> str:
    return cli(place, "patrol", "verify").stdout.strip()


def ticket_count(place: Path) -> int:
    with sqlite3.connect(place / "var" / "desk.db", timeout=15) as connection:
        return connection.execute('SELECT count(*) FROM "ticket"').fetchone()[0]


def backup_while_ingesting(source: Path, archive: Path, count_tickets) -> tuple[int, str]:
    """Start the daemon, feed it mail, back up while it files them, feed on a little, and wait for the rest.
    Returns the tickets there before the backup began, and what the backup said on stderr."""
    daemon, banner = start_daemon(source)
    try:
        sender = Feed(int(re.search(r"SMTP 127\.0\.0\.1:(\d+)", banner).group(1)), count_tickets)
        before = wait_for(lambda: (count := count_tickets()) >= 2 + EARLY and count, timeout=60)
        made = cli(source, "backup", str(archive))
        after = sender.sent
        wait_for(lambda: sender.sent >= after + 10, timeout=60)
        sent = sender.stop()
        wait_for(lambda: count_tickets() == 2 + sent, timeout=60)
    finally:
        daemon.terminate()
        daemon.wait(30)
    return before, made.stderr


def test_a_sqlite_backup_made_while_the_daemon_ingests_restores_into_a_folder_and_into_postgresql(
        tmp_path, new_postgres):
    postgres_url = new_postgres()
    source = folder(tmp_path, "source")
    a_desk_with_a_patrol_log(source)
    archive = tmp_path / "desk.tar.gz"
    before, said = backup_while_ingesting(source, archive, lambda: ticket_count(source))
    assert archive.stat().st_mode & 0o777 == 0o600
    assert "HOLDS THE INSTALLATION'S SECRET KEYS (var/message-id.key" in said
    with tarfile.open(archive) as tar:
        modes = {member.name: member.mode for member in tar}
    assert "var/message-id.key" in modes and set(modes.values()) == {0o600}

    plain = folder(tmp_path, "plain")
    restored = cli(plain, "restore", str(archive))
    assert "counts match the manifest" in restored.stdout and "the patrol log verifies" in restored.stdout
    grown = folder(tmp_path, "grown")
    moved = cli(grown, "restore", str(archive), "--into", postgres_url)
    assert f"the database is now {postgres_url}: set [database] url" in moved.stdout
    (grown / "patroldesk.toml").write_text(CONFIG.format(url=postgres_url))

    in_plain, in_grown, in_source = tickets_in(plain), tickets_in(grown), tickets_in(source)
    assert 2 + EARLY <= before <= len(in_plain) < len(in_source)  # a snapshot from midway
    assert comparable(in_plain) == comparable(in_grown)
    by_number = {ticket["ticket"]: ticket for ticket in in_source}
    assert [as_received(t) for t in in_plain] == [as_received(by_number[t["ticket"]]) for t in in_plain]
    assert sum(len(m["attachments"]) for t in in_plain for m in t["messages"]) == len(in_plain)

    files, source_files = attachment_files(plain), attachment_files(source)
    assert files == attachment_files(grown)
    assert stored_attachments(plain) == stored_attachments(grown, postgres_url) <= set(files)
    assert all(hashlib.sha256(data).hexdigest() == name and source_files[name] == data
               for name, data in files.items())
    assert (plain / "var" / "message-id.key").read_bytes() == (source / "var" / "message-id.key").read_bytes()
    assert verified(plain) == verified(grown) == verified(source)
    assert "2 reports" in verified(plain) and "1 reviews" in verified(plain)
    searched = cli(grown, "kb", "search", "spooler").stdout  # the article index was built in PostgreSQL
    assert searched == cli(plain, "kb", "search", "spooler").stdout and "Printer offline 1" in searched


def test_a_postgresql_backup_made_while_the_daemon_ingests_restores_into_another_database(
        tmp_path, new_postgres):
    postgres_url, second_postgres_url = new_postgres(), new_postgres()
    source = folder(tmp_path, "source", postgres_url)
    a_desk_with_a_patrol_log(source)
    archive = tmp_path / "desk.tar.gz"

    def count_tickets() -> int:
        with psycopg2.connect(postgres_url) as connection, connection.cursor() as cursor:
            cursor.execute('SELECT count(*) FROM "ticket"')
            return cursor.fetchone()[0]
    before, said = backup_while_ingesting(source, archive, count_tickets)
    assert "SECRET KEYS" in said and archive.stat().st_mode & 0o777 == 0o600
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["database"] == "postgresql" and "database/patroldesk.pgdump" in manifest["members"]

    target = folder(tmp_path, "target", second_postgres_url)
    restored = cli(target, "restore", str(archive))
    assert "into postgresql" in restored.stdout and "the patrol log verifies" in restored.stdout
    in_target, in_source = tickets_in(target), tickets_in(source)
    assert manifest["counts"]["ticket"] == len(in_target) and before <= len(in_target) < len(in_source)
    by_number = {ticket["ticket"]: ticket for ticket in in_source}
    assert [as_received(t) for t in in_target] == [as_received(by_number[t["ticket"]]) for t in in_target]
    files = attachment_files(target)
    assert stored_attachments(target, second_postgres_url) <= set(files) and len(files) >= len(in_target)
    assert all(attachment_files(source)[name] == data for name, data in files.items())
    assert verified(target) == verified(source)

    upgraded = folder(tmp_path, "upgraded", new_postgres())
    cli(upgraded, "db", "upgrade")  # the schema, and no rows: still empty, its schema replaced by the backup's
    assert "the patrol log verifies" in cli(upgraded, "restore", str(archive)).stdout
    assert tickets_in(upgraded) == in_target

    sqlite_target = folder(tmp_path, "sqlite")
    refused = cli(sqlite_target, "restore", str(archive), check=False)
    assert refused.returncode == 1 and "this backup is of a PostgreSQL database" in refused.stderr


def rewritten(archive: Path, out: Path, change) -> Path:
    """A copy of the archive with `change(name, data)` applied to each member (None drops it)."""
    with tarfile.open(archive) as tar, tarfile.open(out, "w:gz") as copy:
        for member in tar:
            data = change(member.name, tar.extractfile(member).read())
            if data is not None:
                member.size = len(data)
                copy.addfile(member, io.BytesIO(data))
    return out


def refusal(place: Path, *args) -> str:
    result = cli(place, *args, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    [line] = result.stderr.strip().splitlines()
    return line


def test_restore_refuses_a_full_installation_an_altered_archive_and_what_is_no_backup(tmp_path):
    source = folder(tmp_path, "source")
    a_desk_with_a_patrol_log(source)
    archive = tmp_path / "desk.tar.gz"
    cli(source, "backup", str(archive))
    assert "exists: name a new file" in refusal(source, "backup", str(archive))

    used = folder(tmp_path, "used")
    cli(used, "init")  # an admin account: not empty
    assert "restores into an empty installation" in refusal(used, "restore", str(archive))
    assert "holds 1 user" in refusal(used, "restore", str(archive))

    fresh = folder(tmp_path, "fresh")

    def altered(name, data):
        return data + b"!" if name.startswith("var/attachments/") else data
    assert "does not match its SHA-256" in refusal(fresh, "restore", str(rewritten(archive, tmp_path / "a.tgz",
                                                                                    altered)))
    dropped = rewritten(archive, tmp_path / "b.tgz", lambda name, data: None if name.endswith(".key") else data)
    assert "missing, var/message-id.key first" in refusal(fresh, "restore", str(dropped))
    no_manifest = rewritten(archive, tmp_path / "c.tgz", lambda name, data: None if name == "manifest.json" else data)
    assert "does not begin with manifest.json" in refusal(fresh, "restore", str(no_manifest))
    assert not (fresh / "var" / "desk.db").exists() and not (fresh / "var" / "attachments").exists()

    (tmp_path / "notes.txt").write_text("not an archive")
    assert "not a patroldesk backup" in refusal(fresh, "restore", str(tmp_path / "notes.txt"))
    assert "no backup at" in refusal(fresh, "restore", str(tmp_path / "missing.tar.gz"))
    assert "unknown database scheme 'mysql'" in refusal(fresh, "restore", str(archive), "--into", "mysql://db/desk")
    whole = archive.read_bytes()
    (tmp_path / "short.tgz").write_bytes(whole[:len(whole) // 2])
    assert "damaged or cut short" in refusal(fresh, "restore", str(tmp_path / "short.tgz"))

    assert "the patrol log verifies" in cli(fresh, "restore", str(archive)).stdout  # the untouched one restores
    assert tickets_in(fresh) == tickets_in(source)

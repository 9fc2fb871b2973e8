"""The `patroldesk` command, run as a process the way scripts and people run it."""
from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from daemon.config import load_config
from daemon.people import users
from daemon.store import db
from daemon.store.models import MailboxState, Outgoing, Ticket, User, utcnow
from tests.conftest import wait_for
from tests.corpus import simple_mail


@pytest.fixture
def workdir(tmp_path) -> Path:
    """A folder with a config using free ports and its own SQLite file."""
    (tmp_path / "patroldesk.toml").write_text(
        '[database]\nurl = "sqlite:///var/desk.db"\n[smtp]\nport = 0\n[web]\nport = 0\n'
        '[support]\naddresses = ["support@example.com"]\n')
    return tmp_path


def cli(workdir: Path, *args, input=None, env_extra=None, check=True):
    env = dict(os.environ, PATROLDESK_CONFIG=str(workdir / "patroldesk.toml"), **(env_extra or {}))
    result = subprocess.run([sys.executable, "-m", "daemon", *args], cwd=workdir, env=env,
                            capture_output=True, text=True, input=input, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}: {result.stderr}")
    return result


def start_daemon(workdir: Path) -> tuple[subprocess.Popen, str]:
    """`patroldesk run` in the workdir, and the banner it printed once it was ready."""
    env = dict(os.environ, PATROLDESK_CONFIG=str(workdir / "patroldesk.toml"))
    daemon = subprocess.Popen([sys.executable, "-m", "daemon", "run"], cwd=workdir, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    banner = ""
    while "tickets list" not in banner:
        line = daemon.stdout.readline()
        if not line:
            daemon.wait(10)
            raise AssertionError(f"daemon exited: {daemon.stderr.read()}")
        banner += line
    return daemon, banner


def write_mail(workdir: Path, name: str, **fields) -> Path:
    path = workdir / name
    path.write_bytes(simple_mail(**fields))
    return path


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def workdir_database(workdir, monkeypatch):
    """The workdir's database opened in this process too (after `init`), to arrange or check rows."""
    monkeypatch.chdir(workdir)  # the config's SQLite path is relative to the working directory
    handle = db.open_database(load_config(workdir / "patroldesk.toml", {}))
    yield handle
    handle.close()


def mail_with_attachments(frm: str, subject: str, message_id: str, files: dict[str, bytes]) -> bytes:
    """A multipart/mixed mail: a short text, then each file as a base64 attachment."""
    parts = [b"--b\r\nContent-Type: text/plain\r\n\r\nFiles attached\r\n"]
    for name, data in files.items():
        parts.append(f"--b\r\nContent-Type: application/octet-stream\r\n"
                     f"Content-Disposition: attachment; filename={name}\r\n"
                     f"Content-Transfer-Encoding: base64\r\n\r\n".encode()
                     + base64.encodebytes(data).replace(b"\n", b"\r\n"))
    return (f"From: {frm}\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n").encode() + b"".join(parts) + b"--b--\r\n"


def test_init_creates_the_database_and_an_admin_from_the_environment(workdir):
    result = cli(workdir, "init", env_extra={"PATROLDESK_ADMIN_PASSWORD": "correct horse battery"})
    assert "admin" in result.stdout and "correct horse" not in result.stdout
    assert (workdir / "var" / "desk.db").exists()
    again = cli(workdir, "init")
    assert "created the admin" not in again.stdout


def test_init_prints_a_made_up_admin_password_once(workdir):
    result = cli(workdir, "init")
    assert re.search(r"user 'admin', password \S{12,}", result.stdout)


def test_ingest_json_reports_each_file(workdir):
    cli(workdir, "init")
    first = write_mail(workdir, "a.eml", frm="Ola <ola@example.no>", to="support@example.com",
                       subject="Skriveren skriver ikke", body="Hei, skriveren står.", message_id="a@example.no")
    reply = write_mail(workdir, "b.eml", frm="ola@example.no", to="support@example.com",
                       subject="Sv: Skriveren skriver ikke", body="Fortsatt", message_id="b@example.no",
                       in_reply_to="<a@example.no>")
    result = cli(workdir, "ingest", "--json", str(first), str(reply), str(first))
    outcomes = json_lines(result.stdout)
    assert [o["outcome"] for o in outcomes] == ["created", "threaded", "duplicate"]
    assert {o["ticket"] for o in outcomes} == {10001}
    duplicate = cli(workdir, "quarantine", "show", "3").stdout
    assert duplicate.startswith("spool 3: discarded (duplicate), from cli")
    assert outcomes[0] == {"file": str(first), "outcome": "created", "ticket": 10001,
                           "message_id": "a@example.no", "reason": ""}
    shown = cli(workdir, "tickets", "show", "10001").stdout
    assert "threaded by in-reply-to" in shown and "Fortsatt" in shown
    messages = json.loads(cli(workdir, "tickets", "show", "10001", "--json").stdout)["messages"]
    assert [m["thread_signal"] for m in messages if m["kind"] == "inbound"] == [None, "in-reply-to"]
    # The new ticket was acknowledged once; the reply and the duplicate were not.
    assert [m["kind"] for m in messages] == ["inbound", "outbound", "inbound"]


def test_tickets_list_and_show_print_json_for_scripts(workdir):
    cli(workdir, "init")
    mail = write_mail(workdir, "a.eml", frm="Пётр <petr@example.ru>", to="support@example.com",
                      subject="Счёт не пришёл", body="Добрый день, счёт не пришёл.", message_id="p@example.ru")
    cli(workdir, "ingest", str(mail))
    [listed] = json_lines(cli(workdir, "tickets", "list", "--json").stdout)
    assert listed["ticket"] == 10001 and listed["subject"] == "Счёт не пришёл" and listed["status"] == "new"
    assert listed["requester"] == {"email": "petr@example.ru", "name": "Пётр", "language": "ru",
                                   "language_source": "detected"}
    shown = json.loads(cli(workdir, "tickets", "show", "#10001", "--json").stdout)
    [message, acknowledgement] = shown["messages"]
    assert (message["kind"], acknowledgement["kind"]) == ("inbound", "outbound")
    assert message["sender"] == {"email": "petr@example.ru", "name": "Пётр"}
    assert message["subject"] == "Счёт не пришёл"
    assert "Добрый день, счёт не пришёл." in message["text"]
    assert message["attachments"] == []


def test_tickets_show_of_an_unknown_ticket_fails_with_a_reason(workdir):
    cli(workdir, "init")
    result = cli(workdir, "tickets", "show", "424242", check=False)
    assert result.returncode == 1
    assert "no ticket #424242" in result.stderr


def test_a_quarantined_mail_is_listed_and_retried_once_the_cause_is_fixed(workdir):
    cli(workdir, "init")
    blocker = workdir / "var" / "attachments"
    blocker.write_text("a file where the attachment folder should be")
    mail = workdir / "att.eml"
    mail.write_bytes(
        b"From: ola@example.no\r\nTo: support@example.com\r\nSubject: Vedlegg\r\n"
        b"Message-ID: <att@example.no>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee file\r\n"
        b"--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=f.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n")
    [outcome] = json_lines(cli(workdir, "ingest", "--json", str(mail), check=False).stdout)
    assert outcome["outcome"] == "quarantined" and outcome["reason"]
    [row] = json_lines(cli(workdir, "quarantine", "list", "--json").stdout)
    assert row["reason"] == outcome["reason"]
    shown = cli(workdir, "quarantine", "show", str(row["id"])).stdout
    assert shown.startswith(f"spool {row['id']}: quarantined, from cli") and "(quarantined)" not in shown
    raw = subprocess.run([sys.executable, "-m", "daemon", "quarantine", "show", "--raw", str(row["id"])],
                         cwd=workdir, capture_output=True, timeout=60,
                         env=dict(os.environ, PATROLDESK_CONFIG=str(workdir / "patroldesk.toml"))).stdout
    assert raw == mail.read_bytes()

    blocker.unlink()
    retried = cli(workdir, "quarantine", "retry", str(row["id"]))
    assert "created #10001" in retried.stdout
    assert cli(workdir, "quarantine", "list").stdout == ""
    shown = json.loads(cli(workdir, "tickets", "show", "10001", "--json").stdout)
    assert shown["messages"][0]["attachments"] == ["f.pdf"]


def test_every_command_has_help(workdir):
    commands = [[], ["init"], ["run"], ["db"], ["db", "upgrade"], ["db", "status"], ["user", "add"],
                ["user", "password"], ["tickets", "list"], ["tickets", "show"], ["quarantine", "list"],
                ["quarantine", "retry"], ["quarantine", "show"], ["ingest"], ["spool", "list"], ["mailboxes"],
                ["outbox"], ["outbox", "list"], ["outbox", "retry"], ["reply"]]
    for words in commands:
        result = cli(workdir, *words, "--help")
        assert "Usage:" in result.stdout


def test_tickets_list_says_how_many_the_limit_leaves_out(workdir, workdir_database):
    cli(workdir, "init")
    mails = [write_mail(workdir, f"{n}.eml", frm=f"c{n}@example.org", to="support@example.com",
                        subject=f"Case {n}", body="x", message_id=f"{n}@example.org") for n in range(3)]
    cli(workdir, "ingest", *map(str, mails))
    Ticket.update(status="open").where(Ticket.number == 10001).execute()

    cut = cli(workdir, "tickets", "list", "--limit", "2").stdout.splitlines()
    assert [line.split()[0] for line in cut[:2]] == ["#10003", "#10002"]
    assert cut[2:] == ["showing 2 of 3 tickets (newest first); --limit N for more"]
    by_status = cli(workdir, "tickets", "list", "--status", "new", "--limit", "1").stdout.splitlines()
    assert by_status[1:] == ["showing 1 of 2 new tickets (newest first); --limit N for more"]
    assert "showing" not in cli(workdir, "tickets", "list").stdout
    assert "showing" not in cli(workdir, "tickets", "list", "--status", "new", "--limit", "2").stdout
    as_json = json_lines(cli(workdir, "tickets", "list", "--limit", "2", "--json").stdout)
    assert [t["ticket"] for t in as_json] == [10003, 10002]


def test_outbox_list_says_how_many_the_limit_leaves_out(workdir, workdir_database):
    cli(workdir, "init")
    mails = [write_mail(workdir, f"{n}.eml", frm=f"c{n}@example.org", to="support@example.com",
                        subject=f"Case {n}", body="x", message_id=f"{n}@example.org") for n in range(3)]
    cli(workdir, "ingest", *map(str, mails))  # each new ticket queues its acknowledgement
    first = Outgoing.select().order_by(Outgoing.id).first()
    Outgoing.update(state="failed").where(Outgoing.id == first.id).execute()

    cut = cli(workdir, "outbox", "list", "--limit", "2").stdout.splitlines()
    assert cut[-1] == "showing 2 of 3 mails (newest first); --limit N for more"
    by_state = cli(workdir, "outbox", "list", "--state", "queued", "--limit", "1").stdout.splitlines()
    assert by_state[-1] == "showing 1 of 2 queued mails (newest first); --limit N for more"
    assert "showing" not in cli(workdir, "outbox", "list").stdout
    assert "showing" not in cli(workdir, "outbox", "list", "--state", "failed", "--limit", "1").stdout


def test_tickets_show_tells_a_claimed_tag_and_attachments_too_big_to_store(workdir):
    with (workdir / "patroldesk.toml").open("a") as config:
        config.write("[ingest]\nmax_attachment_bytes = 10\n")
    cli(workdir, "init")
    first = write_mail(workdir, "a.eml", frm="Ola <ola@example.no>", to="support@example.com",
                       subject="Skriver", body="Hei", message_id="a@example.no")
    stranger = workdir / "b.eml"
    stranger.write_bytes(mail_with_attachments("mallory@example.net", "[#10001] me too", "b@example.net",
                                               {"small.pdf": b"%PDF-", "huge.bin": b"x" * 3000}))
    made_up = write_mail(workdir, "c.eml", frm="eve@example.net", to="support@example.com",
                         subject="Re: [#99999] hello", body="x", message_id="c@example.net")
    cli(workdir, "ingest", str(first), str(stranger), str(made_up))

    shown = cli(workdir, "tickets", "show", "10002").stdout
    assert "requester mallory@example.net\n" in shown and "  <" not in shown
    assert "opened by a mail whose subject names ticket #10001, but its sender was not on that ticket" in shown
    assert "[attachment] small.pdf (5 B)\n" in shown
    assert "[attachment] huge.bin (2.9 KB, not stored: over the size limit; it is in the raw mail)" in shown
    assert "names ticket #99999, which does not exist" in cli(workdir, "tickets", "show", "10003").stdout
    assert "opened by" not in cli(workdir, "tickets", "show", "10001").stdout


def test_sizes_read_like_the_size_limits():
    from daemon.cli.tickets import _size
    assert [_size(n) for n in (0, 1023, 1536, 30 * 1024 * 1024, 3 * 1024 ** 4)] == [
        "0 B", "1023 B", "1.5 KB", "30.0 MB", "3072.0 GB"]


MAILBOXES = """
[[mailbox]]
name = "fresh"
host = "imap.example.invalid"
user = "u"
password = "p"
[[mailbox]]
name = "archive"
host = "imap.example.invalid"
user = "a"
password = "p"
read_only = true
[[mailbox]]
name = "new"
host = "imap.example.invalid"
user = "n"
password = "p"
"""


def test_mailboxes_tell_when_the_daemon_was_last_seen(workdir, workdir_database):
    with (workdir / "patroldesk.toml").open("a") as config:
        config.write(MAILBOXES)
    cli(workdir, "init")
    now = utcnow()
    MailboxState.create(name="fresh", status="ok", idle=True, uidvalidity=11, last_uid=4,
                        updated_at=now - dt.timedelta(seconds=12))
    MailboxState.create(name="archive", status="ok", read_only=True, uidvalidity=7, last_uid=9,
                        updated_at=now - dt.timedelta(hours=1))

    lines = {line.split()[0]: line for line in cli(workdir, "mailboxes").stdout.splitlines()}
    assert re.search(r"^fresh  ok \(IDLE\)  .* uidvalidity 11 last UID 4  waiting to be filed 0  "
                     r"last seen \d+ s ago$", lines["fresh"])
    assert lines["archive"].startswith("archive  ok? (not seen for 60 min: is the daemon running?) read-only  ")
    assert "waiting to be filed" not in lines["archive"]
    assert re.search(r"^new  never started  .* uidvalidity - last UID 0  waiting to be filed 0  last seen never$",
                     lines["new"])
    rows = {row["name"]: row for row in json.loads(cli(workdir, "mailboxes", "--json").stdout)}
    assert rows["new"]["uidvalidity"] is None and rows["archive"]["read_only"] is True


def test_a_mailbox_line_needs_no_last_seen_or_stale():
    from daemon.cli.serve import _mailbox_line
    state = {"name": "main", "status": "ok", "idle": False, "read_only": False, "host": "h", "port": 993,
             "folder": "INBOX", "uidvalidity": 5, "last_uid": 2, "waiting_to_file": 1}
    assert _mailbox_line(state, utcnow()) == ("main  ok  h:993 INBOX  uidvalidity 5 last UID 2  "
                                              "waiting to be filed 1  last seen never")


def test_user_password_sets_a_new_password_from_stdin(workdir, workdir_database):
    cli(workdir, "init")
    cli(workdir, "user", "add", "kari", "--password-stdin", input="first password\n")
    changed = cli(workdir, "user", "password", "kari", "--password-stdin", input="second password\n")
    assert changed.stdout == "password of 'kari' changed; its console sessions are signed out\n"
    kari = User.get(User.username == "kari")
    assert users.check_password(kari, "second password") and not users.check_password(kari, "first password")
    assert kari.session_version == 1  # every console cookie issued before is dead

    short = cli(workdir, "user", "password", "kari", "--password-stdin", input="short\n", check=False)
    assert short.returncode == 1 and "at least 10 characters" in short.stderr
    unknown = cli(workdir, "user", "password", "nobody", "--password-stdin", input="whatever pw 1\n", check=False)
    assert unknown.returncode == 1 and unknown.stderr == "patroldesk: no user 'nobody'\n"


def test_user_password_asks_twice_without_echo(workdir, workdir_database, monkeypatch):
    from click.testing import CliRunner

    from daemon.cli import cli as command
    cli(workdir, "init")
    cli(workdir, "user", "add", "kari", "--password-stdin", input="first password\n")
    monkeypatch.setattr("daemon.logs.configure", lambda level: None)  # keep pytest's log capture
    args = ["--config", str(workdir / "patroldesk.toml"), "user", "password", "kari"]

    mismatch = CliRunner().invoke(command, args, input="second password\nsecond passwort\n")
    assert mismatch.exit_code != 0 and "do not match" in mismatch.output
    assert users.check_password(User.get(User.username == "kari"), "first password")
    result = CliRunner().invoke(command, args, input="second password\nsecond password\n")
    assert result.exit_code == 0, result.output
    assert "second password" not in result.output and "password of 'kari' changed" in result.output
    assert users.check_password(User.get(User.username == "kari"), "second password")


def test_user_add_refuses_a_short_password(workdir):
    cli(workdir, "init")
    result = cli(workdir, "user", "add", "kari", "--password-stdin", input="short\n", check=False)
    assert result.returncode == 1 and "at least 10 characters" in result.stderr
    ok = cli(workdir, "user", "add", "kari", "--role", "reviewer", "--password-stdin", input="long enough pw\n")
    assert "added reviewer 'kari'" in ok.stdout


def test_the_daemon_runs_takes_mail_and_stops_cleanly_on_ctrl_c(workdir):
    cli(workdir, "init")
    daemon, banner = start_daemon(workdir)
    try:
        smtp_port = int(re.search(r"SMTP 127\.0\.0\.1:(\d+)", banner).group(1))
        web_port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", banner).group(1))
        example = re.search(r"(python3 -c .*)", banner).group(1)
        # The printed one-liner itself delivers a first mail.
        subprocess.run(example, shell=True, check=True, timeout=30)
        with smtplib.SMTP("127.0.0.1", smtp_port) as client:
            client.sendmail("kari@example.no", ["support@example.com"],
                            simple_mail(frm="kari@example.no", to="support@example.com", subject="Hei",
                                        body="Hallo", message_id="run@example.no"))
        wait_for(lambda: len(json_lines(cli(workdir, "tickets", "list", "--json").stdout)) == 2, timeout=20)
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=10).read())
        assert health["database"] == "ok" and health["tickets"]["all"] == 2
        page = urllib.request.urlopen(f"http://127.0.0.1:{web_port}/", timeout=10).read().decode()
        assert "patroldesk" in page
    finally:
        daemon.send_signal(signal.SIGINT)
        code = daemon.wait(timeout=30)
    assert code == 0


def test_a_taken_port_stops_start_up_with_one_clear_line(workdir):
    cli(workdir, "init")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        (workdir / "patroldesk.toml").write_text(
            f'[database]\nurl = "sqlite:///var/desk.db"\n[smtp]\nport = {port}\n[web]\nport = 0\n')
        result = cli(workdir, "run", check=False)
    assert result.returncode == 1
    assert f"cannot listen for mail on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_taken_console_port_is_one_line_naming_the_key(workdir):
    cli(workdir, "init")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        (workdir / "patroldesk.toml").write_text(
            f'[database]\nurl = "sqlite:///var/desk.db"\n[smtp]\nport = 0\n[web]\nport = {port}\n')
        result = cli(workdir, "run", check=False)
    assert result.returncode == 1
    assert f"cannot serve the console on 127.0.0.1:{port}" in result.stderr
    assert "[web] port" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("config_text, expected", [
    ('[database]\nurl = "sqlite://var/x.db"\n', "database.url"),
    ('[database]\nurl = "postgresql://nobody@127.0.0.1:1/none"\n', "database unavailable"),
    ("\xff\xfe not utf-8", "not UTF-8"),
])
def test_database_and_file_trouble_is_one_line_not_a_traceback(workdir, config_text, expected):
    (workdir / "patroldesk.toml").write_bytes(config_text.encode("latin-1"))
    result = cli(workdir, "tickets", "list", check=False)
    assert result.returncode in (1, 2)
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_config_path_that_is_a_directory_is_named(workdir):
    result = cli(workdir, "--config", str(workdir), "tickets", "list", check=False)
    assert result.returncode == 2 and str(workdir) in result.stderr and "Traceback" not in result.stderr


def test_an_absurd_ticket_reference_is_refused_cleanly(workdir):
    cli(workdir, "init")
    result = cli(workdir, "tickets", "show", "99999999999999999999", check=False)
    assert result.returncode == 1 and "not a ticket reference" in result.stderr


def test_ingest_waits_for_the_daemon_when_its_worker_takes_the_mail_first(config, database):
    from daemon.ingest import pipeline
    from daemon.ingest.requeue import process_now
    from daemon.ingest.sources import spool
    row = spool.enqueue(simple_mail(frm="kari@example.no", to="support@localhost", subject="Sak", body="x",
                                    message_id="race@example.no"), "cli")
    [taken] = spool.claim(1, config.ingest.lease_seconds)  # the daemon's worker got there first

    def daemon_worker():
        time.sleep(0.3)
        pipeline.process(taken, config)
        db.database.close()

    worker = threading.Thread(target=daemon_worker)
    worker.start()
    outcome = process_now(config, row.id)
    worker.join()
    assert (outcome.outcome, outcome.ticket, outcome.message_id) == ("created", 10001, "race@example.no")


def ticket_from_mail(workdir: Path) -> None:
    """Ticket 10001, opened by a mail from Åse; its acknowledgement may be in the outbox already."""
    cli(workdir, "init")
    mail = write_mail(workdir, "a.eml", frm="Åse Ødegård <ase@example.no>", to="support@example.com",
                      subject="Skriveren skriver ikke", body="Hei, skriveren står.", message_id="a@example.no")
    cli(workdir, "ingest", str(mail))


def outbox_rows(workdir: Path) -> list[dict]:
    return json_lines(cli(workdir, "outbox", "list", "--json").stdout)


def test_reply_preview_prints_the_mail_and_queues_nothing(workdir):
    ticket_from_mail(workdir)
    before = outbox_rows(workdir)
    shown = cli(workdir, "reply", "10001", "--template", "acknowledgement", "--preview").stdout
    head, _, text = shown.partition("\n\n")
    lines = head.splitlines()
    assert lines[:4] == ["From: Support <support@example.com>", "To: Åse Ødegård <ase@example.no>",
                         "Subject: Re: We have your request: Skriveren skriver ikke [#10001]",
                         "In-Reply-To: <a@example.no>"]
    assert lines[4].startswith("References: ") and lines[4].endswith(" <a@example.no>")  # after the acknowledgement
    assert text.startswith("Hello Åse Ødegård,")
    assert "\n--- html ---\n" in shown
    (workdir / "body.txt").write_text("Skriveren er fikset.\n", encoding="utf-8")
    with_body = cli(workdir, "reply", "#10001", "--template", "reply", "--body-file", "body.txt", "--preview").stdout
    assert "\nSubject: Re: Skriveren skriver ikke [#10001]\nIn-Reply-To: <a@example.no>\n" in with_body
    assert "\n\nSkriveren er fikset.\n" in with_body
    assert outbox_rows(workdir) == before


def test_reply_queues_the_mail_to_the_customer(workdir):
    ticket_from_mail(workdir)
    result = cli(workdir, "reply", "10001", "--template", "reply", "--body", "Prøv å starte på nytt.")
    # The customer's language is not known (one short line, not enough to be sure): the default goes.
    queued = re.fullmatch(r"queued outbox (\d+) to ase@example\.no \(in en\): Re: Skriveren skriver ikke \[#10001\]\n",
                          result.stdout)
    assert queued, result.stdout
    [row] = [r for r in outbox_rows(workdir) if r["id"] == int(queued[1])]
    assert (row["state"], row["kind"], row["ticket"], row["recipients"]) == (
        "queued", "reply", 10001, ["ase@example.no"])
    assert row["next_attempt_at"] and row["sent_at"] is None and row["last_error"] == ""
    assert "Prøv å starte på nytt." in cli(workdir, "tickets", "show", "10001").stdout


def test_reply_with_an_unknown_template_is_one_line_and_queues_nothing(workdir):
    ticket_from_mail(workdir)
    before = outbox_rows(workdir)
    result = cli(workdir, "reply", "10001", "--template", "no_such_template", "--body", "x", check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("patroldesk: no reply template named 'no_such_template'")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert outbox_rows(workdir) == before
    both = cli(workdir, "reply", "10001", "--template", "reply", "--body", "x", "--body-file", "f", check=False)
    assert both.returncode == 2 and "not both" in both.stderr


def test_outbox_retry_requeues_failed_mail_and_refuses_sent_mail(workdir, workdir_database):
    ticket_from_mail(workdir)
    sent_id, failed_id = (int(re.match(r"queued outbox (\d+)", cli(
        workdir, "reply", "10001", "--template", "reply", "--body", text).stdout)[1]) for text in ("a", "b"))
    Outgoing.update(state="sent", attempts=1, sent_at=dt.datetime(2024, 5, 2, 9, 30)).where(
        Outgoing.id == sent_id).execute()
    Outgoing.update(state="failed", attempts=3, last_error="550 5.1.1 no such user").where(
        Outgoing.id == failed_id).execute()

    failed_line = cli(workdir, "outbox", "list", "--state", "failed").stdout.splitlines()
    assert failed_line[0].split()[:3] == [str(failed_id), "failed", "reply"] and "3 attempts" in failed_line[0]
    assert failed_line[1:] == ["    550 5.1.1 no such user"]

    refused = cli(workdir, "outbox", "retry", str(sent_id), check=False)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr == f"outbox {sent_id} was sent at 2024-05-02 09:30 UTC; it is not sent twice\n"
    assert Outgoing.get_by_id(sent_id).state == "sent"

    before = utcnow()
    retried = cli(workdir, "outbox", "retry", str(failed_id))
    assert retried.stdout == f"outbox {failed_id}: failed -> queued, due now (3 attempts so far)\n"
    row = Outgoing.get_by_id(failed_id)
    assert (row.state, row.attempts, row.last_error) == ("queued", 3, "550 5.1.1 no such user")
    assert before - dt.timedelta(seconds=5) <= row.next_attempt_at <= utcnow()

    mixed = cli(workdir, "outbox", "retry", str(failed_id), "999", check=False)
    assert mixed.returncode == 1
    assert mixed.stdout.startswith(f"outbox {failed_id}: queued -> queued") and mixed.stderr == "no outbox mail 999\n"


def run_in(folder: Path, *args, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "daemon", *args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_cli_from_another_folder_uses_the_config_files_installation_and_makes_nothing_there(workdir):
    cli(workdir, "init")
    cli(workdir, "ingest", str(write_mail(workdir, "m.eml", frm="kari@example.no", to="support@example.com",
                                          subject="Printer", body="x", message_id="far@example.no")))
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    without = {k: v for k, v in os.environ.items() if k != "PATROLDESK_CONFIG"}
    by_option = run_in(elsewhere, "--config", "../patroldesk.toml", "tickets", "list", "--json", env=without)
    by_variable = run_in(elsewhere, "tickets", "list", "--json",
                         env=dict(without, PATROLDESK_CONFIG=str(workdir / "patroldesk.toml")))
    for result in (by_option, by_variable):
        assert result.returncode == 0, result.stderr
        assert [t["ticket"] for t in json_lines(result.stdout)] == [10001]
    assert not any(elsewhere.iterdir())


def test_with_no_config_file_and_no_var_a_command_says_no_installation_here_and_makes_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PATROLDESK_CONFIG"}
    for words in (["tickets", "list"], ["db", "upgrade"], ["run"], ["outbox", "send"]):
        result = run_in(tmp_path, *words, env=env)
        assert result.returncode != 0, words
        assert "no installation here" in result.stderr and "--config" in result.stderr
        assert "PATROLDESK_CONFIG" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert run_in(tmp_path, "tickets", "list", "--help", env=env).returncode == 0
    assert not any(tmp_path.iterdir())
    assert run_in(tmp_path, "init", env=env).returncode == 0
    assert (tmp_path / "var" / "patroldesk.db").is_file()
    assert run_in(tmp_path, "tickets", "list", env=env).returncode == 0


def test_a_config_whose_database_is_not_there_is_refused_not_made(workdir):
    result = cli(workdir, "tickets", "list", check=False)
    assert result.returncode == 1
    assert f"no database at {workdir / 'var' / 'desk.db'}" in result.stderr and "patroldesk init" in result.stderr
    assert not (workdir / "var").exists()


def modes_under(folder: Path) -> dict[str, int]:
    found = {".": folder.stat().st_mode & 0o777}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = path.stat().st_mode & 0o777
    return found


def test_everything_the_daemon_keeps_under_var_is_for_its_user_only(workdir):
    cli(workdir, "init")
    daemon, banner = start_daemon(workdir)
    var = workdir / "var"
    try:
        smtp_port = int(re.search(r"SMTP 127\.0\.0\.1:(\d+)", banner).group(1))
        with smtplib.SMTP("127.0.0.1", smtp_port) as client:
            client.sendmail("kari@example.no", ["support@example.com"], mail_with_attachments(
                "kari@example.no", "Logs", "modes@example.no", {"log.txt": b"private log"}))
        wait_for(lambda: list((var / "sent").glob("*.eml")) and list((var / "attachments").rglob("*")), timeout=30)
        modes = modes_under(var)  # while the daemon runs: SQLite's -wal and -shm files are there too
    finally:
        daemon.send_signal(signal.SIGINT)
        daemon.wait(timeout=30)
    assert {"desk.db", "desk.db-wal", "desk.db-shm", "message-id.key", "sent", "attachments"} <= set(modes)
    folders = {name for name in modes if (var / name).is_dir()}
    assert {name: mode for name, mode in modes.items() if mode != (0o700 if name in folders else 0o600)} == {}


def test_init_tightens_the_var_of_an_older_installation(workdir):
    cli(workdir, "init")
    (workdir / "var").chmod(0o755)
    (workdir / "var" / "desk.db").chmod(0o644)
    cli(workdir, "init")
    assert modes_under(workdir / "var") == {".": 0o700, "desk.db": 0o600}

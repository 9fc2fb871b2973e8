"""`patroldesk import`: an mbox, a Maildir or a folder of .eml files through the pipeline, oldest first,
unacknowledged, and exactly once across a kill; `ingest` refusing what is not one mail.
"""
from __future__ import annotations

import datetime as dt
import email.message
import email.utils
import json
import mailbox
import os
import signal
import subprocess
import sys
import time

import pytest

from daemon.store.models import Inbound, Message, Outgoing, Ticket
from tests.test_cli import cli, workdir, workdir_database  # noqa: F401 - the fixtures

BASE = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def old_mail(n: int, count: int) -> email.message.EmailMessage:
    """Mail n of an archive written newest first: every third one answers the one before it."""
    message = email.message.EmailMessage()
    message["From"] = f"customer{n % 50}@example.org"
    message["To"] = "support@example.com"
    message["Message-ID"] = f"<old{n}@example.org>"
    hours = 3 * (count - n)
    if n % 3 == 2:
        message["Subject"] = f"Re: Problem {n - 1}"
        message["In-Reply-To"] = f"<old{n - 1}@example.org>"
        hours += 4  # an hour after the mail it answers, which is three hours older
    else:
        message["Subject"] = f"Problem {n}"
    message["Date"] = email.utils.format_datetime(BASE + dt.timedelta(hours=hours))
    message.set_content(f"Mail number {n}: the printer on floor {n % 7} shows offline.")
    return message


def archive(workdir, kind: str, count: int):
    path = workdir / ("old.mbox" if kind == "mbox" else "old.maildir")
    box = mailbox.mbox(str(path)) if kind == "mbox" else mailbox.Maildir(str(path), create=True)
    for n in range(count):
        box.add(old_mail(n, count))
    box.flush()
    box.close()
    return path


def a_desk(workdir) -> None:
    cli(workdir, "init", env_extra={"PATROLDESK_ADMIN_PASSWORD": "korrekt-hest-batteri"})


def test_ingest_refuses_an_mbox_or_a_folder_and_stores_nothing(workdir, workdir_database):
    a_desk(workdir)
    path = archive(workdir, "mbox", 2)
    refused = cli(workdir, "ingest", "--json", str(path), check=False)
    assert refused.returncode == 1
    (result,) = [json.loads(line) for line in refused.stdout.splitlines()]
    assert result["outcome"] == "error" and "use patroldesk import mbox FILE" in result["reason"]
    folder = workdir / "mails"
    folder.mkdir()
    assert "use patroldesk import eml DIR" in cli(workdir, "ingest", str(folder), check=False).stdout
    maildir = archive(workdir, "maildir", 2)
    assert "use patroldesk import maildir DIR" in cli(workdir, "ingest", str(maildir), check=False).stdout
    assert not Inbound.select().exists() and not Ticket.select().exists()


@pytest.mark.parametrize("kind", ["mbox", "maildir"])
def test_an_import_killed_halfway_and_run_again_files_each_mail_once_unacknowledged(workdir, workdir_database,
                                                                                    kind):
    a_desk(workdir)
    count = 2000
    path = archive(workdir, kind, count)
    env = dict(os.environ, PATROLDESK_CONFIG=str(workdir / "patroldesk.toml"))
    first = subprocess.Popen([sys.executable, "-m", "daemon", "import", kind, str(path), "--json"], cwd=workdir,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while Inbound.select().where(Inbound.state == "done").count() < count // 3:
        assert first.poll() is None and time.monotonic() < deadline, "the import ended before it was killed"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    halfway = Inbound.select().count()
    assert count // 3 <= halfway < count
    summary = json.loads(cli(workdir, "import", kind, str(path), "--json").stdout)
    assert summary["total"] == count and summary["quarantined"] == 0 and summary["ignored"] == 0
    assert summary["created"] + summary["threaded"] + summary["duplicate"] == count
    assert summary["duplicate"] <= halfway  # what the first run finished; the rest it left is done now
    assert Inbound.select().count() == count and Message.select().where(Message.kind == "inbound").count() == count
    replies = count // 3
    assert Ticket.select().count() == count - replies
    threaded = Message.select().where(Message.thread_signal.is_null(False))
    assert threaded.count() == replies and all(m.subject.startswith("Re: ") for m in threaded)
    assert not Outgoing.select().exists()  # old mail is not acknowledged
    again = json.loads(cli(workdir, "import", kind, str(path), "--json").stdout)
    assert (again["duplicate"], again["created"], again["threaded"]) == (count, 0, 0)


def test_oldest_first_and_acknowledged_only_when_asked(workdir, workdir_database):
    a_desk(workdir)
    folder = workdir / "eml"
    folder.mkdir()
    for n in range(6):
        (folder / f"{n:02d}.eml").write_bytes(old_mail(n, 6).as_bytes())
    summary = json.loads(cli(workdir, "import", "eml", str(folder), "--acknowledge", "--json").stdout)
    assert (summary["created"], summary["threaded"]) == (4, 2)
    opened = [t.subject for t in Ticket.select().order_by(Ticket.number)]
    assert opened == ["Problem 4", "Problem 3", "Problem 1", "Problem 0"]  # by date, not by file name
    assert Outgoing.select().where(Outgoing.kind == "acknowledgement").count() == 4


# The archive reader ---------------------------------------------------------------------------

def test_the_mbox_scan_splits_messages_as_pythons_mailbox_does(tmp_path):
    from daemon.ingest.sources import archive
    path = tmp_path / "odd.mbox"
    path.write_bytes(
        b"stray text before the first separator\n"
        b"From a@example.org Mon Jan  1 00:00:00 2024\nDate: Tue, 02 Jan 2024 10:00:00 +0000\nSubject: b\n\n"
        b"second by date\n\n"
        b"From b@example.org Mon Jan  1 00:00:00 2024\nDate: Mon, 01 Jan 2024 10:00:00 +0100\nSubject: a\n\n"
        b"first by date\n>From quoted, not a separator\nFrom here on it is one, as mailbox reads it\n"
        b"From c@example.org Mon Jan  1 00:00:00 2024\nSubject: undated\n\nkeeps its place\n\n\n")
    expected = [mailbox.mbox(str(path)).get_bytes(key) for key in mailbox.mbox(str(path)).iterkeys()]
    assert len(expected) == 4
    with archive.entries("mbox", [path]) as index:
        found = list(index)
        opened: dict = {}
        got = [archive.read("mbox", entry, opened) for entry in found]
        for handle in opened.values():
            handle.close()
    assert sorted(got) == sorted(expected)
    # In order of date; an undated message takes the date of the one before it in the file (2 and 3
    # follow 1), and among equal dates file order holds.
    assert [entry.key for entry in found] == ["1", "2", "3", "0"]


def test_reading_an_archive_holds_no_more_memory_for_four_times_the_mails(tmp_path):
    import tracemalloc

    from daemon.ingest.sources import archive

    def peak(count: int) -> int:
        path = tmp_path / f"{count}.mbox"
        box = mailbox.mbox(str(path))
        for n in range(count):
            box.add(old_mail(n, count).as_bytes())
        box.close()
        tracemalloc.start()
        with archive.entries("mbox", [path]) as index:
            opened: dict = {}
            read = sum(len(archive.read("mbox", entry, opened)) for entry in index)
            for handle in opened.values():
                handle.close()
        top = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert read > 0
        return top

    small, large = peak(2000), peak(8000)
    print(f"peak while reading: {small} bytes for 2,000 mails, {large} for 8,000")
    # A locator kept in memory per message (a list of them, or mailbox's table of contents) makes the
    # larger archive's peak about four times the smaller's; read through the index on disk it stays put.
    assert large < 1.3 * small + 256 * 1024, (small, large)

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

"""Several daemons on one PostgreSQL database reading one Dovecot mailbox, for the cluster test and bench.

`threaded_corpus` makes mails whose threads are known (replies by In-Reply-To
and References, References alone, or In-Reply-To alone, to any earlier mail
of their thread); `Daemons` runs `patroldesk run` processes and kills them;
`figures` reads back what became of the corpus: stored once, threaded right,
filed once, acknowledged once.
"""
from __future__ import annotations

import collections
import email
import email.policy
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SUPPORT = "support@example.com"
DIGEST_TO = "duty-officer@example.com"

_PROBLEMS = [
    ("Принтер не печатает", "После обновления принтер в бухгалтерии показывает «не в сети». Что делать?"),
    ("Skriveren skriver ikke ut", "Etter oppdateringen viser skriveren på kontoret «frakoblet». Hva gjør vi?"),
    ("VPN drops every hour", "Since Monday the VPN connection drops every hour and we have to log in again."),
    ("Не приходит почта", "С утра не приходят письма от клиентов, отправка работает."),
    ("Fakturaen har feil MVA", "Fakturaen for november har feil MVA-sats. Kan dere rette den?"),
    ("Cannot open shared folder", "The shared folder on the file server says access denied for everyone."),
]
_REPLIES = ["Спасибо, попробую.", "Det virker fortsatt ikke.", "Thanks, that fixed it!", "Есть новости?",
            "Her er skjermbildet dere ba om.", "Still the same after a restart."]


@dataclass(frozen=True)
class ThreadedCorpus:
    mails: list[bytes]
    message_ids: list[str]  # without <>, in the corpus's order
    root_of: dict[str, str]  # each mail's Message-ID -> its thread's first Message-ID

    @property
    def roots(self) -> set[str]:
        return set(self.root_of.values())


def threaded_corpus(count: int, seed: int = 20261206, reply_share: float = 0.35) -> ThreadedCorpus:
    """`count` mails: new problems from a sender each, and replies to an earlier mail of a thread."""
    rng = random.Random(seed)
    threads: list[tuple[str, str, str, list[str]]] = []  # root, sender, subject, ids so far
    mails, ids, root_of = [], [], {}
    for index in range(count):
        mid = f"cluster-{seed}-{index}@customers.example"
        if threads and rng.random() < reply_share:
            root, sender, subject, chain = rng.choice(threads)
            parent = rng.choice(chain)
            style = rng.choice(("both", "references", "in-reply-to"))
            headers = [f"From: {sender}", f"Subject: Re: {subject}"]
            if style in ("both", "in-reply-to"):
                headers.append(f"In-Reply-To: <{parent}>")
            if style in ("both", "references"):
                path = chain[:chain.index(parent) + 1]
                headers.append("References: " + " ".join(f"<{m}>" for m in path[-5:]))
            body = rng.choice(_REPLIES)
            chain.append(mid)
        else:
            subject, body = _PROBLEMS[index % len(_PROBLEMS)]
            subject = f"{subject} ({index})"
            sender, root = f"customer{index}@customers.example", mid
            headers = [f"From: Customer {index} <{sender}>", f"Subject: {subject}"]
            threads.append((root, sender, subject, [mid]))
        root_of[mid] = root
        headers += [f"To: {SUPPORT}", f"Message-ID: <{mid}>", "Date: Sun, 06 Dec 2026 10:00:00 +0000",
                    "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
                    "Content-Transfer-Encoding: 8bit"]
        mails.append(("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode())
        ids.append(mid)
    return ThreadedCorpus(mails, ids, root_of)


def write_cluster_config(root: Path, account, database_url: str, relay_port: int, sections: str = "",
                         relay_host: str = "127.0.0.1") -> Path:
    """One configuration for every daemon of the cluster: PostgreSQL, the mailbox, the relay,
    a digest each minute, and heartbeats fast enough for a test."""
    path = root / "patroldesk.toml"
    path.write_text(f"""
[database]
url = "{database_url}"
[paths]
var = "{root}/var"
[smtp]
enabled = false
[web]
enabled = false
[support]
addresses = ["{SUPPORT}"]
# One signing key for every daemon, wherever its var/ is (a daemon with another key is refused).
message_id_secret = "the cluster's one signing key"
[relay]
host = "{relay_host}"
port = {relay_port}
retry_base_seconds = 1
[autoreply]
per_sender_per_hour = 1000
[patrol]
digest_schedule = "* * * * *"
digest_to = ["{DIGEST_TO}"]
[cluster]
heartbeat_seconds = 1
dead_after_seconds = 3
{sections.strip()}
[[mailbox]]
name = "support"
host = "{account.host}"
port = {account.port}
security = "none"
user = "{account.user}"
password = "{account.password}"
backoff_max_seconds = 1
""")
    return path


class Daemons:
    """`count` daemon processes on one configuration; each one's log goes to logs/<n>-<start>.log."""

    def __init__(self, config_path: Path | list[Path], count: int, logs: Path, roles: str | None = None,
                 wrap=None):
        self.config_paths = config_path if isinstance(config_path, list) else [config_path] * count
        self.logs = logs
        self.roles = roles
        self.wrap = wrap  # index -> a command line's prefix (a daemon on a test host of its own)
        logs.mkdir(parents=True, exist_ok=True)
        self.processes: list[subprocess.Popen | None] = [None] * count
        self.started = 0
        self.kills = 0

    def start(self, index: int) -> subprocess.Popen:
        self.started += 1
        log = open(self.logs / f"{index}-{self.started}.log", "wb")
        command = [sys.executable, "-m", "daemon", "--config", str(self.config_paths[index]), "run"]
        if self.roles:
            command += ["--only", self.roles]
        if self.wrap:
            command = self.wrap(index, command)
        env = {k: v for k, v in os.environ.items() if k != "PATROLDESK_CRASH_AT"}
        self.processes[index] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, env=env)
        log.close()
        return self.processes[index]

    def start_all(self) -> None:
        for index in range(len(self.processes)):
            self.start(index)

    def kill(self, index: int) -> None:
        process = self.processes[index]
        process.send_signal(signal.SIGKILL)
        process.wait()
        self.kills += 1

    def stop_all(self) -> None:
        for process in self.processes:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            if process is None:
                continue
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log_text(self) -> str:
        return "\n".join(f"== {path.name}\n{path.read_text(errors='replace')}" for path in sorted(self.logs.glob("*.log")))


def chaos(daemons: Daemons, kills: int, rng: random.Random, spread: tuple[float, float] = (0.4, 1.5)) -> None:
    """SIGKILL a random daemon `kills` times at random moments, starting it again at once."""
    for _ in range(kills):
        time.sleep(rng.uniform(*spread))
        index = rng.randrange(len(daemons.processes))
        daemons.kill(index)
        daemons.start(index)


def message_id_of(data: bytes) -> str:
    parsed = email.message_from_bytes(data, policy=email.policy.compat32)
    return (parsed.get("Message-ID") or "").strip().strip("<>")


def figures(corpus: ThreadedCorpus, account, relay, processed_folder: str) -> dict:
    """What became of the corpus, read from the database (open), the mailbox and the relay."""
    from daemon.store.db import execute
    stored = execute('SELECT "message_id", "ticket_id" FROM "message" WHERE "kind" = ?', ("inbound",)).fetchall()
    per_id = collections.Counter(mid for mid, _ in stored)
    ticket_of = {mid: ticket for mid, ticket in stored}
    replies = [mid for mid in corpus.message_ids if corpus.root_of[mid] != mid]
    misthreaded = [mid for mid in replies if ticket_of.get(mid) != ticket_of.get(corpus.root_of[mid])]
    acks = execute('SELECT "message_id", "state" FROM "outbox" WHERE "kind" = ?', ("acknowledgement",)).fetchall()
    delivered = collections.Counter(message_id_of(data) for _, _, data in relay.received)
    uncertain = [mid.strip("<>") for mid, state in acks if state == "uncertain"]
    digests = [data for _, rcpt, data in relay.received if DIGEST_TO in rcpt]
    spool = dict(execute('SELECT "state", COUNT(*) FROM "inbound" GROUP BY "state"').fetchall())
    return {
        "mails": len(corpus.mails), "replies": len(replies),
        "stored": len(per_id), "stored_twice": sum(1 for n in per_id.values() if n > 1),
        "missing": len(set(corpus.message_ids) - set(per_id)),
        "tickets": execute('SELECT COUNT(*) FROM "ticket"').fetchone()[0], "threads": len(corpus.roots),
        "misthreaded": len(misthreaded), "spool": spool,
        "processed_folder": account.count(processed_folder), "inbox": account.count("INBOX"),
        "acknowledgements": len(acks),
        "acks_delivered_once": sum(1 for mid, _ in acks if delivered[mid.strip("<>")] == 1),
        "acks_delivered_twice": sum(1 for mid, _ in acks if delivered[mid.strip("<>")] > 1),
        "acks_not_delivered": sum(1 for mid, _ in acks if delivered[mid.strip("<>")] == 0),
        "acks_uncertain": len(uncertain),
        "uncertain_delivered_twice": sum(1 for mid in uncertain if delivered[mid] > 1),
        "digests_delivered": len(digests),
        "digest_periods": execute('SELECT COUNT(*) FROM "job_run" WHERE "job" = ?', ("patrol-digest",)).fetchone()[0],
        "digest_periods_unfinished": execute('SELECT COUNT(*) FROM "job_run" WHERE "job" = ? AND "finished_at" IS NULL',
                                             ("patrol-digest",)).fetchone()[0],
    }


def settle_possibly_sent(relay) -> int:
    """Do what a person does with mail marked possibly sent: look at the relay, then take it as
    arrived or send it again. Returns how many there were."""
    from daemon.outbound import possibly_sent
    from daemon.store.db import execute
    delivered = collections.Counter(message_id_of(data) for _, _, data in relay.received)
    rows = execute('SELECT "id", "message_id" FROM "outbox" WHERE "state" = ?', ("uncertain",)).fetchall()
    for row_id, message_id in rows:
        if delivered[message_id.strip("<>")]:
            possibly_sent.take_as_sent(row_id)
        else:
            possibly_sent.send_again(row_id)
    return len(rows)

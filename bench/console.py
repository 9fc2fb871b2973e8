"""Console latency over a large helpdesk: 100,000 tickets with 500,000 messages in SQLite.

The rows are written straight into the tables (a year of tickets, most of
them solved, each with one to nine messages in English, Russian and
Norwegian words), the message search index with them, as the migrations'
triggers keep it. Then a signed-in agent's requests go through the whole
Flask app in process (routing, session, the queries, the templates), so the
figures are server-side and leave out only the network: the queue with its
filters, sorts and deep pages, ticket pages, and text searches of the queue,
each 500 times, p50 and p95 in milliseconds. Target: p95 under 50 ms each.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import random
import tempfile
import time

from bench.knowledge import _VOCABULARY, _percentile, _tail_word
from daemon.config import load_config
from daemon.people import users
from daemon.store import db
from daemon.store.db import database

PASSWORD = "benchmark password"
_STATUSES = ["solved"] * 55 + ["closed"] * 20 + ["open"] * 12 + ["new"] * 8 + ["pending"] * 5
_PRIORITIES = ["normal"] * 70 + ["high"] * 15 + ["low"] * 10 + ["urgent"] * 5


def _config(tmp: str):
    base = load_config(None, {})
    return dataclasses.replace(base, database=dataclasses.replace(base.database, url=f"sqlite:///{tmp}/desk.db"),
                               paths=dataclasses.replace(base.paths, var=f"{tmp}/var"),
                               web=dataclasses.replace(base.web, enabled=False))


def build(tickets: int, messages: int, seed: int = 5) -> list[int]:
    """The rows, in transactions of 5,000 tickets; returns the agents' user ids."""
    rng = random.Random(seed)
    agents = [users.create_user(f"agent{n}", "agent", PASSWORD).id for n in range(10)]
    tail = [_tail_word(rng) for _ in range(5000)]
    start = dt.datetime(2026, 1, 1)
    per_ticket = messages / tickets
    customers = min(tickets // 5, 20_000)
    with database.atomic():
        db.database.execute_sql("INSERT INTO customer (email, name, created_at, attributes) VALUES " + ", ".join(
            f"('c{n}@example.{rng.choice(('com', 'ru', 'no'))}', 'Customer {n}', '2026-01-01', '{{}}')"
            for n in range(customers)))
    message_id = 0
    for first in range(0, tickets, 5000):
        ticket_rows, message_rows = [], []
        for ticket_id in range(first + 1, min(tickets, first + 5000) + 1):
            opened = start + dt.timedelta(seconds=ticket_id * 300)
            language = rng.choice(("en", "ru", "nb"))
            words = _VOCABULARY[language]
            subject = " ".join(rng.choice(words) for _ in range(rng.randint(2, 6)))
            status, priority = rng.choice(_STATUSES), rng.choice(_PRIORITIES)
            answered = opened + dt.timedelta(minutes=rng.randint(5, 900)) if status != "new" else None
            count = max(1, min(9, round(rng.gauss(per_ticket, 2))))
            # Messages alternate customer, us, customer...: whose turn it is follows from the last one.
            last_in = opened + dt.timedelta(hours=(count - 1) // 2 * 2)
            turn = ("customer" if count % 2 else "us", opened + dt.timedelta(hours=count - 1))
            seen = last_in + dt.timedelta(minutes=5) if rng.random() < 0.8 else None
            ticket_rows.append((ticket_id, 10000 + ticket_id, subject, rng.randint(1, customers), status, priority,
                                rng.choice(agents) if rng.random() < 0.7 else None, opened, opened,
                                rng.random() < 0.03, opened + dt.timedelta(minutes=480), answered, *turn, last_in,
                                seen))
            for n in range(count):
                message_id += 1
                body = " ".join(rng.choice(words) if rng.random() < 0.2 else rng.choice(tail)
                                for _ in range(rng.randint(30, 120)))
                message_rows.append((message_id, ticket_id, "inbound" if n % 2 == 0 else "outbound",
                                     f"<m{message_id}@bench.example>", f"c{ticket_id}@example.com", subject, body,
                                     body, opened + dt.timedelta(hours=n)))
        with database.atomic():
            database.cursor().executemany(
                'INSERT INTO "ticket" ("id", "number", "subject", "requester_id", "status", "priority", '
                '"assignee_id", "created_at", "updated_at", "escalated", "respond_by", "first_response_at", '
                '"last_speaker", "waiting_since", "last_inbound_at", "seen_at", "support_address", "group_name") '
                'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, \'\', \'\')',
                ticket_rows)
            database.cursor().executemany(
                'INSERT INTO "message" ("id", "ticket_id", "kind", "message_id", "sender_address", "subject", '
                '"body_text", "body_visible", "created_at", "in_reply_to", "refs", "sender_name", "to_addrs", '
                '"cc_addrs", "notes") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, \'\', \'\', \'\', \'[]\', \'[]\', \'\')',
                message_rows)
    db.execute("INSERT INTO \"message_fts\" (\"message_fts\") VALUES ('optimize')")
    db.execute("ANALYZE")
    return agents


def _timed(client, paths: list[str]) -> list[float]:
    timings = []
    for path in paths:
        began = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {response.status_code}")
    return timings


def _figures(timings: list[float]) -> dict:
    return {"p50_ms": round(_percentile(timings, 0.50), 2), "p95_ms": round(_percentile(timings, 0.95), 2),
            "max_ms": round(max(timings), 2)}


def latency(tickets: int = 100_000, messages: int = 500_000, requests: int = 500) -> dict:
    from web import create_app
    rng = random.Random(9)
    with tempfile.TemporaryDirectory() as tmp:
        config = _config(tmp)
        db.open_database(config)
        db.upgrade()
        began = time.perf_counter()
        build(tickets, messages)
        built = time.perf_counter() - began
        app = create_app(config)
        client = app.test_client()
        page = client.get("/sign-in").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
        client.post("/sign-in", data={"username": "agent1", "password": PASSWORD, "csrf_token": token})
        variants = ["/tickets", "/tickets?sort=oldest", "/tickets?status=all&sort=newest", "/tickets?assignee=me",
                    "/tickets?priority=high", "/tickets?escalated=1&status=all", "/tickets?status=solved&sort=updated",
                    "/tickets?assignee=none&sort=sla"]
        queue = [_page(rng.choice(variants), rng.randint(1, 20)) for _ in range(requests)]
        ticket_pages = [f"/tickets/{10000 + rng.randint(1, tickets)}" for _ in range(requests)]
        searches = [_page("/tickets?q=" + " ".join(rng.choice(_VOCABULARY[rng.choice(("en", "ru", "nb"))])
                                                   for _ in range(rng.randint(1, 2))), 1)
                    for _ in range(requests)]
        _timed(client, queue[:20] + ticket_pages[:20] + searches[:20])  # warm the page cache and templates
        results = {"queue": _figures(_timed(client, queue)), "ticket": _figures(_timed(client, ticket_pages)),
                   "search": _figures(_timed(client, searches))}
        db.database.close()
    return {"benchmark": "console_latency", "database": "sqlite", "tickets": tickets, "messages": messages,
            "requests_each": requests, "build_seconds": round(built, 1), **results, "target_p95_ms": 50}


def _page(path: str, number: int) -> str:
    return f"{path}{'&' if '?' in path else '?'}page={number}" if number > 1 else path

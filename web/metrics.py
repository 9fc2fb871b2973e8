"""/metrics: the daemon's figures in Prometheus's text format, read from the database at scrape time.

Counted from rows, not kept in process memory, so every worker of a
multi-process WSGI server answers the same, and a restart loses nothing.
Figures that can go down are gauges, not counters: a requeued mail leaves
quarantine and a retried mail leaves the failed ones, and a counter that
fell would read to Prometheus as a restart.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from daemon.ingest.sources.imap import mailbox_states
from daemon.store import db
from daemon.store.models import STATUSES
from web.access import PUBLIC, requires

blueprint = Blueprint("metrics", __name__)


class _Figures:
    """A collector that reads the counts at each scrape."""

    def __init__(self, config):
        self.config = config

    def collect(self):
        yield from _spool_figures()
        yield from _outbox_figures()
        yield from _ticket_figures()
        yield from _mailbox_figures(self.config)


def _counts(sql: str) -> dict:
    return dict(db.execute(sql).fetchall())


def _spool_figures():
    spool = _counts('SELECT "state", COUNT(*) FROM "inbound" GROUP BY "state"')
    outcomes = _counts('SELECT "outcome", COUNT(*) FROM "inbound" WHERE "outcome" IS NOT NULL GROUP BY "outcome"')
    ingested = GaugeMetricFamily("patroldesk_mails_ingested", "Mails taken in, by what became of them",
                                 labels=["outcome"])
    for outcome, count in sorted(outcomes.items()):
        ingested.add_metric([outcome], count)
    yield ingested
    yield GaugeMetricFamily("patroldesk_mails_quarantined", "Mails in quarantine (kept, not processed)",
                            value=spool.get("quarantined", 0))
    yield GaugeMetricFamily("patroldesk_spool_queued", "Mails spooled and waiting for the pipeline",
                            value=spool.get("queued", 0) + spool.get("processing", 0))


def _outbox_figures():
    outbox = _counts('SELECT "state", COUNT(*) FROM "outbox" GROUP BY "state"')
    yield GaugeMetricFamily("patroldesk_outbox_depth", "Mails waiting in the outbox (queued or being sent)",
                            value=outbox.get("queued", 0) + outbox.get("sending", 0))
    failures = GaugeMetricFamily("patroldesk_outbox_failures", "Mails that could not be delivered",
                                 labels=["state"])
    for state in ("failed", "bounced"):
        failures.add_metric([state], outbox.get(state, 0))
    yield failures
    yield GaugeMetricFamily("patroldesk_outbox_possibly_sent",
                            "Mails whose sender died while the relay had them: sent or not is unknown, "
                            "and they wait for a person's word", value=outbox.get("uncertain", 0))
    # Counted by when they left, not by state: a bounce moves a sent mail to 'bounced', and a counter never falls.
    sent = db.execute('SELECT COUNT(*) FROM "outbox" WHERE "sent_at" IS NOT NULL').fetchone()[0]
    yield CounterMetricFamily("patroldesk_mails_sent", "Mails delivered to the relay", value=sent)


def _ticket_figures():
    tickets = _counts('SELECT "status", COUNT(*) FROM "ticket" GROUP BY "status"')
    by_status = GaugeMetricFamily("patroldesk_tickets", "Tickets by status", labels=["status"])
    for status in STATUSES:
        by_status.add_metric([status], tickets.get(status, 0))
    yield by_status
    yield GaugeMetricFamily("patroldesk_tickets_open", "Tickets new or open",
                            value=tickets.get("new", 0) + tickets.get("open", 0))


def _mailbox_figures(config):
    """From each configured mailbox's stored state: a mailbox whose poller has not been heard
    from lately (stale) holds no IDLE connection, whatever its row last said."""
    boxes = mailbox_states(config)
    idle = sum(1 for box in boxes if box["idle"] and box["status"] == "ok" and not box["stale"])
    yield GaugeMetricFamily("patroldesk_imap_idle_connections", "IMAP mailboxes held open with IDLE", value=idle)
    yield GaugeMetricFamily("patroldesk_imap_mailboxes_failing", "IMAP mailboxes failing now",
                            value=sum(1 for box in boxes if box["status"] == "failing"))
    yield GaugeMetricFamily("patroldesk_imap_mailboxes_stale", "IMAP mailboxes whose poller has not been heard "
                            "from lately", value=sum(1 for box in boxes if box["stale"]))


@blueprint.route("/metrics")
@requires(PUBLIC)
def metrics():
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Figures(current_app.config["PATROLDESK"]))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

"""Processing one spooled mail at once, for a person waiting on the answer: `ingest`, a retry.

The daemon may be running beside the person (its worker claims queued mail
too): whoever claims the row first processes it, and the other waits for
that result, so the mail is processed once and the person still learns
what became of it.
"""
from __future__ import annotations

import time

from daemon.config import Config
from daemon.errors import NotFound, PatroldeskError
from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.languages import N_
from daemon.store.models import Inbound


def retry(config: Config, spool_id: int) -> pipeline.Disposition:
    """Put a quarantined (or discarded) mail back in the queue and process it now."""
    if Inbound.get_or_none(Inbound.id == spool_id) is None:
        raise NotFound(N_("no spooled mail %(id)s", id=spool_id))
    if not spool.requeue(spool_id):
        raise PatroldeskError(N_("spool %(id)s is not in quarantine or ignored: nothing to retry", id=spool_id))
    return process_now(config, spool_id)


def process_now(config: Config, spool_id: int) -> pipeline.Disposition:
    """Process a queued row here, or, if a running daemon took it first, wait for its result."""
    deadline = time.monotonic() + 2 * config.ingest.lease_seconds
    while time.monotonic() < deadline:
        claimed = spool.claim_one(spool_id, config.ingest.lease_seconds)
        if claimed is not None:  # free (again, if a daemon handed it back): process it here
            try:
                result = pipeline.process(claimed, config)
            except spool.LeaseLost:
                continue  # someone else finishes it; wait for their result
            if result.outcome != "waiting":
                return result
            _parent_first(config, result.waits_for)
            continue
        row = Inbound.get_by_id(spool_id)
        if row.state not in ("queued", "processing"):
            return _disposition_of(row)
        time.sleep(0.05)
    raise PatroldeskError(f"spool {spool_id} is still being processed elsewhere; see `patroldesk spool list`")


def _parent_first(config: Config, parent_row: int) -> None:
    """The mail a reply answers is still in the spool: process it here if no one holds it, else give
    its holder a moment."""
    if Inbound.get_by_id(parent_row).state == "queued":
        process_now(config, parent_row)  # ends: a parent always came in before its reply
    else:
        time.sleep(pipeline.WAIT_FOR_PARENT_SECONDS)


def _disposition_of(row: Inbound) -> pipeline.Disposition:
    """What became of a row another worker finished, as if it had been processed here."""
    message = row.message if row.message_id else None
    return pipeline.Disposition(row.id, row.outcome, message and message.message_id,
                                message and message.ticket.number, row.reason)

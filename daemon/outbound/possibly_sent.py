"""Mail whose fate is unknown ("uncertain": its sender stopped inside the SMTP transaction), settled
by a person's word: send it again, or take it as arrived. The ticket's trail records which.
"""
from __future__ import annotations

from peewee import fn

from daemon import tickets
from daemon.errors import NotFound, PatroldeskError
from daemon.languages import N_, Text
from daemon.store.db import database
from daemon.store.models import Outgoing, utcnow


def send_again(outbox_id: int, actor=None, ticket=None) -> Outgoing:
    """Back in the queue, due now: the person judged that it did not arrive."""
    return _settle(outbox_id, actor, ticket, "mail sent again",
                   state="queued", next_attempt_at=utcnow(), last_error="", data_at=None, claim_token=None)


def take_as_sent(outbox_id: int, actor=None, ticket=None) -> Outgoing:
    """Recorded as sent, when its content went to the relay: the person found that it arrived."""
    return _settle(outbox_id, actor, ticket, "mail taken as arrived", state="sent",
                   sent_at=fn.COALESCE(Outgoing.data_at, utcnow()), last_error="", data_at=None, claim_token=None)


def _settle(outbox_id: int, actor, ticket, action: str, **changes) -> Outgoing:
    """Change an uncertain mail (of `ticket`, when given) and say so on its ticket's trail; the update
    names the state it leaves, so two people's words (or two clicks) settle it once."""
    row = Outgoing.select(Outgoing.id, Outgoing.ticket, Outgoing.state, Outgoing.to_address).where(
        Outgoing.id == outbox_id).get_or_none()
    if row is None or (ticket is not None and row.ticket_id != ticket.id):
        raise NotFound(N_("no outbox mail %(id)s", id=outbox_id))
    with database.atomic():
        settled = Outgoing.update(**changes).where(
            (Outgoing.id == outbox_id) & (Outgoing.state == "uncertain")).execute()
        if not settled:
            raise PatroldeskError(N_("outbox %(id)s is not possibly sent (it is %(state)s now); nothing was changed",
                                     id=outbox_id, state=Text(_state_now(outbox_id))))
        if row.ticket_id:
            tickets.audit(row.ticket_id, action, {"outbox": row.id, "to": row.to_address}, actor=actor)
    return Outgoing.get_by_id(outbox_id)


def _state_now(outbox_id: int) -> str:
    return Outgoing.select(Outgoing.state).where(Outgoing.id == outbox_id).scalar() or "gone"

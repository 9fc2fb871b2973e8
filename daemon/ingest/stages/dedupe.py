"""Store the same mail once, however often it is delivered.

The same Message-ID from the same sender is a duplicate; a mail without a
Message-ID is a duplicate when its exact bytes were stored before.
"""
from daemon.errors import Discard
from daemon.store import db

# Both walk an index (message_message_id, message_raw_id); they run once per mail.
_BY_ID = ('SELECT m."id", m."sender_address", m."kind", t."number" FROM "message" AS m '
          'JOIN "ticket" AS t ON t."id" = m."ticket_id" WHERE m."message_id" = ?')
_BY_RAW = ('SELECT m."id", m."sender_address", m."kind", t."number" FROM "message" AS m '
           'JOIN "ticket" AS t ON t."id" = m."ticket_id" WHERE m."raw_id" = ?')
# On PostgreSQL two transactions may look for the same mail at once, both find nothing, and
# the second then fails on the unique index when the first commits. Two deliveries of one mail
# therefore take turns from here until the first one's transaction ends, so the second one's
# look sees the first one's message. The two-key form keeps these locks apart from the others
# (1: a mail's identity). SQLite needs none: its transactions take the write lock at BEGIN.
_TAKE_TURNS = "SELECT pg_advisory_xact_lock(1, hashtext(?))"


def run(ctx) -> None:
    mid = ctx.mail.message_id
    if not db.is_sqlite():
        db.execute(_TAKE_TURNS, (f"id:{mid}" if mid else f"raw:{ctx.inbound.raw_id}",))
    rows = db.execute(_BY_ID, (mid,)) if mid else db.execute(_BY_RAW, (ctx.inbound.raw_id,))
    for message, sender, kind, number in rows.fetchall():
        # A reused Message-ID from someone else is a different mail, not a copy.
        if sender == (ctx.sender.key if ctx.sender else "") or kind != "inbound" or not mid:
            raise Discard(f"duplicate of message {message} on ticket #{number}", "duplicate", number)

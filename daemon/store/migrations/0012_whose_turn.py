"""Whose turn a ticket is: who spoke last (the customer or us) and since when, and whether
customer mail came in after an agent last opened the ticket.

Automatic mail (acknowledgements, auto-replies, bounces) is nobody's turn and counts for
neither side. Existing tickets are filled from their messages; an agent's last action on
a ticket (its trail) stands for the last time one looked at it.
"""
from peewee import CharField, DateTimeField

# A message that is someone's word: mail a person wrote, not an internal note or automatic mail.
_SAID = '{m}."ticket_id" = "ticket"."id" AND {m}."kind" = \'{kind}\' AND {m}."automatic" IS NULL'


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("ticket", "last_speaker", CharField(max_length=10, default="customer")),
        migrator.add_column("ticket", "waiting_since", DateTimeField(null=True)),
        migrator.add_column("ticket", "last_inbound_at", DateTimeField(null=True)),
        migrator.add_column("ticket", "seen_at", DateTimeField(null=True)),
    )
    _backfill(db)
    # The queue's default view: active tickets waiting for us first, longest waiting first;
    # the query repeats the expression and the literal statuses, so both databases use it.
    db.execute_sql('CREATE INDEX "ticket_queue_turn" ON "ticket" (("last_speaker" <> \'customer\'), '
                   '"waiting_since", "id") WHERE "status" IN (\'new\', \'open\', \'pending\')')


def _backfill(db) -> None:
    inbound = _SAID.format(m="m", kind="inbound")
    db.execute_sql(f'UPDATE "ticket" SET "last_inbound_at" = COALESCE((SELECT MAX(m."created_at") FROM "message" m '
                   f'WHERE {inbound}), "created_at")')
    db.execute_sql(f'UPDATE "ticket" SET "last_speaker" = \'us\' WHERE EXISTS (SELECT 1 FROM "message" m '
                   f'WHERE {_SAID.format(m="m", kind="outbound")} AND m."created_at" > "ticket"."last_inbound_at")')
    # Since the first word of the side that spoke last, after the other side's last word.
    for side, kind, other in (("customer", "inbound", "outbound"), ("us", "outbound", "inbound")):
        db.execute_sql(
            f'UPDATE "ticket" SET "waiting_since" = COALESCE((SELECT MIN(m."created_at") FROM "message" m '
            f'WHERE {_SAID.format(m="m", kind=kind)} AND NOT EXISTS (SELECT 1 FROM "message" o '
            f'WHERE {_SAID.format(m="o", kind=other)} AND o."created_at" > m."created_at")), "created_at") '
            f'WHERE "last_speaker" = \'{side}\'')
    db.execute_sql('UPDATE "ticket" SET "seen_at" = (SELECT MAX(a."created_at") FROM "audit_event" a '
                   'WHERE a."ticket_id" = "ticket"."id" AND a."actor_id" IS NOT NULL)')

"""Deadlines in business hours: a resolution deadline beside the first answer's, when each warns,
when a ticket was solved, and the notices of warnings and breaches, each sent once.

deadline_notice: one row per ticket, deadline (first_answer, resolution) and level (warning,
breach); its unique key is what makes a notice go out once however many daemons look.
Tickets solved or closed before this take the moment of their last 'solved' or 'closed' trail
event as when they were solved; the deadlines of open tickets are filled by the next check.
"""
from peewee import CharField, DateTimeField, ForeignKeyField, Model


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Ticket(Base):
        pass

    class DeadlineNotice(Base):
        ticket = ForeignKeyField(Ticket, on_delete="CASCADE")
        deadline = CharField(max_length=20)  # first_answer, resolution
        level = CharField(max_length=10)  # warning, breach
        due_at = DateTimeField()
        created_at = DateTimeField(index=True)

        class Meta:
            indexes = ((("ticket", "deadline", "level"), True),)

    migrator.migrate(
        migrator.add_column("ticket", "respond_warn_at", DateTimeField(null=True)),
        migrator.add_column("ticket", "resolve_by", DateTimeField(null=True)),
        migrator.add_column("ticket", "resolve_warn_at", DateTimeField(null=True)),
        migrator.add_column("ticket", "resolved_at", DateTimeField(null=True)),
    )
    db.create_tables([DeadlineNotice])
    # The queue in resolution order, and the watch's two questions (what warns, what is due), over active
    # tickets only; the queries repeat these literal statuses, so both databases use them.
    active = '"status" IN (\'new\', \'open\', \'pending\')'
    db.execute_sql(f'CREATE INDEX "ticket_queue_resolution" ON "ticket" (("resolve_by" IS NULL), "resolve_by", "id") '
                   f'WHERE {active}')
    db.execute_sql(f'CREATE INDEX "ticket_answer_watch" ON "ticket" ("respond_warn_at") '
                   f'WHERE {active} AND "first_response_at" IS NULL')
    db.execute_sql(f'CREATE INDEX "ticket_resolution_watch" ON "ticket" ("resolve_warn_at") WHERE {active}')
    db.execute_sql('UPDATE "ticket" SET "resolved_at" = COALESCE((SELECT MAX(a."created_at") FROM "audit_event" a '
                   'WHERE a."ticket_id" = "ticket"."id" AND a."action" IN (\'solved\', \'closed\')), "updated_at") '
                   'WHERE "status" IN (\'solved\', \'closed\')')

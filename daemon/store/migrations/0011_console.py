"""The console: sessions that a password change or sign-out revokes, sign-in lock-outs,
and the ticket columns the queue sorts and filters by (first response, SLA due time).
"""
from peewee import CharField, DateTimeField, IntegerField, Model, SqliteDatabase


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class SignInFailure(Base):
        username = CharField(max_length=100, unique=True)  # as typed, case-folded: unknown names count too
        failures = IntegerField(default=0)
        last_at = DateTimeField()
        locked_until = DateTimeField(null=True)

    db.create_tables([SignInFailure])
    migrator.migrate(
        migrator.add_column("user", "session_version", IntegerField(default=0)),
        migrator.add_column("ticket", "first_response_at", DateTimeField(null=True)),
        migrator.add_column("ticket", "respond_by", DateTimeField(null=True)),
    )
    # Tickets from before: the default SLA by priority from their opening, and their first
    # reply by a person (as replies.send_templated stamps it); the daemon keeps both from now on
    # (a configured [sla] applies to tickets opened or re-prioritised after the upgrade).
    for priority, minutes in (("urgent", 60), ("high", 240), ("normal", 480), ("low", 1440)):
        later = (f"datetime(\"created_at\", '+{minutes} minutes')" if isinstance(db, SqliteDatabase)
                 else f"\"created_at\" + interval '{minutes} minutes'")
        db.execute_sql(f'UPDATE "ticket" SET "respond_by" = {later} WHERE "priority" = \'{priority}\'')
    db.execute_sql('UPDATE "ticket" SET "first_response_at" = (SELECT MIN(o."created_at") FROM "outbox" o '
                   'WHERE o."ticket_id" = "ticket"."id" AND o."kind" = \'reply\' AND NOT o."automatic")')
    # The queue's default view (open work, first answer due soonest) and its age sorts read
    # partial indexes of the active tickets alone, in the order shown; the queries name the
    # same literal statuses, which is how both databases know the index applies.
    active = '"status" IN (\'new\', \'open\', \'pending\')'
    db.execute_sql(f'CREATE INDEX "ticket_queue_sla" ON "ticket" (("first_response_at" IS NOT NULL), "respond_by", '
                   f'"id") WHERE {active}')
    db.execute_sql(f'CREATE INDEX "ticket_queue_active" ON "ticket" ("id") WHERE {active}')
    for columns in (("assignee_id", "status"), ("priority", "status"), ("escalated", "status"), ("updated_at",)):
        name = "ticket_queue_" + "_".join(columns)
        quoted = ", ".join(f'"{c}"' for c in columns)
        db.execute_sql(f'CREATE INDEX "{name}" ON "ticket" ({quoted})')
    _message_search(db)


def _message_search(db) -> None:
    """The queue's text search over every message's subject and visible text.

    SQLite: an FTS5 index over the message table's own columns, kept by
    triggers, so no writer has to remember it. It keeps which messages hold a
    word, not where (detail=none, no column sizes): the queue asks for words,
    never phrases or ranks, and ingest pays about a tenth less for it. PostgreSQL: a GIN index on the
    same text's tsvector, which the query repeats word for word.
    """
    if isinstance(db, SqliteDatabase):
        db.execute_sql('CREATE VIRTUAL TABLE "message_fts" USING fts5("subject", "body_visible", '
                       'content=\'message\', content_rowid=\'id\', columnsize=0, detail=none, '
                       'tokenize=\'unicode61 remove_diacritics 2\')')
        new = 'INSERT INTO "message_fts"(rowid, "subject", "body_visible") VALUES (new."id", new."subject", ' \
              'new."body_visible")'
        old = 'INSERT INTO "message_fts"("message_fts", rowid, "subject", "body_visible") VALUES (\'delete\', ' \
              'old."id", old."subject", old."body_visible")'
        db.execute_sql(f'CREATE TRIGGER "message_fts_insert" AFTER INSERT ON "message" BEGIN {new}; END')
        db.execute_sql(f'CREATE TRIGGER "message_fts_delete" AFTER DELETE ON "message" BEGIN {old}; END')
        db.execute_sql(f'CREATE TRIGGER "message_fts_update" AFTER UPDATE OF "subject", "body_visible" ON "message" '
                       f'BEGIN {old}; {new}; END')
        db.execute_sql('INSERT INTO "message_fts"("message_fts") VALUES (\'rebuild\')')
    else:
        # A tsvector holds at most 1 MB: the first 100,000 characters of a message are searched
        # (a pasted log would otherwise keep the whole mail out of the database).
        db.execute_sql('CREATE INDEX "message_search" ON "message" USING gin '
                       '(to_tsvector(\'simple\', left("subject" || \' \' || "body_visible", 100000)))')

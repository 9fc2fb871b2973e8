"""The patrol-report log: SBO notes and their reviews, append-only and hash-chained.

A report is never changed: a correction is a new report that names the one
it corrects. Reviews likewise. Each row carries the hash of the row before
it in its table (its `seq` order) and its own hash over its content, so
`patroldesk patrol verify` finds any row edited, inserted or removed behind
the application's back. Triggers refuse UPDATE and DELETE, so a mistake in
code cannot rewrite history either; only someone who drops them can.
"""
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model, SqliteDatabase, TextField

_TABLES = ("patrol_report", "patrol_review")


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Ticket(Base):
        pass

    class User(Base):
        pass

    class PatrolReport(Base):
        seq = IntegerField(unique=True)
        ticket = ForeignKeyField(Ticket, on_delete="RESTRICT")
        corrects = ForeignKeyField("self", null=True, on_delete="RESTRICT")
        kind = CharField(max_length=20)
        situation = TextField()
        behaviour = TextField()
        outcome = TextField()
        outcome_kind = CharField(max_length=30, index=True)
        cause = TextField(default="")
        tags = TextField(default="[]")
        facts = TextField(default="{}")
        customer_hears = TextField(default="")
        author = ForeignKeyField(User, null=True, on_delete="RESTRICT")
        created_at = DateTimeField(index=True)
        prev_hash = CharField(max_length=64)
        hash = CharField(max_length=64, unique=True)

    class PatrolReview(Base):
        seq = IntegerField(unique=True)
        report = ForeignKeyField(PatrolReport, on_delete="RESTRICT")
        verdict = CharField(max_length=30)
        analysis = TextField()
        decision = TextField()
        reviewer = ForeignKeyField(User, null=True, on_delete="RESTRICT")
        created_at = DateTimeField()
        prev_hash = CharField(max_length=64)
        hash = CharField(max_length=64, unique=True)

    db.create_tables([PatrolReport, PatrolReview])
    for table in _TABLES:
        if isinstance(db, SqliteDatabase):
            for action in ("UPDATE", "DELETE"):
                db.execute_sql(f'CREATE TRIGGER "{table}_no_{action.lower()}" BEFORE {action} ON "{table}" '
                               f"BEGIN SELECT RAISE(ABORT, 'the patrol log is append-only'); END")
        else:
            db.execute_sql(f'CREATE OR REPLACE FUNCTION "{table}_append_only"() RETURNS trigger AS $$ '
                           "BEGIN RAISE EXCEPTION 'the patrol log is append-only'; END; $$ LANGUAGE plpgsql")
            db.execute_sql(f'CREATE TRIGGER "{table}_append_only" BEFORE UPDATE OR DELETE ON "{table}" '
                           f'FOR EACH ROW EXECUTE FUNCTION "{table}_append_only"()')

"""Several daemons on one database: who runs, who holds what, what ran, and mail of unknown fate.

`node` is one row per running daemon process with its roles and heartbeat; `lease` names a thing
one process holds at a time (a mailbox's poller); `job_run` records each cluster-wide job per period,
so it runs once. An outbox row names the process that claimed it, and when its content was handed
to the relay (`data_at`): a row whose holder died after that is "uncertain", not sent again.
"""
from peewee import CharField, DateTimeField, IntegerField, Model


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Node(Base):
        identity = CharField(max_length=200, unique=True)
        host = CharField(max_length=255)
        pid = IntegerField()
        roles = CharField(max_length=100)
        started_at = DateTimeField()
        heartbeat_at = DateTimeField()
        stopped_at = DateTimeField(null=True)

    class Lease(Base):
        name = CharField(max_length=200, unique=True)
        holder = CharField(max_length=200, null=True)
        until = DateTimeField(null=True)
        taken_at = DateTimeField(null=True)
        takeovers = IntegerField(default=0)

    class JobRun(Base):
        job = CharField(max_length=100)
        period = CharField(max_length=40)
        holder = CharField(max_length=200)
        started_at = DateTimeField()
        finished_at = DateTimeField(null=True)
        attempts = IntegerField(default=1)

        class Meta:
            indexes = ((("job", "period"), True),)

    db.create_tables([Node, Lease, JobRun])
    migrator.migrate(
        migrator.add_column("outbox", "claimed_by", CharField(max_length=200, null=True)),
        migrator.add_column("outbox", "data_at", DateTimeField(null=True)),
    )

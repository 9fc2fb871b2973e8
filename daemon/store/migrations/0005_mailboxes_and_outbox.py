"""IMAP mailboxes and the outbox.

Each mailbox keeps its checkpoint (UIDVALIDITY and the highest UID spooled)
and its health. A spooled mail remembers the mailbox, UIDVALIDITY and UID it
came from, and when it was filed (moved to the processed or quarantine
folder). A claim names the process that holds it, so a restarted daemon
takes back at once what its killed predecessor held, in order, instead of
waiting out the lease. The outbox holds every mail that leaves, written in the same
transaction as the change that caused it.
"""
from peewee import (
    BigIntegerField, BlobField, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField,
    Model, TextField,
)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Ticket(Base):
        pass

    class MailboxState(Base):
        name = CharField(max_length=320, unique=True)
        uidvalidity = BigIntegerField(null=True)
        last_uid = BigIntegerField(default=0)
        status = CharField(max_length=20, default="starting")
        read_only = BooleanField(default=False)
        idle = BooleanField(default=False)
        failing_since = DateTimeField(null=True)
        last_error = TextField(default="")
        last_ok_at = DateTimeField(null=True)
        alerted_at = DateTimeField(null=True)
        updated_at = DateTimeField(null=True)
        careful_until = BigIntegerField(default=0)
        stuck_uid = BigIntegerField(null=True)
        stuck_tries = IntegerField(default=0)

    class Outgoing(Base):
        ticket = ForeignKeyField(Ticket, null=True, on_delete="CASCADE")
        kind = CharField(max_length=20)
        mail_from = CharField(max_length=320)
        recipients = TextField()
        message_id = CharField(max_length=998, index=True)
        subject = TextField(default="")
        data = BlobField()
        state = CharField(max_length=20, default="queued")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField()
        lease_until = DateTimeField(null=True)
        claim_token = CharField(max_length=32, null=True)
        last_error = TextField(default="")
        created_at = DateTimeField()
        sent_at = DateTimeField(null=True)

        class Meta:
            table_name = "outbox"
            indexes = ((("state", "next_attempt_at"), False),)

    db.create_tables([MailboxState, Outgoing])
    migrator.migrate(
        migrator.add_column("inbound", "mailbox", CharField(max_length=320, null=True)),
        migrator.add_column("inbound", "uidvalidity", BigIntegerField(null=True)),
        migrator.add_column("inbound", "imap_uid", BigIntegerField(null=True)),
        migrator.add_column("inbound", "filed_at", DateTimeField(null=True)),
        migrator.add_column("inbound", "claimed_by", CharField(max_length=200, null=True)),
    )
    # The poller's question after each batch: which of my mails are finished but not yet filed?
    db.execute_sql('CREATE INDEX IF NOT EXISTS inbound_unfiled ON inbound (mailbox, state) '
                   'WHERE mailbox IS NOT NULL AND filed_at IS NULL')

"""The first schema: people, tickets, messages, attachments, the spool, the trail."""
import datetime as dt

from peewee import (
    AutoField, BlobField, BooleanField, CharField, DateTimeField, ForeignKeyField,
    IntegerField, Model, TextField,
)


def _now():
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Customer(Base):
        email = CharField(max_length=320, unique=True)
        name = CharField(max_length=200, default="")
        created_at = DateTimeField(default=_now)

    class User(Base):
        username = CharField(max_length=100, unique=True)
        email = CharField(max_length=320, default="")
        name = CharField(max_length=200, default="")
        role = CharField(max_length=20, default="agent")
        password_hash = CharField(max_length=255)
        active = BooleanField(default=True)
        created_at = DateTimeField(default=_now)

    class Ticket(Base):
        number = IntegerField(unique=True, null=True)
        subject = TextField(default="")
        requester = ForeignKeyField(Customer)
        status = CharField(max_length=20, default="new", index=True)
        priority = CharField(max_length=20, default="normal")
        assignee = ForeignKeyField(User, null=True)
        support_address = CharField(max_length=320, default="")
        created_at = DateTimeField(default=_now, index=True)
        updated_at = DateTimeField(default=_now)

    class RawMail(Base):
        sha256 = CharField(max_length=64, unique=True)
        data = BlobField()
        size = IntegerField()
        created_at = DateTimeField(default=_now)

    class Message(Base):
        ticket = ForeignKeyField(Ticket, on_delete="CASCADE")
        kind = CharField(max_length=10, default="inbound")
        message_id = CharField(max_length=998, null=True, index=True)
        in_reply_to = TextField(default="")
        refs = TextField(default="")
        sender_address = CharField(max_length=320, default="")
        sender_name = CharField(max_length=200, default="")
        to_addrs = TextField(default="")
        cc_addrs = TextField(default="")
        subject = TextField(default="")
        sent_at = DateTimeField(null=True)
        created_at = DateTimeField(default=_now)
        body_text = TextField(default="")
        body_visible = TextField(default="")
        body_html = TextField(null=True)
        automatic = CharField(max_length=200, null=True)
        notes = TextField(default="")
        raw = ForeignKeyField(RawMail, null=True)
        author = ForeignKeyField(User, null=True)

    class Attachment(Base):
        message = ForeignKeyField(Message, on_delete="CASCADE")
        filename = CharField(max_length=255)
        content_type = CharField(max_length=255)
        size = IntegerField()
        sha256 = CharField(max_length=64)
        stored = BooleanField(default=True)
        inline = BooleanField(default=False)
        content_id = CharField(max_length=255, null=True)

    class Inbound(Base):
        id = AutoField()
        raw = ForeignKeyField(RawMail)
        origin = CharField(max_length=20)
        origin_detail = TextField(default="")
        mail_from = CharField(max_length=998, null=True)
        state = CharField(max_length=20, default="queued")
        outcome = CharField(max_length=20, null=True)
        reason = TextField(default="")
        detail = TextField(default="")
        attempts = IntegerField(default=0)
        lease_until = DateTimeField(null=True)
        received_at = DateTimeField(default=_now)
        finished_at = DateTimeField(null=True)
        message = ForeignKeyField(Message, null=True)

        class Meta:
            indexes = ((("state", "id"), False),)

    class AuditEvent(Base):
        ticket = ForeignKeyField(Ticket, null=True, on_delete="CASCADE")
        actor = ForeignKeyField(User, null=True)
        action = CharField(max_length=50)
        detail = TextField(default="")
        created_at = DateTimeField(default=_now)

    db.create_tables([Customer, User, Ticket, RawMail, Message, Attachment, Inbound, AuditEvent])

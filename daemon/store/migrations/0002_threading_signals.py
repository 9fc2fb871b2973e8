"""Threading that can be explained: which signal matched, who may append by tag.

Adds the signal that threaded each message, the reference a stranger claimed
in a subject tag, and the addresses that took part in each ticket.
"""
from peewee import CharField, ForeignKeyField, IntegerField, Model


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Ticket(Base):
        pass

    class Participant(Base):
        ticket = ForeignKeyField(Ticket, on_delete="CASCADE")
        address = CharField(max_length=320)

        class Meta:
            indexes = ((("ticket", "address"), True),)

    db.create_tables([Participant])
    migrator.migrate(
        migrator.add_column("message", "thread_signal", CharField(max_length=20, null=True)),
        migrator.add_column("ticket", "claimed_ref", IntegerField(null=True)),
    )

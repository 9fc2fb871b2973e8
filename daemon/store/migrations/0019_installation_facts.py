"""Facts every daemon of one installation must agree on, such as which key signs its Message-IDs.

Only a fingerprint of the key is kept here, never the key: a daemon on another host with a key of
its own (a var/ not copied, a message_id_secret not set everywhere) is refused at start instead of
signing mail and patrol entries that the others cannot verify.
"""
from peewee import CharField, DateTimeField, Model, TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class InstallationFact(Base):
        name = CharField(max_length=100, unique=True)
        value = TextField()
        recorded_at = DateTimeField()

    db.create_tables([InstallationFact])

"""Each spooled mail's own Message-ID, read at the edge: a reply waits for a parent still in the spool."""
from peewee import CharField


def up(migrator, db):
    migrator.migrate(migrator.add_column("inbound", "spooled_id", CharField(max_length=998, null=True)))
    db.execute_sql('CREATE INDEX "inbound_spooled_id" ON "inbound" ("spooled_id")')

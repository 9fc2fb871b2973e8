"""What the outbox needs to keep automatic mail in check, and to learn of bounces.

An automatic mail (an acknowledgement, say) is marked as such and carries
the address it goes to, so the caps (per recipient per hour, per ticket per
few minutes) are one indexed count. A mail that comes back as a delivery
failure is marked bounced, with when and why. The template that produced a
mail is kept with it.
"""
from peewee import BooleanField, CharField, DateTimeField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("outbox", "automatic", BooleanField(default=False)),
        migrator.add_column("outbox", "to_address", CharField(max_length=320, default="")),
        migrator.add_column("outbox", "template", CharField(max_length=64, null=True)),
        migrator.add_column("outbox", "bounced_at", DateTimeField(null=True)),
    )
    # The caps count a recipient's automatic mail of the last hour; a ticket's is found by its own index.
    db.execute_sql('CREATE INDEX IF NOT EXISTS outbox_to_address_created_at ON outbox (to_address, created_at)')

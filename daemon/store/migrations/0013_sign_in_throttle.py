"""Sign-in throttling by name, client address, known browser and current-password check, in one table.

It replaces the lock-out by account name alone (sign_in_failure), which let anyone lock anyone out;
those rows are short-lived counters, so they are dropped, not carried over.
"""
from peewee import CharField, DateTimeField, IntegerField, Model


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class SignInThrottle(Base):
        key = CharField(max_length=200, unique=True)  # "name:<folded name>", "address:<ip>", "browser:<id>"...
        failures = IntegerField(default=0)
        strikes = IntegerField(default=0)
        last_at = DateTimeField()
        blocked_until = DateTimeField(null=True)

    db.create_tables([SignInThrottle])
    db.execute_sql('DROP TABLE "sign_in_failure"')

"""The customer's language: detected on each message, kept on the customer, set by a person if need be.

A team's reply template may have a variant per language: the name alone is no longer unique,
the name and the language are ("" is the base text). Sent mail records the language it went in.
"""
from peewee import CharField, FloatField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("message", "language", CharField(max_length=8, default="")),
        migrator.add_column("message", "language_confidence", FloatField(null=True)),
        migrator.add_column("customer", "language", CharField(max_length=8, default="")),
        migrator.add_column("customer", "language_source", CharField(max_length=10, default="")),
        migrator.add_column("reply_template", "language", CharField(max_length=8, default="")),
        migrator.add_column("outbox", "language", CharField(max_length=8, default="")),
    )
    # Every existing template becomes the base text of its name.
    db.execute_sql('DROP INDEX "reply_template_name"')
    db.execute_sql('CREATE UNIQUE INDEX "reply_template_name_language" ON "reply_template" ("name", "language")')

"""The customer's language: detected on each message, kept on the customer, set by a person if need be.

A team's reply template may have a variant per language: the name alone is no longer unique,
the name and the language are ("" is the base text). Sent mail records the language it went in.
"""

# Plain ALTER TABLE, with the default in the database: the migrator would rebuild a SQLite table
# to add a NOT NULL column, and the rebuild drops the message table's full-text triggers.
_COLUMNS = (
    ("message", "language", "VARCHAR(8) NOT NULL DEFAULT ''"),
    ("message", "language_confidence", "REAL"),
    ("customer", "language", "VARCHAR(8) NOT NULL DEFAULT ''"),
    ("customer", "language_source", "VARCHAR(10) NOT NULL DEFAULT ''"),
    ("reply_template", "language", "VARCHAR(8) NOT NULL DEFAULT ''"),
    ("outbox", "language", "VARCHAR(8) NOT NULL DEFAULT ''"),
)


def up(migrator, db):
    for table, column, kind in _COLUMNS:
        db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {kind}')
    # Every existing template becomes the base text of its name.
    db.execute_sql('DROP INDEX "reply_template_name"')
    db.execute_sql('CREATE UNIQUE INDEX "reply_template_name_language" ON "reply_template" ("name", "language")')

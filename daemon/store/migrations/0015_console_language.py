"""The console in the agent's language: each user's own choice ("" follows the browser)."""
from peewee import CharField


def up(migrator, db):
    migrator.migrate(migrator.add_column("user", "language", CharField(max_length=8, default="")))

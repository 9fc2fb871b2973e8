"""Who holds a spooled mail: a token per claim.

Two claimers (the daemon's worker and `patroldesk ingest`, or two daemons)
may pick the same row between their SELECT and UPDATE on PostgreSQL; with a
token the UPDATE takes only rows still free and each claimer reads back only
the rows it really got.
"""
from peewee import CharField


def up(migrator, db):
    migrator.migrate(migrator.add_column("inbound", "claim_token", CharField(max_length=32, null=True)))

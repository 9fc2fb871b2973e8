"""The `patroldesk` command: the root group (root), and one module per area of commands.

root     the root group, `main`, and the helpers every area shares
serve    init, run, mailboxes, db
cluster  cluster
people   user
tickets  tickets, reply
mail     ingest, quarantine, spool, outbox
patrol   close, patrol
kb       kb
quality  quality (the Article Quality Index)
policy   policy, customer
export   export (tickets and articles, JSON or CSV)
backup   backup, restore
system   install-service, doctor

Each area registers its commands on the root group and imports only root and the domain,
never another area; importing them here is what assembles the command.
"""
# Each registers its commands on import.
from daemon.cli import (  # noqa: F401
    backup, cluster, export, kb, mail, patrol, people, policy, quality, serve, system, tickets,
)
from daemon.cli.root import cli, main

__all__ = ["cli", "main"]

"""The `patroldesk` command."""
from daemon.cli.root import cli, main  # noqa: F401

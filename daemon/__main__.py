"""`python -m daemon` is the `patroldesk` command."""
from daemon.cli import main

main()

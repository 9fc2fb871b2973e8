"""`python -m daemon` is the `patroldesk` command."""
from daemon.cli.root import main

main()

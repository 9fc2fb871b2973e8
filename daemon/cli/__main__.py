"""`python -m daemon.cli` is the `patroldesk` command too."""
from daemon.cli import main

main()

"""`python -m daemon.cli` is the `patroldesk` command too."""
from daemon.cli import main

if __name__ == "__main__":  # not when a process that prepares mail starts from this module
    main()

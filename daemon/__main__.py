"""`python -m daemon` is the `patroldesk` command.

Kept light: a process started to help the daemon (the mail parsers) imports
the daemon's main module again, and must not pay for the whole CLI."""


def main():
    from daemon.cli import main as cli
    return cli()


if __name__ == "__main__":
    main()

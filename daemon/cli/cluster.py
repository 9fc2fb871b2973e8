"""`patroldesk cluster`: the daemons sharing this database, alive or dead, and what each holds.
"""
from __future__ import annotations

import click

from daemon import timefmt
from daemon.cli.root import App, cli, pass_app, print_json
from daemon.config import Config
from daemon.store import cluster
from daemon.store.models import utcnow

KEEP_SECONDS = 3600  # a daemon silent for longer is history, not news


@cli.command("cluster")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def cluster_command(app: App, as_json):
    """The daemons seen in the last hour: alive or not, roles, mailboxes, mail and jobs in hand."""
    app.database()
    state = cluster_state(app.config)
    if as_json:
        print_json(state)
        return
    if not state["daemons"]:
        click.echo("no daemon seen in the last hour (start one with `patroldesk run`)")
    now = utcnow()
    for node in state["daemons"]:
        click.echo(_daemon_line(node, now))
    for box in state["unread_mailboxes"]:
        click.echo(_unread_line(box))


def cluster_state(config: Config) -> dict:
    """What `cluster --json` prints: the daemons, and the configured mailboxes no live daemon reads."""
    daemons = cluster.nodes(config.cluster.dead_after_seconds, keep_seconds=KEEP_SECONDS)
    return {"dead_after_seconds": config.cluster.dead_after_seconds, "daemons": daemons,
            "unread_mailboxes": cluster.unread_mailboxes([box.label for box in config.mailbox], daemons)}


def _daemon_line(node: dict, now) -> str:
    """One daemon: who, whether it runs, what it does, and what it holds."""
    if node["alive"]:
        state = "alive"
    elif node["stopped_at"]:
        state = f"stopped {timefmt.ago(node['stopped_at'], now)}"
    else:
        state = "DEAD (killed or cut off)"
    held = [f"mailboxes {', '.join(node['mailboxes'])}" if node["mailboxes"] else "no mailbox",
            f"spool {node['spool_in_hand']}", f"outbox {node['outbox_in_hand']}",
            f"jobs {', '.join(node['jobs_in_hand'])}" if node["jobs_in_hand"] else "no job"]
    return (f"{node['identity']}  {state}  roles {','.join(node['roles']) or '-'}  "
            f"heartbeat {timefmt.duration(max(0.0, node['heartbeat_age_seconds']))} ago  in hand: {'; '.join(held)}")


def _unread_line(box: dict) -> str:
    last = f" (last held by {box['last_holder']})" if box["last_holder"] else ""
    return f"warning: mailbox {box['mailbox']} is read by no live daemon{last}: its mail waits"

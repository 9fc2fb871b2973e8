"""`patroldesk backup` and `restore`: the installation in one archive, and back into an empty one.

Registered on the `patroldesk` group by daemon.cli; the work is daemon.store.backup's.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from daemon import patrol
from daemon.cli.root import App, cli, pass_app
from daemon.config import EMBEDDED
from daemon.store import db
from daemon.store.backup import database_kind, restore_backup, write_backup


@cli.command("backup")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@pass_app
def backup_command(app: App, out: Path):
    """Write a consistent copy of the installation to OUT (a .tar.gz), while the daemon runs.

    It holds the database (SQLite's online backup, or pg_dump), the attachments,
    the secret keys kept in var/, and a manifest with counts and the patrol log's
    newest hashes. OUT is readable by your user only: it holds the keys.
    """
    app.refuse_a_missing_database()
    manifest = write_backup(app.config, out)
    counts, patrol_heads, files = manifest["counts"], manifest["patrol"], manifest["attachments"]
    reports, reviews = patrol_heads["patrol_report"], patrol_heads["patrol_review"]
    click.echo(f"backup written to {out} ({out.stat().st_size / 2**20:.1f} MB): {manifest['database']} database at "
               f"{(manifest['migrations'] or ['no migrations'])[-1]}, {counts.get('ticket', 0)} tickets, "
               f"{counts.get('message', 0)} messages, {files['files']} attachments ({files['bytes']} bytes); "
               f"patrol log {reports['count']} reports (newest {reports['hash'][:16] or '-'}), "
               f"{reviews['count']} reviews (newest {reviews['hash'][:16] or '-'})")
    keys = ", ".join(f"var/{name}" for name in manifest["keys"])
    if keys:
        click.echo(f"WARNING: {out} HOLDS THE INSTALLATION'S SECRET KEYS ({keys}: they sign Message-IDs, the "
                   f"patrol log and console sessions). Whoever reads it can forge them: keep it as safe as the "
                   f"server (it is mode 0600, for your user only).", err=True)
    if app.config.support.message_id_secret:
        click.echo("note: the signing key is [support] message_id_secret in the configuration file, which is not "
                   "in the backup: keep the configuration with it", err=True)


@cli.command("restore")
@click.argument("archive", type=click.Path(path_type=Path))
@click.option("--into", metavar="URL",
              help="Restore the database into this PostgreSQL database (postgresql://…, empty) instead of the "
                   "configured one: the way from SQLite to PostgreSQL.")
@pass_app
def restore_command(app: App, archive: Path, into: str | None):
    """Restore a backup into this installation, which must be empty; ends with `patrol verify`.

    Every member is checked against the manifest before anything is written, and
    the restored counts after. The attachments and keys go to this installation's var/.
    """
    if into:
        database_kind(into)  # an unknown scheme is refused before anything is read
    restored = restore_backup(app.config, archive, into)
    counts = restored.counts
    click.echo(f"restored {archive} ({restored.manifest['database']} backup of {restored.manifest['created_at']}) "
               f"into {restored.kind}: {counts.get('ticket', 0)} tickets, {counts.get('message', 0)} messages, "
               f"{counts.get('user', 0)} users, {restored.files} files in {app.config.var_dir}; counts match the "
               f"manifest")
    config = app.config
    if into:
        config = dataclasses.replace(config, database=dataclasses.replace(config.database, url=into, password=""))
    db.open_database(config)
    try:
        for name in db.upgrade():
            click.echo(f"applied {name} (the backup was made by an older patroldesk)")
        _verify(config, restored.manifest)
    finally:
        db.database.close()
    if into:
        click.echo(f"the database is now {into}: set [database] url to it in "
                   f"{'a configuration file' if app.config.source == EMBEDDED else app.config.source}")


def _verify(config, manifest: dict) -> None:
    """`patrol verify` on the restored log, whose newest entries must be the backup's."""
    result = patrol.verify(config)
    heads = manifest["patrol"]
    expected = (heads["patrol_report"]["count"], heads["patrol_report"]["hash"][:16],
                heads["patrol_review"]["count"], heads["patrol_review"]["hash"][:16])
    found = (result.reports, result.reports_head, result.reviews, result.reviews_head)
    for chain_break in result.breaks:
        click.echo(f"patroldesk: the chain breaks at {chain_break}", err=True)
    if result.ok and found != expected:
        click.echo(f"patroldesk: the restored patrol log ends at {found}, the backup's at {expected}", err=True)
    if not result.ok or found != expected:
        sys.exit(1)
    click.echo(f"the patrol log verifies: {result.reports} reports (newest {result.reports_head or '-'}) and "
               f"{result.reviews} reviews (newest {result.reviews_head or '-'}), each chained to the one before, "
               f"as in the backup")

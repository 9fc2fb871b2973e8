"""One signing key per installation: every daemon must sign Message-IDs and the patrol log alike.

The key itself stays where it is ([support] message_id_secret, or var/message-id.key); the
database keeps only its fingerprint, recorded by the first daemon to start. A daemon whose key
differs (another host whose var/ was not copied) is refused with what to do, instead of signing
mail whose replies the others cannot thread and patrol entries `patrol verify` cannot prove.
"""
from __future__ import annotations

import hashlib
import hmac

from daemon.config import EMBEDDED, Config
from daemon.errors import KeyMismatch
from daemon.outbound.compose import KEY_FILE, message_id_key
from daemon.store.db import database, insert_if_absent
from daemon.store.models import InstallationFact, utcnow

FINGERPRINT = "message-id key fingerprint"


def fingerprint(config: Config) -> str:
    """A one-way mark of the signing key: equal keys give equal marks, and the mark reveals nothing."""
    return hmac.new(message_id_key(config), b"patroldesk installation key fingerprint",
                    hashlib.sha256).hexdigest()[:32]


def check(config: Config) -> None:
    """Record this key's fingerprint if none is, else refuse (KeyMismatch) a key that differs."""
    mine = fingerprint(config)
    with database.atomic():
        insert_if_absent(InstallationFact, name=FINGERPRINT, value=mine, recorded_at=utcnow())
        recorded = InstallationFact.get(InstallationFact.name == FINGERPRINT).value
    if recorded != mine:
        raise KeyMismatch(_mismatch(config))


def accept(config: Config) -> bool:
    """Make this daemon's key the installation's (the old one is lost for good); False if it was already."""
    mine = fingerprint(config)
    with database.atomic():
        insert_if_absent(InstallationFact, name=FINGERPRINT, value=mine, recorded_at=utcnow())
        return bool(InstallationFact.update(value=mine, recorded_at=utcnow()).where(
            (InstallationFact.name == FINGERPRINT) & (InstallationFact.value != mine)).execute())


def _mismatch(config: Config) -> str:
    where = ("[support] message_id_secret" if config.support.message_id_secret
             else f"{config.var_dir / KEY_FILE}")
    source = "" if config.source == EMBEDDED else f" --config {config.source}"
    return (f"the key that signs Message-IDs and the patrol log ({where}) is not the one the other daemons "
            "of this installation use. Copy var/message-id.key from the host that made it (or from a backup), "
            "or set [support] message_id_secret to one value in every daemon's configuration. Only if the old "
            f"key is lost for good: `patroldesk{source} db accept-key` makes this one the installation's (replies "
            "to older mail then thread by their subject tag, and `patrol verify` cannot prove older entries)")

"""Every daemon of an installation signs with one key: a daemon with another key is refused at start,
with what to do; `db accept-key` adopts a new key only when a person says the old one is lost."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from daemon.errors import KeyMismatch
from daemon.outbound import installation_key
from daemon.service import Service
from daemon.store import db
from daemon.store.models import InstallationFact
from tests.conftest import make_config


def _host(tmp_path, url, name: str, secret: str = ""):
    """A daemon's configuration on a host of its own: its own var/, the shared database."""
    config = make_config(tmp_path / name, url)
    return dataclasses.replace(config, support=dataclasses.replace(config.support, message_id_secret=secret))


def test_a_second_host_with_a_key_of_its_own_is_refused_and_one_with_the_same_key_starts(tmp_path, backend_url):
    first, second = _host(tmp_path, backend_url, "one"), _host(tmp_path, backend_url, "two")
    db.open_database(first)
    db.upgrade()
    service = Service(first)
    service.start()
    service.stop()
    with pytest.raises(KeyMismatch) as refused:
        Service(second).start()
    assert str(second.var_dir / "message-id.key") in str(refused.value)
    assert "db accept-key" in str(refused.value) and "message_id_secret" in str(refused.value)
    # The file copied from the first host: the same key, accepted.
    (second.var_dir / "message-id.key").write_bytes((first.var_dir / "message-id.key").read_bytes())
    from daemon.outbound import compose
    compose._KEYS.clear()
    installation_key.check(second)
    assert InstallationFact.select().count() == 1
    assert (first.var_dir / "message-id.key").read_text().strip() not in InstallationFact.get().value  # a mark only
    db.database.close()


def test_accept_key_adopts_this_key_only_when_asked(tmp_path, backend_url):
    first = _host(tmp_path, backend_url, "one", secret="the old secret that was lost")
    second = _host(tmp_path, backend_url, "two", secret="a new secret")
    db.open_database(first)
    db.upgrade()
    installation_key.check(first)
    with pytest.raises(KeyMismatch):
        installation_key.check(second)
    assert installation_key.accept(second)
    installation_key.check(second)
    assert not installation_key.accept(second)
    with pytest.raises(KeyMismatch) as refused:
        installation_key.check(first)
    assert "[support] message_id_secret" in str(refused.value)
    db.database.close()


def test_run_with_another_key_exits_with_the_reason_and_starts_nothing(tmp_path, backend_url):
    config_file = tmp_path / "patroldesk.toml"
    config_file.write_text(f'[database]\nurl = "{backend_url}"\n[paths]\nvar = "{tmp_path}/var"\n'
                           '[smtp]\nport = 0\n[web]\nenabled = false\n[support]\nmessage_id_secret = "one"\n')

    def patroldesk(*argv):
        return subprocess.run([sys.executable, "-m", "daemon", "--config", str(config_file), *argv],
                              capture_output=True, text=True, timeout=60)
    assert patroldesk("init").returncode == 0
    db.open_database(make_config(tmp_path, backend_url))
    InstallationFact.create(name=installation_key.FINGERPRINT, value="0" * 32)  # another host came first
    db.database.close()
    result = patroldesk("run")
    assert result.returncode != 0 and "is not the one the other daemons" in result.stderr
    assert "Traceback" not in result.stderr and "patroldesk is running" not in result.stdout
    accepted = patroldesk("db", "accept-key")
    assert accepted.returncode == 0 and "now signs for the installation" in accepted.stdout

"""The `patroldesk` command in a process of its own, against a relay: for the tests that kill a sender.

`write_relayed_config` writes the file such a process reads (the test's database, var/ and relay);
`patroldesk` runs one command, with PATROLDESK_CRASH_AT set to kill it at a crash point.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def write_relayed_config(folder: Path, config, support: str) -> Path:
    target = folder / "patroldesk.toml"
    target.write_text(f"""
[database]
url = "{config.database.url}"
[paths]
var = "{config.paths.var}"
[support]
addresses = ["{support}"]
[relay]
host = "127.0.0.1"
port = {config.relay.port}
timeout_seconds = {config.relay.timeout_seconds}
lease_seconds = {config.relay.lease_seconds}
""")
    return target


def patroldesk(config_file: Path, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "PATROLDESK_CRASH_AT"}
    if crash_at:
        environ["PATROLDESK_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-m", "daemon", "--config", str(config_file), *args],
                          capture_output=True, text=True, env=environ, timeout=60)

"""The console for a production WSGI server, apart from the daemon.

    gunicorn --workers 4 --bind 127.0.0.1:8000 'web.wsgi:app'
    waitress-serve --listen 127.0.0.1:8000 --threads 8 web.wsgi:app

Like the CLI, it reads the configuration from $PATROLDESK_CONFIG (else the
embedded defaults) once at import, and refuses a database that is not there or
whose schema is not current. Every worker shares the database and the installation's secret, so
sessions, lock-outs and /metrics are the same whichever worker answers.
Run the daemon with `[web] enabled = false` beside it.
"""
from __future__ import annotations

import os

from daemon import logs
from daemon.config import load_config
from daemon.outbound import installation_key
from daemon.store import db
from web import create_app

os.umask(0o077)  # whatever the server makes (SQLite's journal first) is for this user only
config = load_config(os.environ.get("PATROLDESK_CONFIG") or None, os.environ)
logs.configure(config.log.level)
db.require_sqlite_file(config)
db.open_database(config)
db.require_current_schema()
installation_key.check(config)  # its sessions and links are signed with the installation's one key
app = create_app(config)

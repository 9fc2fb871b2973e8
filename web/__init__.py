"""The console: a Flask application factory and one blueprint per area.

Until the full console lands, it serves a health page (/) and /healthz.
"""
from __future__ import annotations

import sys
from pathlib import Path

from flask import Flask

from daemon.config import Config
from daemon.db import database


def templates_root(config: Config) -> Path:
    """The templates/ folder: configured, beside the code, or installed under share/."""
    if config.paths.templates:
        return Path(config.paths.templates)
    beside_code = Path(__file__).resolve().parent.parent / "templates"
    if beside_code.is_dir():
        return beside_code
    return Path(sys.prefix) / "share" / "patroldesk" / "templates"


def create_app(config: Config) -> Flask:
    app = Flask(__name__, template_folder=str(templates_root(config) / "console"))
    app.config["PATROLDESK"] = config
    from web.health import blueprint as health
    app.register_blueprint(health)

    @app.teardown_appcontext
    def _close_connection(exc):
        if not database.is_closed():
            database.close()

    return app

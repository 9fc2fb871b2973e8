"""The console: a Flask application factory and one blueprint per area.

Until the full console lands, it serves a health page (/) and /healthz.
"""
from __future__ import annotations


from flask import Flask

from daemon.config import Config
from daemon.db import database


def create_app(config: Config) -> Flask:
    app = Flask(__name__, template_folder=str(config.templates_dir / "console"))
    app.config["PATROLDESK"] = config
    from web.health import blueprint as health
    app.register_blueprint(health)

    @app.teardown_appcontext
    def _close_connection(exc):
        if not database.is_closed():
            database.close()

    return app

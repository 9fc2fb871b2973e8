"""The console: a Flask application factory and one blueprint per area.

Every page but sign-in, /healthz, /metrics and the public help center (/help/,
web.help) needs a signed-in user of the right role (web.access); every form that changes anything carries a CSRF
token (Flask-WTF); every response carries the security headers of
web.security; every error, expected or not, is a page in the console's layout
(web.errors). Pages speak the user's language (web.i18n). The pages call
the same domain functions as the CLI.
"""
from __future__ import annotations

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader

from daemon.config import Config
from daemon.store.db import database


def create_app(config: Config, wake_pipeline=None) -> Flask:
    """The console (and the help center); `wake_pipeline`, when this process runs the pipeline, wakes it
    for mail the help center's contact form spooled."""
    app = Flask(__name__, template_folder=str(config.templates_dir / "console"))
    app.jinja_loader = ChoiceLoader([FileSystemLoader(str(config.templates_dir / "console")),
                                     PrefixLoader({"help": FileSystemLoader(str(config.templates_dir / "help"))})])
    app.config["PATROLDESK"] = config
    app.config["PATROLDESK_WAKE_PIPELINE"] = wake_pipeline
    from web.params import IdConverter
    app.url_map.converters["int"] = IdConverter
    from web import access, i18n, security
    i18n.init_app(app)
    security.init_app(app, config)
    access.init_app(app)
    from web import (
        admin, auth, health, knowledge, metrics, patrol, quality, reports, spool, template_variants, tickets,
    )
    for module in (health, metrics, auth, tickets, patrol, knowledge, quality, reports, admin, template_variants,
                   spool):
        app.register_blueprint(module.blueprint)
    from web import help as help_center
    help_center.init_app(app)
    from web import errors, filters
    filters.init_app(app)
    errors.init_app(app)

    @app.teardown_appcontext
    def _close_connection(exc):
        if not database.is_closed():
            database.close()

    return app

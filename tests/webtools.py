"""Helpers for console tests: people of each role, a signed-in test client, CSRF tokens from pages."""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask.testing import FlaskClient

from daemon.people import users
from web import create_app

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


@dataclass
class Console:
    """The app and one account per role (agent, agent2, reviewer, admin)."""
    app: object
    people: dict

    def client(self, username: str | None = None) -> FlaskClient:
        """A test client, signed in as `username` (None: anonymous)."""
        client = self.app.test_client()
        if username is not None:
            sign_in(client, username)
        return client


def make_console(config) -> Console:
    """Needs the database open (the `database` fixture)."""
    people = {name: users.create_user(name, role, PASSWORD, email=f"{name}@support.example", name=name.title())
              for name, role in (("agent", "agent"), ("agent2", "agent"), ("reviewer", "reviewer"),
                                 ("admin", "admin"))}
    app = create_app(config)
    app.config["TESTING"] = True
    return Console(app, people)


def token(client: FlaskClient, path: str = "/sign-in") -> str:
    """The CSRF token of the session, read from a page's form."""
    page = client.get(path).get_data(as_text=True)
    found = _TOKEN.search(page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD):
    response = client.post("/sign-in", data={"username": username, "password": password,
                                             "csrf_token": token(client)})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def post(client: FlaskClient, path: str, data: dict, page: str | None = None):
    """POST a form with the CSRF token of `page` (default: the path itself)."""
    return client.post(path, data={**data, "csrf_token": token(client, page or "/password")})

"""Every route of the console checks who asks: anonymous, too low a role, no CSRF token.

The routes are read from the app itself, so a route added later is checked
too; a route that forgets to name its role is closed to everyone.
"""
from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Blueprint

from daemon.store import db
from daemon.store.models import AuditEvent, SignInThrottle, User
from tests.browser import served
from tests.conftest import make_config
from tests.webtools import PASSWORD, make_console, post, token
from web import create_app
from web.access import PUBLIC, RANKS

LOWER = {"reviewer": "agent", "admin": "reviewer"}


def routes(app):
    """(rule, methods, required role) for every route but static files, with 1 for each id."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", "1", rule.rule)
        role = getattr(app.view_functions[rule.endpoint], "required_role", None)
        found.append((path, rule.methods - {"HEAD", "OPTIONS"}, role))
    return found


def test_every_route_names_its_role(console):
    missing = [path for path, _, role in routes(console.app) if role is None]
    assert not missing
    assert {path for path, _, role in routes(console.app) if role == PUBLIC} == {
        "/sign-in", "/healthz", "/health", "/metrics",
        # the public help center: published articles, search, their answers, the contact form
        "/help/", "/help/search", "/help/1/1", "/help/1/1-1", "/help/1/1/answer", "/help/contact"}


def test_anonymous_users_are_sent_to_sign_in_from_every_other_route(console):
    client = console.client()
    checked = 0
    for path, methods, role in routes(console.app):
        if role == PUBLIC:
            continue
        for method in methods:
            response = client.open(path, method=method, data={"csrf_token": token(client)})
            assert response.status_code == 302, (method, path, response.status_code)
            assert response.headers["Location"].startswith("/sign-in"), path
            checked += 1
    assert checked > 30


def test_a_user_of_too_low_a_role_is_refused_everywhere(console):
    clients = {role: console.client(role) for role in ("agent", "reviewer")}
    checked = 0
    for path, methods, role in routes(console.app):
        if role not in LOWER:
            continue
        client = clients[LOWER[role]]
        for method in methods:
            response = client.open(path, method=method, data={"csrf_token": token(client, "/password")})
            assert response.status_code == 403, (method, path, response.status_code)
            checked += 1
    assert checked > 10


def test_every_state_changing_post_without_a_csrf_token_is_refused(console):
    client = console.client("admin")
    before = (AuditEvent.select().count(), User.select().count())
    checked = 0
    for path, methods, role in routes(console.app):
        if "POST" not in methods:
            continue
        response = client.post(path, data={"text": "x", "username": "admin", "password": PASSWORD})
        assert response.status_code == 400, (path, response.status_code)
        assert "Form expired" in response.get_data(as_text=True) or path == "/sign-in"
        checked += 1
    assert checked > 10
    assert (AuditEvent.select().count(), User.select().count()) == before


def test_a_route_without_a_role_is_closed(config, database):
    app = create_app(config)
    extra = Blueprint("extra", __name__)
    extra.add_url_rule("/forgotten", "forgotten", lambda: "secret")
    app.register_blueprint(extra)
    assert app.test_client().get("/forgotten").status_code == 403


def in_console_layout(response) -> bool:
    page = response.get_data(as_text=True)
    return '<header class="top">' in page and "· patroldesk</title>" in page and "console.css" in page


def test_http_errors_are_pages_in_the_consoles_layout(console):
    agent = console.client("agent")
    for client, method, path, code in ((console.client(), "get", "/no/such/page", 404),
                                       (agent, "get", "/no/such/page", 404),
                                       (agent, "get", "/admin/users", 403),
                                       (agent, "get", "/sign-out", 405),
                                       (agent, "post", "/sign-in", 413)):
        data = {"big": "x" * (11 * 2**20)} if code == 413 else None
        response = getattr(client, method)(path, data=data)
        assert response.status_code == code, path
        assert in_console_layout(response), response.get_data(as_text=True)[:300]
        assert response.headers["X-Frame-Options"] == "DENY"
    assert "There is no such page" in agent.get("/no/such/page").get_data(as_text=True)
    assert "POST" in agent.get("/sign-out").headers["Allow"]


def test_an_unexpected_error_is_logged_and_shown_in_the_consoles_layout(config, database, caplog):
    from web.access import requires
    app = create_app(config)
    broken = Blueprint("broken", __name__)
    broken.add_url_rule("/broken", "broken", requires(PUBLIC)(lambda: 1 / 0))
    app.register_blueprint(broken)
    app.config["TESTING"] = True
    response = app.test_client().get("/broken")
    assert response.status_code == 500 and in_console_layout(response)
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert "ZeroDivisionError" not in response.get_data(as_text=True)
    logged = [r for r in caplog.records if r.name == "patroldesk.web" and r.exc_info]
    assert logged and logged[0].exc_info[0] is ZeroDivisionError


def test_security_headers_on_every_page(console):
    response = console.client("agent").get("/tickets")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


# Signing in --------------------------------------------------------------

def session_of(app, client) -> dict:
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.loads(client.get_cookie("patroldesk_session").value)


def test_the_session_cookie_is_httponly_samesite_and_started_anew_at_sign_in(console):
    client = console.app.test_client()
    form_token = token(client)
    with client.session_transaction() as anonymous:
        anonymous["planted"] = "by whoever handed this browser its cookie"
    before = session_of(console.app, client)
    assert before["planted"] and before["csrf_token"]
    response = client.post("/sign-in", data={"username": "agent", "password": PASSWORD,
                                             "csrf_token": form_token})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    after = session_of(console.app, client)
    assert "planted" not in after and after.get("csrf_token") != before["csrf_token"]
    assert after["_user_id"] == f"{console.people['agent'].id}:0"


def test_the_cookie_is_secure_over_tls(console):
    client = console.app.test_client()
    response = client.get("/sign-in", base_url="https://desk.example")
    assert "Secure" in response.headers["Set-Cookie"]


def test_signing_out_revokes_the_session_cookie(console):
    client = console.client("agent")
    stolen = client.get_cookie("patroldesk_session").value
    post(client, "/sign-out", {})
    thief = console.app.test_client()
    thief.set_cookie("patroldesk_session", stolen)
    assert thief.get("/tickets").status_code == 302


def test_a_password_change_signs_out_other_sessions_but_not_this_one(console):
    here, elsewhere = console.client("agent"), console.client("agent")
    refused = post(here, "/password", {"current": "wrong one", "new": "a new long password",
                                       "again": "a new long password"})
    assert refused.status_code == 400 and "not your current password" in refused.get_data(as_text=True)
    assert post(here, "/password", {"current": PASSWORD, "new": "a new long password",
                                    "again": "a new long password"}).status_code == 302
    assert here.get("/tickets").status_code == 200
    assert elsewhere.get("/tickets").status_code == 302
    fresh = console.app.test_client()
    assert fresh.post("/sign-in", data={"username": "agent", "password": "a new long password",
                                        "csrf_token": token(fresh)}).status_code == 302


def test_repeated_failures_lock_the_name_even_for_the_right_password(console):
    client = console.app.test_client()
    for _ in range(console.app.config["PATROLDESK"].web.failed_sign_ins - 1):
        response = client.post("/sign-in", data={"username": "agent", "password": "nope nope nope",
                                                 "csrf_token": token(client)})
        assert response.status_code == 401 and "Wrong username or password" in response.get_data(as_text=True)
    client.post("/sign-in", data={"username": "agent", "password": "nope", "csrf_token": token(client)})
    locked = client.post("/sign-in", data={"username": "agent", "password": PASSWORD, "csrf_token": token(client)})
    assert locked.status_code == 429 and "Too many failed sign-ins" in locked.get_data(as_text=True)
    assert SignInThrottle.get(SignInThrottle.key == "name:agent").blocked_until is not None


def test_unknown_names_are_locked_alike_and_not_revealed(console):
    client = console.app.test_client()
    response = client.post("/sign-in", data={"username": "nobody", "password": "whatever",
                                             "csrf_token": token(client)})
    assert response.status_code == 401 and "Wrong username or password" in response.get_data(as_text=True)
    assert SignInThrottle.get(SignInThrottle.key == "name:nobody").failures == 1


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(console):
    client = console.app.test_client()
    asked = client.get("/tickets/10001")
    assert asked.headers["Location"].startswith("/sign-in?next=")
    ok = client.post("/sign-in?next=/tickets/10001", data={"username": "agent", "password": PASSWORD,
                                                            "csrf_token": token(client)})
    assert ok.headers["Location"] == "/tickets/10001"
    for target in ("//evil.example/", "/%09/evil.example", "/%5Cevil.example", "%5C%5Cevil.example",
                   "https:evil.example", "https://evil.example/", "/%0d%0aSet-Cookie:x=1", "javascript:alert(1)",
                   "/\\evil.example", "/%5C/evil.example", "//%EF%BC%8Fx", "/%5C%EF%BC%9Fx", "//a%EF%BC%A0b",
                   "/%E3%80%80/evil.example", "%20/evil.example"):
        other = console.app.test_client()
        away = other.post(f"/sign-in?next={target}", data={"username": "agent", "password": PASSWORD,
                                                           "csrf_token": token(other)})
        assert away.status_code == 302 and away.headers["Location"] == "/tickets", target


def test_a_deactivated_users_session_stops_working(console):
    client = console.client("agent")
    User.update(active=False).where(User.username == "agent").execute()
    assert client.get("/tickets").status_code == 302


def test_roles_are_ranked():
    assert RANKS["agent"] < RANKS["reviewer"] < RANKS["admin"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_burst_of_parallel_guesses_gets_no_more_checks_than_the_limit(tmp_path, backend, request):
    """Twenty guesses at once, each from its own browser: only `failed_sign_ins` reach the password check."""
    url = f"sqlite:///{tmp_path}/desk.db" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    config = make_config(tmp_path, url)
    handle = db.open_database(config)
    db.upgrade()
    try:
        console = make_console(config)
        with served(console.app) as base:
            clients = [_browser(base) for _ in range(20)]
            with ThreadPoolExecutor(max_workers=20) as pool:
                answers = list(pool.map(lambda guess: guess(), clients))
        limit = config.web.failed_sign_ins
        assert answers.count(401) <= limit and answers.count(401) + answers.count(429) == 20, answers
        assert SignInThrottle.get(SignInThrottle.key == "name:agent").blocked_until is not None
    finally:
        handle.close()


def _browser(base: str):
    """A guesser with its own cookies and CSRF token, ready to post one wrong password."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/sign-in").read().decode()
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": "agent", "password": "wrong guess", "csrf_token": csrf}).encode()

    def guess() -> int:
        try:
            return opener.open(f"{base}/sign-in", data=form).status
        except urllib.error.HTTPError as exc:
            return exc.code
    return guess

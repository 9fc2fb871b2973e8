"""The reports dashboard: its figures on SQLite and PostgreSQL, its page, and its charts as SVG.

Tickets arrive as real mail through the pipeline, are answered with the
reply template and closed through patrol.close with SBO notes dated by the
note's own `written_at`; only the tickets' opening and first-answer times
are moved back (the daemon stamps them with the present), so every figure
below is known to the minute.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
import xml.etree.ElementTree as ET

import pytest

from daemon.ingest import pipeline
from daemon.ingest.sources import spool
from daemon.knowledge import figures as kb_figures
from daemon.outbound import replies
from daemon.patrol import dashboard
from daemon.patrol import logbook as patrol
from daemon.patrol.logbook import Note
from daemon.store import db
from daemon.store.models import OUTCOME_KINDS, SearchLog, Ticket, utcnow
from tests import kb_corpus
from tests.conftest import make_config
from tests.corpus import simple_mail
from tests.webtools import make_console

SUPPORT = "support@example.org"
CHARTS = ("volume", "outcomes", "first-response", "time-to-close", "deadlines", "link-rate", "reuse", "gaps",
          "self-service", "article-quality")
SVG = "{http://www.w3.org/2000/svg}"
NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def _dates() -> dict:
    today = utcnow().date()
    this_week = dashboard.week_of(today)
    last_week = this_week - dt.timedelta(weeks=1)
    return {"TODAY": today, "THIS_WEEK": this_week, "LAST_WEEK": last_week,
            **{name: last_week + dt.timedelta(days=n) for name, n in (("TUESDAY", 1), ("THURSDAY", 3),
                                                                        ("FRIDAY", 4))}}


TODAY, THIS_WEEK, LAST_WEEK, TUESDAY, THURSDAY, FRIDAY = _dates().values()  # taken again before each test


@pytest.fixture(autouse=True)
def _within_one_day():
    """The figures are relative to today, and rows are written 'now': a test never straddles
    midnight UTC. One that would start in the last 20 seconds of a day waits them out, and the
    dates are taken again at each test's start."""
    now = utcnow()
    left = (dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time()) - now).total_seconds()
    if left < 20:
        time.sleep(left + 0.5)
    globals().update(_dates())


@pytest.fixture
def setup(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url, support={"addresses": [SUPPORT]})
    handle = db.open_database(config)
    db.upgrade()
    console = make_console(config)
    yield config, console
    handle.close()


@pytest.fixture
def console_setup(tmp_path):
    """The page and the routes: one database is enough (the figures run on both, above)."""
    config = make_config(tmp_path, support={"addresses": [SUPPORT]})
    handle = db.open_database(config)
    db.upgrade()
    yield config, make_console(config)
    handle.close()


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour))


_mails = iter(range(1, 1_000_000))


def mail_in(config, sender: str, subject: str, body: str, opened: dt.datetime, **headers) -> Ticket:
    """A customer's mail through the pipeline; its ticket, opened at `opened`."""
    message_id = f"dash{next(_mails)}@example.org"
    spool.enqueue(simple_mail(frm=sender, to=SUPPORT, subject=subject, body=body, message_id=message_id,
                              **headers), "test")
    (result,) = pipeline.drain(config)
    ticket = Ticket.by_number(result.ticket)
    if result.outcome == "created":
        Ticket.update(created_at=opened).where(Ticket.id == ticket.id).execute()
    ticket.first_message_id = message_id
    return ticket


def answer(config, ticket: Ticket, agent, answered: dt.datetime) -> None:
    """A person's reply (which stamps the first response), moved to `answered`."""
    replies.send_templated(config, ticket, "reply", "reply", agent=agent, body="We are looking at it now.")
    assert Ticket.get_by_id(ticket.id).first_response_at is not None
    Ticket.update(first_response_at=answered).where(Ticket.id == ticket.id).execute()


def note_of(item: kb_corpus.CorpusTicket, **changes) -> Note:
    return dataclasses.replace(Note(situation=item.situation, behaviour=item.behaviour, outcome=item.outcome,
                                    outcome_kind=item.outcome_kind, cause=item.cause, tags=item.tags), **changes)


@dataclasses.dataclass
class History:
    tickets: list[Ticket]
    reports: list


def last_week(config, agent) -> History:
    """Last week: three tickets of one problem opened on Tuesday, answered after 2, 4 and 1 hours;
    the first two closed on Thursday after 48 hours (drafting an article, then reusing it), the
    third on Friday after 72 hours with no response (nothing captured). A fourth opened on
    Thursday is not answered yet."""
    items = [t for t in kb_corpus.TICKETS if t.problem == kb_corpus.TICKETS[0].problem]
    opened = [at(TUESDAY, 8), at(TUESDAY, 9), at(TUESDAY, 10)]
    tickets = [mail_in(config, f"{item.customer_name} <{item.customer_email}>", item.subject, item.body, moment)
               for item, moment in zip(items, opened)]
    for ticket, moment in zip(tickets, (at(TUESDAY, 10), at(TUESDAY, 13), at(TUESDAY, 11))):
        answer(config, ticket, agent, moment)
    reports = [patrol.close(config, tickets[0], note_of(items[0]), agent, written_at=at(THURSDAY, 8)),
               patrol.close(config, tickets[1], note_of(items[1]), agent, written_at=at(THURSDAY, 9)),
               patrol.close(config, tickets[2], note_of(items[2], outcome_kind="no-response"), agent,
                            written_at=at(FRIDAY, 10))]
    assert [r.capture.action for r in reports] == ["drafted", "reused", "skipped"]
    tickets.append(mail_in(config, "Nils <nils@example.org>", "Invoice copy", "Please send me March's invoice.",
                           at(THURSDAY, 12)))
    return History(tickets, reports)


def by_week(rows) -> dict:
    return {row.week: row for row in rows}


# The figures ---------------------------------------------------------------------------

def test_opened_and_closed_per_day(setup):
    config, console = setup
    last_week(config, console.people["agent"])
    days = {d.day: (d.opened, d.closed) for d in dashboard.volume(dashboard.period(30))}
    assert len(days) == 30 and list(days)[-1] == TODAY.isoformat()
    assert days[TUESDAY.isoformat()] == (3, 0)
    assert days[THURSDAY.isoformat()] == (1, 2)
    assert days[FRIDAY.isoformat()] == (0, 1)
    assert sum(o for o, _ in days.values()) == 4 and sum(c for _, c in days.values()) == 3


def test_the_period_starts_at_midnight_of_its_first_day(setup):
    config, _ = setup
    first_day = TODAY - dt.timedelta(days=6)
    for n, opened in enumerate((at(first_day, 0), at(first_day, 0) - dt.timedelta(seconds=1), at(TODAY, 9))):
        mail_in(config, f"c{n}@example.org", f"Question {n}", "Where is my parcel?", opened)
    week = {d.day: d.opened for d in dashboard.volume(dashboard.period(7))}
    assert list(week) == [(first_day + dt.timedelta(days=n)).isoformat() for n in range(7)]
    assert (week[first_day.isoformat()], week[TODAY.isoformat()], sum(week.values())) == (1, 1, 2)
    assert sum(d.opened for d in dashboard.volume(dashboard.period(8))) == 3


def test_outcome_kinds_per_week_count_a_corrected_note_with_its_newest_kind(setup):
    config, console = setup
    agent = console.people["agent"]
    history = last_week(config, agent)
    weeks = by_week(dashboard.outcomes(dashboard.period(30)))
    assert list(weeks[LAST_WEEK.isoformat()].counts) == list(OUTCOME_KINDS)
    assert {k: n for k, n in weeks[LAST_WEEK.isoformat()].counts.items() if n} == {"resolved": 2, "no-response": 1}
    item = kb_corpus.TICKETS[0]
    correction = patrol.correct(config, history.reports[0], note_of(item, outcome_kind="workaround"), agent)
    patrol.correct(config, correction, note_of(item, outcome_kind="escalated"), agent)
    weeks = by_week(dashboard.outcomes(dashboard.period(30)))
    assert {k: n for k, n in weeks[LAST_WEEK.isoformat()].counts.items() if n} == {
        "resolved": 1, "escalated": 1, "no-response": 1}
    assert not any(weeks[THIS_WEEK.isoformat()].counts.values())  # the corrections were written today
    assert dashboard.volume(dashboard.period(30))[-1].closed == 0


def test_median_and_p90_of_first_response_leave_out_tickets_not_answered(setup):
    config, console = setup
    last_week(config, console.people["agent"])
    week = by_week(dashboard.first_response(dashboard.period(30)))[LAST_WEEK.isoformat()]
    # answered after 1, 2 and 4 hours: p90 is 2 + 0.8 * (4 - 2)
    assert (week.count, week.median, week.p90, week.waiting) == (3, 2.0, 3.6, 1)


def test_time_to_close_is_to_the_first_close_by_the_week_of_that_close(setup):
    config, console = setup
    agent = console.people["agent"]
    history = last_week(config, agent)
    # The first ticket comes back and is closed again: a second close, not a second wait.
    first = history.tickets[0]
    mail_in(config, "x@example.org", "Re: " + first.subject, "It is blank again.", utcnow(),
            in_reply_to=first.first_message_id)
    assert Ticket.get_by_id(first.id).status == "open"
    item = kb_corpus.TICKETS[0]
    patrol.close(config, first, note_of(item), agent, notify=False)
    weeks = by_week(dashboard.time_to_close(dashboard.period(30)))
    # 48, 48 and 72 hours: p90 is 48 + 0.8 * (72 - 48)
    assert (weeks[LAST_WEEK.isoformat()].count, weeks[LAST_WEEK.isoformat()].median,
            weeks[LAST_WEEK.isoformat()].p90) == (3, 48.0, 67.2)
    assert weeks[THIS_WEEK.isoformat()].count == 0
    assert dashboard.volume(dashboard.period(30))[-1].closed == 1  # ... but it was closed today


def test_link_rate_and_reuse_against_create(setup):
    config, console = setup
    last_week(config, console.people["agent"])
    weeks = by_week(dashboard.knowledge(dashboard.period(30)))
    closed = weeks[LAST_WEEK.isoformat()]
    assert (closed.closed, closed.linked, closed.link_rate) == (3, 2, 0.667)
    links = weeks[THIS_WEEK.isoformat()]  # made when the notes were saved, today
    assert (links.reused, links.created) == (1, 1)
    assert weeks[THIS_WEEK.isoformat()].link_rate is None


def test_the_gaps_are_the_searches_of_the_period(setup):
    _, console = setup
    agent = console.people["agent"]
    for typed in ("kvantedatamaskin krasjer", "kvantedatamaskinen krasjet", "vpn"):
        kb_figures.search_articles(typed, user=agent)
    (gap,) = dashboard.gaps(dashboard.period(30))
    assert (gap.words, gap.searches, gap.found_nothing) == ("kvantedatamaskinen krasjet", 2, 2)
    SearchLog.update(created_at=utcnow() - dt.timedelta(days=31)).where(SearchLog.words == "vpn").execute()
    kb_figures.search_articles("vpn", user=agent)
    assert [g.words for g in dashboard.gaps(dashboard.period(30))] == ["kvantedatamaskinen krasjet"]
    assert [g.words for g in dashboard.gaps(dashboard.period(32))] == ["kvantedatamaskinen krasjet", "vpn"]


def test_an_empty_database_gives_a_row_per_day_and_week_and_no_times(setup):
    span = dashboard.period(7)
    assert [d.opened + d.closed for d in dashboard.volume(span)] == [0] * 7
    weeks = dashboard.first_response(span)
    assert len(weeks) in (1, 2) and all(w.median is None and w.count == 0 for w in weeks)
    assert all(w.link_rate is None for w in dashboard.knowledge(span)) and dashboard.gaps(span) == []


@pytest.mark.parametrize("typed, problem", [
    ("6", "a period is 7 to 365 days, not 6"), ("366", "a period is 7 to 365 days, not 366"),
    ("a week", "a period is a whole number of days, 7 to 365, not 'a week'"),
    ("-30", "a period is a whole number of days, 7 to 365, not '-30'"),
    ("²", "a period is a whole number of days, 7 to 365, not '²'"),
    ("9" * 5000, "a period is a whole number of days, 7 to 365, not '" + "9" * 20 + "…'"),
])
def test_a_period_outside_7_to_365_whole_days_is_refused(typed, problem):
    with pytest.raises(dashboard.PeriodRefused) as refused:
        dashboard.period_of(typed)
    assert str(refused.value) == problem


def test_weeks_start_on_monday_and_cover_the_whole_period():
    span = dashboard.period(10, now=dt.datetime(2024, 5, 15, 12))  # a Wednesday
    assert span.first_day == dt.date(2024, 5, 6) and span.week_keys() == ["2024-05-06", "2024-05-13"]
    assert dashboard.period(7, now=dt.datetime(2024, 5, 12)).week_keys() == ["2024-05-06"]
    assert dashboard.percentile([5.0], 0.9) == 5.0 and dashboard.percentile([], 0.5) is None


# The page and its charts -------------------------------------------------------------------

def _page(client, query: str = ""):
    response = client.get("/reports/" + query)
    return response, response.get_data(as_text=True)


def test_the_page_is_for_reviewers(console_setup):
    _, console = console_setup
    assert console.client("reviewer").get("/reports/").status_code == 200
    assert console.client("admin").get("/reports/").status_code == 200
    assert console.client("agent").get("/reports/").status_code == 403
    anonymous = console.client().get("/reports/")
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.headers["Location"]
    agent, anonymous = console.client("agent"), console.client()
    for name in CHARTS:
        assert agent.get(f"/reports/charts/{name}.svg").status_code == 403
        assert anonymous.get(f"/reports/charts/{name}.svg").status_code == 302


def test_the_page_shows_every_chart_as_an_image_with_its_numbers_beneath(console_setup):
    config, console = console_setup
    last_week(config, console.people["agent"])
    response, page = _page(console.client("reviewer"))
    assert response.status_code == 200
    assert page.count("<figure") == len(CHARTS) and page.count("<figcaption>") == len(CHARTS)
    assert page.count("<details>") == len(CHARTS) and '<div class="charts">' in page
    for name in CHARTS:
        assert re.search(rf'<img src="/reports/charts/{name}\.svg\?days=30"[^>]*alt="[^"]+"', page), name
    volume = _section(page, "volume")
    assert f'<th scope="row">{TUESDAY.isoformat()}</th><td class="num">3</td><td class="num">0</td>' in volume
    assert f'<th scope="row">{THURSDAY.isoformat()}</th><td class="num">1</td><td class="num">2</td>' in volume
    response_times = _section(page, "first-response")
    assert (f'<th scope="row">{LAST_WEEK.isoformat()}</th><td class="num">3</td><td class="num">1</td>'
            '<td class="num">2.0</td><td class="num">3.6</td>') in response_times
    assert f'<th scope="row">{LAST_WEEK.isoformat()}</th><td class="num">3</td><td class="num">2</td>' \
           '<td class="num">66.7</td>' in _section(page, "link-rate")
    assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son\w+=", page)  # the page CSP allows none


def _section(page: str, name: str) -> str:
    found = re.search(rf'<figure id="{name}">(.*?)</figure>', page, re.S)
    assert found, name
    return " ".join(found.group(1).split()).replace("> <", "><")


@pytest.mark.parametrize("typed, shown", [("abc", 30), ("3", 30), ("400", 30), ("", 30), ("90", 90)])
def test_a_bad_period_shows_a_message_and_the_default(console_setup, typed, shown):
    _, console = console_setup
    response, page = _page(console.client("reviewer"), f"?days={typed}")
    assert response.status_code == 200
    assert f"The last {shown} days" in page and f"/reports/charts/volume.svg?days={shown}" in page
    if shown == 30 and typed:
        assert 'aria-invalid="true"' in page and "showing the last 30 days." in page
        assert f'value="{typed}"' in page  # what was typed stays in the field
    else:
        assert 'aria-invalid' not in page


def _svg(client, name: str, query: str = "?days=30"):
    response = client.get(f"/reports/charts/{name}.svg{query}")
    assert response.status_code == 200, name
    assert response.headers["Content-Type"] == "image/svg+xml"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    text = response.get_data(as_text=True)
    root = ET.fromstring(response.data)  # well-formed XML
    assert root.tag == f"{SVG}svg", name
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    assert urls <= NAMESPACES, (name, urls - NAMESPACES)
    assert root.find(f".//{SVG}script") is None and "<!--" not in text
    return root, text


def _texts(root) -> set[str]:
    return {(node.text or "").strip() for node in root.iter() if node.tag in (f"{SVG}text", f"{SVG}desc")}


def test_every_chart_is_svg_with_its_labels_and_no_network_address(setup):
    config, console = setup
    agent = console.people["agent"]
    last_week(config, agent)
    for typed in ("skrivar blekk", "skrivar blekk", "skriver blekket"):
        kb_figures.search_articles(typed, user=agent, log=True)
    client = console.client("reviewer")
    labels = {name: _texts(_svg(client, name)[0]) for name in CHARTS}
    assert {"opened", "closed", TUESDAY.isoformat(), "3"} <= labels["volume"]
    assert {"resolved", "no-response", LAST_WEEK.isoformat()} <= labels["outcomes"]
    assert {"median hours", "p90 hours", "2", "3.6"} <= labels["first-response"]
    assert {"median hours", "p90 hours", "48", "67.2"} <= labels["time-to-close"]
    assert {"link rate %", "66.7"} <= labels["link-rate"]
    assert {"reused", "created", THIS_WEEK.isoformat()} <= labels["reuse"]
    assert {"searches", "found nothing"} <= labels["gaps"]
    assert any(text.startswith("skriv") for text in labels["gaps"])


def test_an_empty_database_draws_every_chart(console_setup):
    _, console = console_setup
    client = console.client("reviewer")
    for name in CHARTS:
        root, _ = _svg(client, name, "?days=365")
    assert "No data" in _texts(_svg(client, "gaps")[0])
    assert "No data" in _texts(_svg(client, "time-to-close")[0])
    assert _page(client)[0].status_code == 200


def test_an_unknown_chart_is_not_found_and_a_bad_period_draws_the_default(console_setup):
    _, console = console_setup
    client = console.client("reviewer")
    assert client.get("/reports/charts/secrets.svg").status_code == 404
    root, _ = _svg(client, "volume", "?days=oops")
    assert (TODAY - dt.timedelta(days=29)).isoformat() in _texts(root)


def test_new_problems_of_the_period_export_as_csv_and_the_weeks_show_new_against_known(console):
    import csv
    import io

    from daemon.knowledge import articles as knowledge
    from daemon.knowledge.articles import ArticleText
    from daemon.mail.parse import Address
    from daemon.tickets import lifecycle as tickets
    config = console.app.config["PATROLDESK"]
    agent = console.people["agent"]
    customer = tickets.customer_for(Address("Åse", "ase@example.no"))
    first = tickets.open_ticket(customer, "Printer offline", "help@example.no", config.threading.first_number)
    again = tickets.open_ticket(customer, "Printer offline again", "help@example.no", config.threading.first_number)
    drafted = knowledge.create_article(ArticleText(title="Printer shows offline after the update",
                                                   issue="Offline since Tuesday.", environment="printer, windows"),
                                       agent, ticket=first)
    knowledge.link(drafted, first, "created", agent)
    knowledge.link(drafted, again, "reused", agent)
    knowledge.create_article(ArticleText(title="Written by hand, from no ticket", issue="Asked in a meeting."), agent)
    client = console.client("reviewer")
    page = client.get("/reports/?days=30").get_data(as_text=True)
    assert "/reports/new-problems.csv?days=30" in page and "known, %" in page
    response = client.get("/reports/new-problems.csv?days=30")
    assert response.status_code == 200 and response.content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["article"], r["title"], r["ticket"], r["tickets"], r["tags"]) for r in rows] == [
        (str(drafted.id), "Printer shows offline after the update", str(first.number), "2", "printer, windows")]
    (week,) = [w for w in dashboard.knowledge(dashboard.period(30)) if w.reused or w.created]
    assert (week.reused, week.created, week.known_share) == (1, 1, 0.5)
    assert console.client("agent").get("/reports/new-problems.csv").status_code == 403

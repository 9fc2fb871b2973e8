"""The reviewers' patrol pages: the log and its filters, a report with its revisions and reviews, the review form.

Reports are written by the domain (patrol.close, correct, review), as every
front door writes them; the pages are read and posted through Flask's test
client on a real database.
"""
from __future__ import annotations

import datetime as dt
import re

import web.patrol
from daemon.mail.parse import Address
from daemon.patrol import logbook as patrol
from daemon.patrol.logbook import Note
from daemon.store.models import PatrolReview, Policy, utcnow
from daemon.tickets import lifecycle as tickets
from tests import webtools

GOOD = dict(situation="Åse could not print from the third-floor printer after Tuesday's update.",
            behaviour="Checked the queue, restarted the spooler, then reinstalled the vendor's driver.",
            outcome="Printing works again: the update had put a generic driver in place of the vendor's.",
            cause="the update replaces vendor printer drivers", tags=("printer", "windows"))


def config_of(console):
    return console.app.config["PATROLDESK"]


_opened = iter(range(1, 1_000_000))


def closed_ticket(console, agent="agent", subject="The printer does not print", days_ago=0, **note):
    """A ticket opened and closed with a note by `agent`, dated `days_ago`; its report."""
    config = config_of(console)
    customer = tickets.customer_for(Address("Åse Berg", f"ase{next(_opened)}@example.no"))
    ticket = tickets.open_ticket(customer, subject, "help@example.no", config.threading.first_number)
    values = {**GOOD, "outcome_kind": "resolved", **note}
    return patrol.close(config, ticket, Note(**values), console.people[agent], notify=False,
                        written_at=utcnow() - dt.timedelta(days=days_ago))


def listed(page: str) -> list[int]:
    """The report ids of the log's rows, in the order shown."""
    return [int(n) for n in re.findall(r'<td class="num"><a href="/patrol/(\d+)">', page)]


def text(response) -> str:
    return response.get_data(as_text=True)


# Who may see it -------------------------------------------------------------------

def test_agents_are_refused_and_strangers_sent_to_sign_in(console):
    report = closed_ticket(console)
    agent = console.client("agent")
    assert agent.get("/patrol/").status_code == 403
    assert agent.get(f"/patrol/{report.id}").status_code == 403
    refused = webtools.post(agent, f"/patrol/{report.id}/review",
                            {"verdict": "sound", "analysis": "fine", "decision": "none"})
    assert refused.status_code == 403 and PatrolReview.select().count() == 0
    stranger = console.client()
    response = stranger.get(f"/patrol/{report.id}")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    assert console.client("admin").get("/patrol/").status_code == 200


def test_a_review_without_its_csrf_token_is_refused(console):
    report = closed_ticket(console)
    response = console.client("reviewer").post(f"/patrol/{report.id}/review", data={
        "verdict": "sound", "analysis": "Careful work.", "decision": "Nothing to change."})
    assert response.status_code == 400 and "Form expired" in text(response)
    assert PatrolReview.select().count() == 0


# The log --------------------------------------------------------------------------

def test_the_log_shows_what_did_not_end_well_first_then_the_newest(console_on):
    resolved_old = closed_ticket(console_on, days_ago=4, subject="Old and fine")
    oldest = closed_ticket(console_on, days_ago=3, outcome_kind="not-resolved")
    middle = closed_ticket(console_on, days_ago=2, outcome_kind="escalated")
    newest = closed_ticket(console_on, days_ago=0, subject="Sound <b>and</b> new")
    reviewer = console_on.client("reviewer")
    page = text(reviewer.get("/patrol/"))
    assert listed(page) == [oldest.id, middle.id, newest.id, resolved_old.id]
    assert "Sound &lt;b&gt;and&lt;/b&gt; new" in page
    assert f'href="/tickets/{newest.ticket.number}"' in page and "not reviewed" in page
    assert listed(text(reviewer.get("/patrol/?order=newest"))) == [newest.id, middle.id, oldest.id, resolved_old.id]


def test_the_log_filters_by_agent_outcome_tag_period_and_review(console):
    by_agent2 = closed_ticket(console, agent="agent2", days_ago=5, tags=("mail",), outcome_kind="workaround")
    printer = closed_ticket(console, days_ago=1)
    recent = closed_ticket(console, days_ago=0, tags=("vpn",), cause="an expired certificate")
    patrol.review(config_of(console), printer, "sound", "Well done.", "Nothing to change.", console.people["reviewer"])
    reviewer = console.client("reviewer")
    today = utcnow().date()

    def shown(query: str) -> list[int]:
        return sorted(listed(text(reviewer.get(f"/patrol/?{query}"))))

    assert shown("agent=agent2") == [by_agent2.id]
    assert shown("kind=workaround") == [by_agent2.id]
    assert shown("tag=printer") == [printer.id]
    assert shown("cause=certificate") == [recent.id]
    assert shown("reviewed=no") == [by_agent2.id, recent.id]
    assert shown("reviewed=yes") == [printer.id]
    since, until = today - dt.timedelta(days=1), today - dt.timedelta(days=1)
    assert shown(f"since={since}&until={until}") == [printer.id]  # the last day is included
    assert shown(f"until={today - dt.timedelta(days=2)}") == [by_agent2.id]


def test_a_filter_it_cannot_read_is_named_and_kept(console):
    closed_ticket(console)
    response = console.client("reviewer").get("/patrol/?since=last+week&kind=lost&tag=printer")
    page = text(response)
    assert response.status_code == 400
    assert "a day as YYYY-MM-DD, not &#39;last week&#39;" in page and 'value="last week"' in page
    assert 'id="kind-error">one of resolved, workaround' in page
    assert 'name="tag" value="printer"' in page and listed(page) == []


def test_the_log_pages_keep_the_filters(console, monkeypatch):
    monkeypatch.setattr(web.patrol, "PER_PAGE", 2)
    reports = [closed_ticket(console) for _ in range(5)][::-1]  # the newest first
    closed_ticket(console, agent="agent2")
    reviewer = console.client("reviewer")
    first = text(reviewer.get("/patrol/?agent=agent"))
    assert listed(first) == [reports[0].id, reports[1].id]
    assert 'href="/patrol/?agent=agent&amp;page=2"' in first
    third = text(reviewer.get("/patrol/?agent=agent&page=3"))
    assert listed(third) == [reports[4].id] and 'rel="next"' not in third and 'page=2" rel="prev"' in third


# A report and its reviews ---------------------------------------------------------

def test_a_report_shows_its_note_ticket_revisions_and_reviews(console):
    first = closed_ticket(console, subject="Skriveren virker ikke")
    config = config_of(console)
    patrol.review(config, first, "needs-follow-up", "The driver was not checked first.", "Check drivers first.",
                  console.people["reviewer"])
    second = patrol.correct(config, first, Note(**{**GOOD, "outcome_kind": "workaround",
                                                   "outcome": "A generic driver prints until the vendor's is back."}),
                            console.people["agent"])
    reviewer = console.client("reviewer")
    page = text(reviewer.get(f"/patrol/{second.id}"))
    assert "Skriveren virker ikke" in page and f'href="/tickets/{first.ticket.number}"' in page
    assert "Åse Berg" in page and "@example.no" in page and "0 in, 0 out" in page
    assert GOOD["situation"].replace("'", "&#39;") in page and "A generic driver prints" in page
    assert f'href="/patrol/{first.id}"' in page and "corrects " + str(first.id) in page
    assert "needs-follow-up" in page and "Check drivers first." in page and f"(of report {first.id})" in page
    old = text(reviewer.get(f"/patrol/{first.id}"))
    assert f'the current one is <a href="/patrol/{second.id}">' in " ".join(old.split())
    missing = reviewer.get("/patrol/999999")
    assert missing.status_code == 404 and "no patrol report 999999" in text(missing)


def test_a_review_written_from_the_form_appears_on_the_report_page(console_on):
    report = closed_ticket(console_on)
    reviewer = console_on.client("reviewer")
    response = webtools.post(reviewer, f"/patrol/{report.id}/review", {
        "verdict": "exemplary", "analysis": "Found the driver swap in ten minutes.",
        "decision": "Share the driver check with the team."})
    assert response.status_code == 302 and response.headers["Location"] == f"/patrol/{report.id}"
    (review,) = PatrolReview.select()
    assert (review.verdict, review.reviewer_id) == ("exemplary", console_on.people["reviewer"].id)
    page = text(reviewer.get(f"/patrol/{report.id}"))
    assert f"Review {review.id} written (exemplary)." in page
    assert "Found the driver swap in ten minutes." in page and "Share the driver check with the team." in page
    assert "reviewed" in text(reviewer.get("/patrol/?reviewed=yes")) and patrol.verify(config_of(console_on)).ok
    assert Policy.select().count() == 0  # no policy asked for, none written


def test_a_refused_review_names_each_field_and_keeps_the_text(console):
    report = closed_ticket(console)
    response = webtools.post(console.client("reviewer"), f"/patrol/{report.id}/review", {
        "verdict": "fine", "analysis": "  ", "decision": "Keep checking the drivers <first>."})
    page = text(response)
    assert response.status_code == 400 and PatrolReview.select().count() == 0
    assert 'id="analysis-error">missing: write why it went as it went' in page
    assert 'id="verdict-error">one of sound, needs-follow-up, exemplary' in page
    assert "Keep checking the drivers &lt;first&gt;.</textarea>" in page


def test_a_review_can_write_the_policy_it_decides(console):
    report = closed_ticket(console)
    response = webtools.post(console.client("reviewer"), f"/patrol/{report.id}/review", {
        "verdict": "needs-follow-up", "analysis": "A big customer waited three mails.",
        "decision": "Escalate big spenders at once.", "policy_name": "big spenders at once",
        "policy_condition": "customer.monthly_spend >= 10000", "policy_action": "escalate",
        "policy_description": "From the review of a printer ticket."})
    assert response.status_code == 302
    (policy,) = Policy.select()
    (review,) = PatrolReview.select()
    assert (policy.name, policy.action, policy.from_review_id, policy.created_by_id) == (
        "big spenders at once", "escalate", review.id, console.people["reviewer"].id)


def test_a_refused_policy_takes_its_review_back(console_on):
    report = closed_ticket(console_on)
    reviewer = console_on.client("reviewer")
    review = {"verdict": "sound", "analysis": "The driver swap was found quickly.", "decision": "Write it down."}
    bad_condition = webtools.post(reviewer, f"/patrol/{report.id}/review", {
        **review, "policy_name": "spenders", "policy_condition": "customer.spend >>= 3", "policy_action": "shout"})
    page = text(bad_condition)
    assert bad_condition.status_code == 400
    assert 'id="policy_condition-error">condition, column' in page and "cannot read it" in page
    assert "action &#39;shout&#39;: one of priority:" in page
    assert "The driver swap was found quickly.</textarea>" in page and "customer.spend &gt;&gt;= 3</textarea>" in page
    # A name only save_policy checks: the review was written in the transaction, and goes with it.
    bad_name = webtools.post(reviewer, f"/patrol/{report.id}/review", {
        **review, "policy_name": "x" * 101, "policy_condition": "ticket.priority == 'urgent'",
        "policy_action": "notify-reviewers"})
    assert bad_name.status_code == 400 and "a policy&#39;s name is 1 to 100 characters" in text(bad_name)
    assert PatrolReview.select().count() == 0 and Policy.select().count() == 0
    assert webtools.post(reviewer, f"/patrol/{report.id}/review", review).status_code == 302
    assert PatrolReview.select().count() == 1 and patrol.verify(config_of(console_on)).ok  # the chain never broke

"""The patrol digest for a seeded week: counts against the week before, what did not end well first."""
from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest

from daemon.config import load_config
from daemon.errors import ConfigError
from daemon.mail.parse import Address
from daemon.patrol import digest, policies
from daemon.patrol import logbook as patrol
from daemon.patrol.logbook import Note
from daemon.people.users import create_user
from daemon.store import db
from daemon.store.db import database
from daemon.store.models import Outgoing, PolicyFiring
from daemon.tickets import lifecycle as tickets
from tests.conftest import make_config

SUPPORT = "hjelp@example.no"
MONDAY = dt.datetime(2026, 11, 16)  # the week seeded: Monday 16 to Sunday 22 November


@pytest.fixture
def seeded(tmp_path, backend_url):
    config = make_config(tmp_path, backend_url, support={"addresses": [SUPPORT]},
                         patrol={"digest_to": ["leder@example.no"]})
    handle = db.open_database(config)
    db.upgrade()
    agent = create_user("kari", "agent", "korrekt-hest-batteri")
    reviewer = create_user("olga", "reviewer", "korrekt-hest-batteri", email="olga@example.no")
    week_before = MONDAY - dt.timedelta(days=7)
    written = {}
    for n, (kind, day) in enumerate([("resolved", week_before), ("resolved", week_before + dt.timedelta(days=2)),
                                     ("not-resolved", week_before + dt.timedelta(days=3)),
                                     ("resolved", MONDAY), ("not-resolved", MONDAY + dt.timedelta(days=1)),
                                     ("escalated", MONDAY + dt.timedelta(days=2)),
                                     ("not-resolved", MONDAY + dt.timedelta(days=4, hours=23)),
                                     ("workaround", MONDAY + dt.timedelta(days=6, hours=23, minutes=59))]):
        with database.atomic():
            ticket = tickets.open_ticket(tickets.customer_for(Address("", f"kunde{n}@example.no")), f"Sak {n}",
                                         SUPPORT, 10001)
        note = Note(situation=f"Kunde {n} kunne ikke logge inn i nettbanken etter oppdateringen.",
                    behaviour="Sjekket loggen, nullstilte passordet og ba kunden prøve igjen.",
                    outcome=f"Utfall {n}: kunden kom inn igjen, eller ikke, se utfallstypen.", outcome_kind=kind)
        written[n] = patrol.close(config, ticket, note, agent, notify=False, written_at=day)
    patrol.review(config, written[4], "needs-follow-up", "The login service was down.", "Ask ops for alerts.", reviewer,
                  written_at=MONDAY + dt.timedelta(days=3))
    patrol.review(config, written[3], "sound", "Fine.", "Nothing.", reviewer, written_at=MONDAY + dt.timedelta(days=3))
    policy = policies.save_policy("vip", "customer.domain == 'example.no'", "priority:high")
    PolicyFiring.create(policy=policy, ticket=written[5].ticket_id, created_at=MONDAY + dt.timedelta(days=2))
    PolicyFiring.create(policy=policy, ticket=written[6].ticket_id, created_at=MONDAY + dt.timedelta(days=4))
    yield config, written
    handle.close()


def test_the_digest_counts_the_week_against_the_week_before_unresolved_first(seeded):
    config, written = seeded
    built = digest.build(MONDAY, MONDAY + dt.timedelta(days=7))
    assert [(g.outcome_kind, g.count, g.previous) for g in built.groups] == [
        ("not-resolved", 2, 1), ("escalated", 1, 0), ("workaround", 1, 0), ("resolved", 1, 2)]
    assert (built.total, built.previous_total, built.unreviewed) == (5, 3, 3)
    assert [r.id for r in built.groups[0].reports] == [written[4].id, written[6].id]
    assert [f["report"] for f in built.follow_ups] == [written[4].id]
    assert built.policies == [{"name": "vip", "action": "priority:high", "count": 2}]
    text = digest.render(config, built).text
    assert text.index("== not-resolved: 2 (+1 on the period before)") < text.index("== escalated: 1") \
        < text.index("== resolved: 1 (-1 on the period before)")
    assert "== Open follow-ups: 1" in text and "Ask ops for alerts." in text
    assert "- vip (priority:high): 2 tickets" in text


def test_the_digest_goes_to_the_reviewers_through_the_outbox_once_per_period(seeded):
    config, _ = seeded
    [row] = digest.send(config, MONDAY, MONDAY + dt.timedelta(days=7))  # everyone reads [web] language
    assert row.kind == "digest" and row.language == "en"
    mail = email.message_from_bytes(bytes(Outgoing.get_by_id(row.id).data), policy=email.policy.default)
    assert [a.addr_spec for a in mail["To"].addresses] == ["leder@example.no", "olga@example.no"]
    assert mail["Subject"] == "Patrol digest 2026-11-16 to 2026-11-22: 5 reports, 3 not reviewed"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert "== not-resolved: 2" in mail.get_body(("plain",)).get_content()
    assert digest.send(config, MONDAY, MONDAY + dt.timedelta(days=7)) == []
    assert Outgoing.select().where(Outgoing.kind == "digest").count() == 1


def test_a_schedule_that_is_not_a_crontab_line_is_refused(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[patrol]\ndigest_schedule = "every monday"\n')
    with pytest.raises(ConfigError, match=r"patrol.digest_schedule: is not a crontab schedule"):
        load_config(path, {})


def test_the_daemon_schedules_the_digest_as_configured_and_the_job_sends_it(seeded):
    config, _ = seeded
    import dataclasses

    from tests.conftest import running_service
    config = dataclasses.replace(config, patrol=dataclasses.replace(config.patrol, digest_schedule="30 6 * * tue"),
                                 smtp=dataclasses.replace(config.smtp, enabled=False))
    with running_service(config) as service:
        job = service.scheduler.get_job("patrol-digest")
        run_at = job.next_run_time
        assert (run_at.weekday(), run_at.hour, run_at.minute, run_at.utcoffset()) == (1, 6, 30, dt.timedelta(0))
    digest.send_scheduled(config)  # what the job runs: the last seven days up to today
    db.open_database(config)
    assert Outgoing.select().where(Outgoing.kind == "digest").count() == 1


def test_no_schedule_no_digest_job(seeded):
    config, _ = seeded
    import dataclasses

    from tests.conftest import running_service
    config = dataclasses.replace(config, patrol=dataclasses.replace(config.patrol, digest_schedule=""),
                                 smtp=dataclasses.replace(config.smtp, enabled=False))
    with running_service(config) as service:
        assert service.scheduler.get_job("patrol-digest") is None


def test_a_corrected_report_stays_in_the_period_it_was_first_written_in(seeded):
    config, written = seeded
    agent = written[4].author
    corrected = patrol.correct(config, written[4], Note(
        situation="Kunde 4 kunne ikke logge inn i nettbanken etter oppdateringen.",
        behaviour="Sjekket loggen, nullstilte passordet og ba kunden prøve igjen.",
        outcome="Innloggingen virker igjen etter at tjenesten ble startet på nytt.", outcome_kind="resolved"), agent)
    week = digest.build(MONDAY, MONDAY + dt.timedelta(days=7))
    assert [(g.outcome_kind, g.count) for g in week.groups] == [
        ("not-resolved", 1), ("escalated", 1), ("workaround", 1), ("resolved", 2)]
    assert corrected.id in [r.id for g in week.groups for r in g.reports] and week.total == 5
    today = dt.datetime.combine(dt.date.today(), dt.time())
    assert digest.build(today, today + dt.timedelta(days=1)).total == 0


def test_the_digest_quotes_the_logs_head_that_verify_shows(seeded):
    config, written = seeded
    built = digest.build(MONDAY, MONDAY + dt.timedelta(days=7))
    checked = patrol.verify(config)
    assert built.log_head == {"reports": 8, "reports_head": checked.reports_head,
                              "reviews": 2, "reviews_head": checked.reviews_head}
    assert len(checked.reports_head) == 16
    text = digest.render(config, built).text
    assert f"8 reports (newest {checked.reports_head}), 2 reviews (newest {checked.reviews_head})" in text

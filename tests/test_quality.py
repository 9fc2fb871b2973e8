"""The Article Quality Index: a week's sample of each agent's new and changed articles, scored on the KCS checklist.

Drawing on SQLite and PostgreSQL, who scores and how a score counts, the hints
beside each item, the figures per agent and team, the digest, the scheduled
draw (once however many daemons), the command line, the console, and the
whole path in a real browser.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from daemon import knowledge
from daemon.knowledge import ArticleText, quality
from daemon.patrol import digest
from daemon.people import users
from daemon.store import cluster, db
from daemon.store.models import Article, ArticleRevision, QualitySample, User
from tests.browser import Watch, served, sign_in
from tests.conftest import make_config
from tests.test_cli import cli, workdir, workdir_database  # noqa: F401 - the fixtures
from tests.webtools import PASSWORD, post

NOW = dt.datetime(2026, 11, 25, 12, 0)  # a Wednesday
WEEK = quality.week_of(NOW)  # Monday 2026-11-23
ALL_YES = {item.name: "yes" for item in quality.CHECKLIST}


@pytest.fixture
def desk(tmp_path, backend_url):
    """An empty installation on SQLite or PostgreSQL with two agents, a reviewer and an admin."""
    handle = db.open_database(make_config(tmp_path, backend_url))
    db.upgrade()
    people = {name: users.create_user(name, role, PASSWORD, email=f"{name}@support.example")
              for name, role in (("ola", "agent"), ("kari", "agent"), ("rita", "reviewer"), ("adam", "admin"))}
    yield people
    handle.close()


def text(title: str, resolution: str = "1. Open Settings.\n2. Choose Printers.", environment: str = "Windows 11",
         keywords: tuple[str, ...] = ("printer",)) -> ArticleText:
    return ArticleText(title=title, issue=f"The customer says: {title.lower()}.", environment=environment,
                       resolution=resolution, cause="", keywords=keywords)


def written(author: User, title: str, when: dt.datetime = NOW, **more) -> Article:
    """An article `author` drafted at `when` (its revisions are dated then)."""
    article = knowledge.create_article(text(title, **more), author, language="en")
    date_revisions(article, when)
    return article


def date_revisions(article: Article, when: dt.datetime, after: int = 0) -> None:
    ArticleRevision.update(created_at=when).where((ArticleRevision.article == article.id)
                                                  & (ArticleRevision.number > after)).execute()


# Drawing ----------------------------------------------------------------------------------

def test_a_week_draws_each_persons_changed_variants_at_their_latest_revision_and_no_state_change(desk):
    ola, kari, rita = desk["ola"], desk["kari"], desk["rita"]
    mine = [written(ola, f"Problem number {n} with the printer") for n in range(4)]
    changed = dataclasses.replace(text("Problem number 0 with the printer"),
                                  resolution="1. Open Settings.\n2. Remove the printer.")
    kari_edit = knowledge.edit_article(mine[0], changed, kari, note="steps")
    date_revisions(kari_edit, NOW, after=1)
    checked = knowledge.transition(mine[1], "validate", rita)  # a change of state writes no text
    date_revisions(checked, NOW, after=1)
    written(ola, "Last week's printer problem", NOW - dt.timedelta(weeks=1))  # another week

    drawn = quality.draw(WEEK, size=3, now=NOW)

    by_author = {}
    for sample in drawn:
        by_author.setdefault(sample.author.username, []).append(sample)
    assert sorted(by_author) == ["kari", "ola"]  # rita validated: nobody's writing
    assert len(by_author["ola"]) == 3 and {s.article_id for s in by_author["ola"]} <= {a.id for a in mine}
    (kari_sample,) = by_author["kari"]
    assert (kari_sample.article_id, kari_sample.revision) == (mine[0].id, 2)
    assert all(s.week == WEEK and s.language == "en" and s.scored_at is None for s in drawn)


def test_drawing_again_adds_none_twice_and_a_larger_size_adds_the_rest(desk):
    for n in range(5):
        written(desk["ola"], f"Scanner problem number {n}")
    first = quality.draw(WEEK, size=2, now=NOW)
    assert len(first) == 2 and quality.draw(WEEK, size=2, now=NOW) == []
    more = quality.draw(WEEK, size=4, now=NOW)
    assert len(more) == 2 and not {s.article_id for s in more} & {s.article_id for s in first}
    assert QualitySample.select().count() == 4


def test_the_draw_is_the_same_for_the_same_week_and_person(desk, tmp_path):
    articles = [written(desk["ola"], f"Router problem number {n}") for n in range(8)]
    drawn = {s.article_id for s in quality.draw(WEEK, size=3, now=NOW)}
    QualitySample.delete().execute()
    assert {s.article_id for s in quality.draw(WEEK, size=3, now=NOW)} == drawn
    assert drawn < {a.id for a in articles}


def test_each_sample_goes_to_the_least_loaded_reviewer_and_never_to_its_author(desk):
    for n in range(4):
        written(desk["ola"], f"Mail client problem number {n}")
    reviewer_work = written(desk["rita"], "A reviewer's own article about the VPN")
    drawn = quality.draw(WEEK, size=4, now=NOW)
    given = [s.reviewer.username for s in drawn if s.author_id == desk["ola"].id]
    assert sorted(given) == ["adam", "adam", "rita", "rita"]
    (own,) = [s for s in drawn if s.article_id == reviewer_work.id]
    assert own.reviewer.username == "adam"


def test_archived_articles_are_not_drawn(desk):
    kept = written(desk["ola"], "Printer queue stuck")
    retired = written(desk["ola"], "Fax machine offline")
    knowledge.transition(retired, "archive", desk["rita"])
    assert [s.article_id for s in quality.draw(WEEK, size=5, now=NOW)] == [kept.id]


# Scoring ----------------------------------------------------------------------------------

def test_a_score_is_the_weighted_share_of_yes_among_the_items_that_apply(desk):
    written(desk["ola"], "Printer shows offline after the update")
    (sample,) = quality.draw(WEEK, size=1, now=NOW)
    assert quality.score(sample, desk["rita"], ALL_YES).score == 100.0
    weights = sum(item.weight for item in quality.CHECKLIST)
    title_wrong = quality.score(sample, desk["rita"], {**ALL_YES, "title": "no"}, note="State the problem")
    assert title_wrong.score == round(100 * (weights - 1) / weights, 1)
    no_links = quality.score(sample, desk["adam"], {**ALL_YES, "title": "no", "links": "none"})
    assert no_links.score == round(100 * (weights - 2) / (weights - 1), 1)
    stored = QualitySample.get_by_id(sample.id)
    assert stored.scored_by.username == "adam" and quality.checks_of(stored)["links"] is None
    assert quality.checks_of(stored)["title"] is False and stored.note == ""


def test_scoring_refuses_the_author_an_agent_and_an_unanswered_item(desk):
    written(desk["rita"], "A reviewer writes about the VPN")
    (sample,) = quality.draw(WEEK, size=1, now=NOW)
    with pytest.raises(quality.ScoreRefused) as own:
        quality.score(sample, desk["rita"], ALL_YES)
    assert "own" in str(own.value)
    with pytest.raises(knowledge.NotAllowed):
        quality.score(sample, desk["ola"], ALL_YES)
    with pytest.raises(quality.ScoreRefused) as missing:
        quality.score(sample, desk["adam"], {**ALL_YES, "clear": "", "unique": "none"})
    assert set(missing.value.problems) == {"clear", "unique"}
    assert QualitySample.get_by_id(sample.id).scored_at is None


def test_the_index_per_agent_and_team_is_the_mean_of_scored_samples(desk):
    for n in range(2):
        written(desk["ola"], f"Keyboard problem number {n}")
    written(desk["kari"], "Monitor flickers after the update")
    drawn = quality.draw(WEEK, size=2, now=NOW)
    ola = [s for s in drawn if s.author.username == "ola"]
    quality.score(ola[0], desk["rita"], ALL_YES)
    quality.score(ola[1], desk["rita"], {**ALL_YES, "resolution": "no"})  # 11/14
    (week,) = quality.weekly(WEEK, WEEK)
    assert week.agents["ola"].index == round((100 + 78.6) / 2, 1) and week.agents["ola"].scored == 2
    assert week.agents["kari"].index is None and week.agents["kari"].sampled == 1
    assert week.team.index == week.agents["ola"].index and week.team.sampled == 3
    assert week.failed == {"resolution": 1}


# What the reviewer is shown ---------------------------------------------------------------

def test_the_hints_say_what_the_text_shows_for_each_item(desk):
    gone = written(desk["kari"], "An old article about fax machines")
    knowledge.transition(gone, "archive", desk["rita"])
    written(desk["kari"], "Printer shows offline after the Windows update")
    diary = written(desk["ola"], "Printer offline after Windows update", environment="", keywords=(),
                    resolution=f"I called the customer and removed the printer. See /kb/{gone.id} for more.")
    (sample,) = [s for s in quality.draw(WEEK, size=5, now=NOW) if s.article_id == diary.id]
    said = {name: " | ".join(messages) for name, messages in quality.hints(sample).items()}
    assert "diary" in said["clear"]
    assert "no environment" in said["environment"] and "environment" in said["complete"]
    assert "no keywords" in said["metadata"]
    assert f"article {gone.id}, which is gone or archived" in said["links"]
    assert said["unique"].startswith("most alike: article ") and "Printer shows offline" in said["unique"]


# The digest and the schedule --------------------------------------------------------------

def test_the_digest_gives_the_last_weeks_index_and_what_waits(desk, tmp_path, backend_url):
    for n in range(2):
        written(desk["ola"], f"Docking station problem number {n}")
    first, second = quality.draw(WEEK, size=2, now=NOW)
    quality.score(first, desk["rita"], {**ALL_YES, "title": "no"})
    until = dt.datetime.combine(WEEK + dt.timedelta(weeks=1), dt.time())
    built = digest.build(until - dt.timedelta(days=7), until)
    assert built.quality["waiting"] == 1
    (week,) = built.quality["weeks"]
    assert week["week"] == WEEK.isoformat() and week["team"]["scored"] == 1 and week["team"]["sampled"] == 2
    config = make_config(tmp_path, backend_url)
    english = digest.render(config, built, "en").text
    assert "Article Quality Index: 1 sampled article waits for a score" in english
    assert f"week of {WEEK.isoformat()}: team 93 (1 of 2 scored); ola 93" in english
    assert "Failed most: title reflects the problem 1x" in english
    norwegian = digest.render(config, built, "nb").text
    assert "Artikkelkvalitetsindeks" in norwegian and "tittelen sier problemet 1x" in norwegian
    assert "Индекс качества статей" in digest.render(config, built, "ru").text
    assert digest.as_dict(built)["quality"]["weeks"][0]["agents"] == [
        {"name": "ola", "index": 92.9, "scored": 1, "sampled": 2}]


def test_the_scheduled_draw_takes_last_week_once_however_many_daemons_fire(desk, tmp_path, backend_url):
    written(desk["ola"], "Headset has no sound")
    config = make_config(tmp_path, backend_url)
    from apscheduler.triggers.cron import CronTrigger
    jobs = [cluster.ClusterJobs(dead_after=30) for _ in range(2)]

    class Scheduler:
        def add_job(self, *args, **kwargs):
            pass
    for each in jobs:
        each.add(Scheduler(), "quality-sample", CronTrigger.from_crontab(config.knowledge.quality_schedule,
                                                                          timezone="UTC"),
                 lambda period: quality.draw_scheduled(config.knowledge.quality_sample, period), 3600)
    monday = dt.datetime.combine(WEEK + dt.timedelta(weeks=1), dt.time(6, 0, 5), tzinfo=dt.timezone.utc)
    assert [each.fire("quality-sample", monday) for each in jobs] == [True, False]
    (sample,) = QualitySample.select()
    assert sample.week == WEEK and sample.author.username == "ola"


def test_the_daemon_schedules_the_draw_unless_told_not_to(tmp_path):
    from daemon.service import Service
    on = make_config(tmp_path)
    assert on.knowledge.quality_schedule == "0 6 * * mon" and on.knowledge.quality_sample == 5
    off = dataclasses.replace(on, knowledge=dataclasses.replace(on.knowledge, quality_schedule=""))
    db.open_database(on)
    db.upgrade()
    try:
        for config, scheduled in ((on, True), (off, False)):
            service = Service(config, roles=("scheduler",))
            service._schedule_cluster_jobs()
            assert ("quality-sample" in service.jobs.jobs) is scheduled
    finally:
        db.database.close()


# The command line ---------------------------------------------------------------------------

def test_the_command_line_draws_lists_scores_and_reports(workdir, workdir_database):
    cli(workdir, "init", env_extra={"PATROLDESK_ADMIN_PASSWORD": "korrekt-hest-batteri"})
    cli(workdir, "user", "add", "ola", "--role", "agent", "--password-stdin", input="korrekt-hest-batteri\n")
    cli(workdir, "user", "add", "rita", "--role", "reviewer", "--password-stdin", input="korrekt-hest-batteri\n")
    last_monday = quality.last_week()
    for title in ("Printer offline after the update", "VPN drops every hour"):
        written(User.get(User.username == "ola"), title, dt.datetime.combine(last_monday, dt.time(9)))
    drawn = cli(workdir, "quality", "draw").stdout
    assert f"2 article(s) drawn from the week of {last_monday.isoformat()}" in drawn
    listed = json.loads(cli(workdir, "quality", "list", "--json").stdout)
    assert [row["author"] for row in listed] == ["ola", "ola"] and all(row["score"] is None for row in listed)
    first, second = (row["sample"] for row in listed)
    refused = cli(workdir, "quality", "score", str(first), "--as", "ola", check=False)
    assert refused.returncode != 0 and "only a reviewer or an admin" in refused.stderr
    unknown = cli(workdir, "quality", "score", str(first), "--as", "rita", "--no", "spelling", check=False)
    assert unknown.returncode != 0 and "no checklist item spelling" in unknown.stderr
    scored = cli(workdir, "quality", "score", str(first), "--as", "rita", "--no", "title,clear",
                 "--note", "Write the steps for the customer").stdout
    assert f"sample {first} " in scored and "scored 79" in scored
    cli(workdir, "quality", "score", str(second), "--as", "rita", "--no-links")
    last, this = json.loads(cli(workdir, "quality", "report", "--weeks", "2", "--json").stdout)
    assert (last["week"], this["week"]) == (last_monday.isoformat(), quality.week_of(dt.date.today()).isoformat())
    week = last
    assert week["team"] == {"index": round((78.6 + 100) / 2, 1), "scored": 2, "sampled": 2}
    assert week["failed"] == {"title": 1, "clear": 1}
    assert "no sample waits for a score" in cli(workdir, "quality", "list").stdout


# The console ------------------------------------------------------------------------------

def agent_wrote_last_week(console, count: int = 1) -> list[Article]:
    monday = quality.last_week()
    return [written(console.people["agent"], title, dt.datetime.combine(monday, dt.time(10)))
            for title in ("The printer shows offline after the Windows update", "Mail stays in the outbox",
                          "Calendar invitations arrive twice")[:count]]


def test_a_reviewer_draws_and_scores_and_a_missing_answer_keeps_the_rest(console):
    (article,) = agent_wrote_last_week(console)
    client = console.client("reviewer")
    assert "0 sampled articles wait for a score" in client.get("/kb/review").get_data(as_text=True)
    response = post(client, "/kb/quality/draw", {}, page="/kb/quality/")
    assert response.status_code == 302
    (sample,) = QualitySample.select()
    page = client.get("/kb/quality/").get_data(as_text=True)
    assert f'href="/kb/quality/{sample.id}"' in page and "The printer shows offline" in page
    refused = post(client, f"/kb/quality/{sample.id}", {**ALL_YES, "title": "no", "links": "", "note": "Good"},
                   page=f"/kb/quality/{sample.id}")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'id="links-error"' in body and "answer yes, no" in body
    assert 'name="title" value="no" checked' in body and ">Good</textarea>" in body.replace("\n", "")
    saved = post(client, f"/kb/quality/{sample.id}", {**ALL_YES, "title": "no", "links": "none"},
                 page=f"/kb/quality/{sample.id}")
    assert saved.status_code == 302
    assert QualitySample.get_by_id(sample.id).score == round(100 * 12 / 13, 1)
    assert console.client("agent").get("/kb/quality/").status_code == 403


def test_the_dashboard_charts_the_index_per_agent_and_team(console):
    agent_wrote_last_week(console, 2)
    first, second = quality.draw(quality.last_week(), size=2)
    quality.score(first, console.people["reviewer"], ALL_YES)
    quality.score(second, console.people["reviewer"], {**ALL_YES, "unique": "no"})
    page = console.client("reviewer").get("/reports/").get_data(as_text=True)
    assert 'id="article-quality"' in page
    row = page.split('id="article-quality"')[1].split(f"<th scope=\"row\">{quality.last_week().isoformat()}</th>")[1]
    cells = row.split("</tr>")[0]
    assert f'<td class="num">{round((100 + 100 * 11 / 14) / 2, 1)}</td>' in cells


def test_in_the_browser_a_reviewer_scores_the_weeks_sample_and_sees_the_index(browser, console, tmp_path):
    agent_wrote_last_week(console, 1)
    with served(console.app) as base:
        context = browser.new_context()
        page = context.new_page()
        watch = Watch(page)
        sign_in(page, base, "reviewer", PASSWORD)
        page.goto(f"{base}/kb/review")
        page.click("text=Score them on the KCS checklist")
        page.click("button:has-text('Draw the sample of the week of')")
        page.wait_for_selector("text=1 article drawn from the week of")
        page.click("#waiting-samples a")
        page.wait_for_selector("#checklist")
        assert "most alike" in page.inner_text("#check-unique") or "no other article" in page.inner_text(
            "#check-unique")
        for item in quality.CHECKLIST:
            if item.name != "environment":
                page.check(f"input[name={item.name}][value={'none' if item.may_not_apply else 'yes'}]")
        page.click("text=Save the score")
        page.wait_for_selector("#environment-error")
        assert page.is_checked("input[name=unique][value=yes]")
        page.screenshot(path=str(tmp_path / "score-refused.png"), full_page=True)
        page.check("input[name=environment][value=no]")
        page.fill("textarea[name=note]", "Name the Windows version.")
        page.click("text=Save the score")
        page.wait_for_selector("text=scored 92")
        page.screenshot(path=str(tmp_path / "quality.png"), full_page=True)
        page.goto(f"{base}/reports/")
        page.click("#article-quality summary")
        assert "92.3" in page.inner_text("#article-quality table")
        assert not watch.dialogs and not watch.errors and not watch.refused_scripts and not watch.refused_styles
        context.close()
    sample = QualitySample.get()
    assert sample.scored_by.username == "reviewer" and sample.note == "Name the Windows version."
    assert quality.checks_of(sample)["environment"] is False and quality.checks_of(sample)["links"] is None

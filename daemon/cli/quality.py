"""The command line of the Article Quality Index: `patroldesk quality draw|list|score|report`.

Registered on the `patroldesk` group by daemon.cli; the rules (what is drawn, who scores,
how a score is counted) are daemon.knowledge.quality's.
"""
from __future__ import annotations

import datetime as dt

import click

from daemon import knowledge
from daemon.cli.root import App, active_user, cli, pass_app, print_json
from daemon.store.models import QualitySample

quality = knowledge.quality
_WEEK = click.DateTime(("%Y-%m-%d",))


@cli.group("quality")
def quality_group():
    """The Article Quality Index (KCS AQI): each week a sample of every agent's new and changed articles,
    scored by reviewers on the KCS checklist."""


def _week(day: dt.datetime | None) -> dt.date:
    return quality.week_of(day) if day else quality.last_week()


@quality_group.command("draw")
@click.option("--week", type=_WEEK, help="Any day of the week to draw from (default: last week).")
@click.option("--size", type=click.IntRange(1, 100), help="Articles per agent (default: [knowledge] quality_sample).")
@pass_app
def quality_draw(app: App, week, size):
    """Draw a week's sample (drawing it again adds none twice); each goes to a reviewer who is not its author."""
    app.database()
    monday = _week(week)
    drawn = quality.draw(monday, size or app.config.knowledge.quality_sample or quality.DEFAULT_SIZE)
    click.echo(f"{len(drawn)} article(s) drawn from the week of {monday.isoformat()}")
    for sample in drawn:
        click.echo(f"  sample {sample.id}: article {sample.article_id} ({sample.language}) by "
                   f"{_name(sample.author)}, for {_name(sample.reviewer, 'any reviewer')}")


def _name(user, nobody: str = "-") -> str:
    return user.username if user is not None else nobody


@quality_group.command("list")
@click.option("--week", type=_WEEK, help="Any day of the week (default: every sample waiting for a score).")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def quality_list(app: App, week, as_json):
    """The samples waiting for a score, or all of one week's."""
    app.database()
    found = quality.samples_of(week) if week else list(QualitySample.select().where(
        QualitySample.scored_at.is_null()).order_by(QualitySample.week, QualitySample.id))
    if as_json:
        print_json([_sample_dict(sample) for sample in found])
        return
    if not found:
        click.echo("no sample" + (" that week" if week else " waits for a score"))
    for sample in found:
        scored = f"scored {sample.score:.0f}" if sample.score is not None else "waiting"
        click.echo(f"{sample.id:>5}  week of {sample.week}  article {sample.article_id} ({sample.language}) "
                   f"revision {sample.revision}  by {_name(sample.author)}  for "
                   f"{_name(sample.reviewer, 'any reviewer')}  {scored}")


def _sample_dict(sample: QualitySample) -> dict:
    return {"sample": sample.id, "week": sample.week.isoformat(), "article": sample.article_id,
            "language": sample.language, "revision": sample.revision, "author": _name(sample.author, None),
            "reviewer": _name(sample.reviewer, None), "score": sample.score, "checks": quality.checks_of(sample),
            "scored_by": _name(sample.scored_by, None), "note": sample.note}


@quality_group.command("score")
@click.argument("sample_id", type=int)
@click.option("--as", "username", required=True, metavar="USER")
@click.option("--no", "failed", multiple=True, metavar="ITEM",
              help="An item the article fails (repeat, or comma-separate); the items not named pass. Items: "
                   + ", ".join(item.name for item in quality.CHECKLIST) + ".")
@click.option("--no-links", is_flag=True, help="The article has no links: 'links' does not apply.")
@click.option("--note", default="", help="What the author should do differently (kept with the score).")
@pass_app
def quality_score(app: App, sample_id, username, failed, no_links, note):
    """Score a sample on the KCS checklist."""
    app.database()
    named = {name.strip() for given in failed for name in given.split(",") if name.strip()}
    unknown = sorted(named - set(quality.ITEMS))
    if unknown:
        raise click.BadParameter(f"no checklist item {', '.join(unknown)}; the items: "
                                 + ", ".join(quality.ITEMS), param_hint="--no")
    answers = {name: "no" if name in named else "yes" for name in quality.ITEMS}
    if no_links and "links" not in named:
        answers["links"] = "none"
    sample = quality.score(quality.get_sample(sample_id), active_user(username), answers, note)
    click.echo(f"sample {sample.id} (article {sample.article_id}) scored {sample.score:.0f}")


@quality_group.command("report")
@click.option("--weeks", default=8, show_default=True, type=click.IntRange(1, 104),
              help="How many weeks, this one included.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def quality_report(app: App, weeks, as_json):
    """The index per agent and for the team, week by week, and the checklist items failed most."""
    app.database()
    last = quality.week_of(dt.date.today())  # this week too, as far as it is drawn and scored
    found = quality.weekly(last - dt.timedelta(weeks=weeks - 1), last)
    if as_json:
        print_json([{"week": w.week.isoformat(), "team": _figures(w.team),
                     "agents": {name: _figures(q) for name, q in w.agents.items()},
                     "failed": dict(w.failed.most_common())} for w in found])
        return
    for week in found:
        click.echo(f"week of {week.week}: team {_index(week.team)}"
                   + "".join(f"; {name} {_index(q)}" for name, q in week.agents.items())
                   + (f"; failed most: {', '.join(f'{n} {c}x' for n, c in week.failed.most_common(3))}"
                      if week.failed else ""))


def _figures(counted) -> dict:
    return {"index": counted.index, "scored": counted.scored, "sampled": counted.sampled}


def _index(counted) -> str:
    shown = "-" if counted.index is None else f"{counted.index:.0f}"
    return f"{shown} ({counted.scored}/{counted.sampled} scored)"

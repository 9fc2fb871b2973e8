"""`patroldesk kb ...`, `close` and `reply` with articles, run as processes the way agents run them."""
from __future__ import annotations

import json

from daemon import knowledge
from daemon.knowledge import ArticleText
from daemon.store.models import User
from tests.test_cli import cli, json_lines, workdir, workdir_database, write_mail  # noqa: F401 - the fixtures

NOTE = """situation = "Åse Ødegård got only blank pages from the hall printer after changing the toner."
behaviour = "Had her open the cover and pull the orange sealing strip off the new toner cartridge."
outcome = "The printer prints text again; the seal had kept the toner from the drum."
outcome_kind = "resolved"
cause = "Sealing strip left on a new toner cartridge"
tags = ["printer", "toner"]
"""


STEPS = "Open the printer's front cover.\nPull the orange sealing strip off the new toner cartridge.\nPrint a test page."


def a_desk_with_kari_and_olga(workdir) -> None:
    """A new installation with an agent (kari), a reviewer (olga) and the closing note in note.toml."""
    cli(workdir, "init", env_extra={"PATROLDESK_ADMIN_PASSWORD": "korrekt-hest-batteri"})
    cli(workdir, "user", "add", "kari", "--role", "agent", "--password-stdin", input="korrekt-hest-batteri\n")
    cli(workdir, "user", "add", "olga", "--role", "reviewer", "--password-stdin", input="korrekt-hest-batteri\n")
    (workdir / "note.toml").write_text(NOTE, encoding="utf-8")


def open_ticket(workdir, name: str, sender: str, subject: str, body: str) -> int:
    path = write_mail(workdir, name, frm=sender, to="support@example.com", subject=subject, body=body)
    (result,) = json_lines(cli(workdir, "ingest", "--json", str(path)).stdout)
    return result["ticket"]


def test_an_agent_closes_drafts_searches_validates_and_replies_from_the_article(workdir):
    a_desk_with_kari_and_olga(workdir)
    first = open_ticket(workdir, "a.eml", "Åse Ødegård <ase@example.no>", "Printer gives blank pages",
                        "Hi,\nafter the toner change the hall printer only gives blank pages.\n"
                        "Call me on +47 912 34 567.\n\nRegards,\nÅse Ødegård")
    searched = cli(workdir, "kb", "search", "blank pages printer", "--ticket", str(first), "--as", "kari")
    assert "no article found" in searched.stdout

    closed = cli(workdir, "close", str(first), "--as", "kari", "--file", "note.toml", "--steps", STEPS).stdout
    assert f"ticket #{first} solved" in closed and "draft article 1 written" in closed
    assert "marked for your rewrite" not in closed
    assert "phone '+47 912 34 567'" in closed and "name 'Åse Ødegård'" in closed
    assert "your searches, offered as keywords: blank pages printer" in closed

    shown = json.loads(cli(workdir, "kb", "show", "1", "--json").stdout)
    assert shown["state"] == "draft" and "Åse" not in shown["issue"] and "912" not in shown["issue"]
    assert shown["keywords"][0] == "blank pages printer" and shown["tickets"] == [{"ticket": first,
                                                                                   "kind": "created"}]
    refused = cli(workdir, "kb", "validate", "1", "--as", "kari", check=False)
    assert refused.returncode == 1 and "only a reviewer" in refused.stderr
    assert "validated" in cli(workdir, "kb", "validate", "1", "--as", "olga").stdout

    second = open_ticket(workdir, "b.eml", "per@example.no", "Printers print empty sheets",
                         "The printers give us empty pages since we put in new toner cartridges.")
    third = open_ticket(workdir, "c.eml", "kim@example.no", "Blank pages from the printer",
                        "Blank pages again from our printer.")
    assert "articles that may answer it" in cli(workdir, "tickets", "show", str(third)).stdout
    hits = json.loads(cli(workdir, "kb", "search", "printers blank", "--json").stdout)
    assert [h["article"] for h in hits] == [1]
    assert "reply template kb-1" in cli(workdir, "kb", "template", "1", "--as", "olga").stdout
    replied = cli(workdir, "reply", str(second), "--template", "kb-1", "--as", "kari",
                  "--flag", "incomplete:no picture of the strip").stdout
    assert f"ticket #{second} linked to article 1; flagged incomplete" in replied
    flags = json.loads(cli(workdir, "kb", "flags", "--json").stdout)["flags"]
    assert [(f["article"], f["kind"], f["detail"]) for f in flags] == [(1, "incomplete", "no picture of the strip")]
    report = json.loads(cli(workdir, "kb", "report", "--json").stdout)
    assert report["articles"][0]["reuse_count"] == 1 and report["articles"][0]["open_flags"] == 1
    assert report["agents"]["kari"]["closed"] == 1 and report["agents"]["kari"]["link_rate"] == 1.0


def test_kb_gaps_lists_a_search_repeated_without_finding_anything(workdir):
    cli(workdir, "init", env_extra={"PATROLDESK_ADMIN_PASSWORD": "korrekt-hest-batteri"})
    for words in ("квантовый компьютер", "квантового компьютера"):
        cli(workdir, "kb", "search", words)
    gaps = json.loads(cli(workdir, "kb", "gaps", "--json").stdout)
    assert [(g["words"], g["searches"], g["found_nothing"]) for g in gaps] == [("квантового компьютера", 2, 2)]
    assert gaps[0]["wordings"] == ["квантового компьютера", "квантовый компьютер"] and gaps[0]["age_days"] == 0
    listed = cli(workdir, "kb", "gaps").stdout
    assert "квантового компьютера" in listed and "also 'квантовый компьютер'" in listed and "0 days ago" in listed


def test_kb_search_json_gives_real_hits_positive_scores_best_first(workdir, workdir_database):
    cli(workdir, "init", env_extra={"PATROLDESK_ADMIN_PASSWORD": "korrekt-hest-batteri"})
    admin = User.get(User.username == "admin")
    # A base this small is where SQLite's BM25 scores are tiny: every word is in half the articles or more.
    for title, issue in (("Printer prints blank pages", "Blank pages from the printer after a toner change."),
                         ("Calendar not shared", "The calendar is missing; the printer in the hall works.")):
        knowledge.create_article(ArticleText(title=title, issue=issue), admin)
    hits = json.loads(cli(workdir, "kb", "search", "printer", "--json").stdout)
    assert [h["article"] for h in hits] == [1, 2]
    scores = [h["score"] for h in hits]
    assert all(score > 0 for score in scores) and scores == sorted(scores, reverse=True) and len(set(scores)) == 2
    (only,) = json.loads(cli(workdir, "kb", "search", "toner", "--json").stdout)
    assert only["article"] == 1 and only["score"] > 0


def test_a_cli_search_whose_article_was_then_used_is_no_gap(workdir):
    a_desk_with_kari_and_olga(workdir)
    first = open_ticket(workdir, "a.eml", "ase@example.no", "Printer gives blank pages",
                        "After the toner change the hall printer only gives blank pages.")
    cli(workdir, "close", str(first), "--as", "kari", "--file", "note.toml", "--steps", STEPS)
    cli(workdir, "kb", "validate", "1", "--as", "olga")
    cli(workdir, "kb", "template", "1", "--as", "olga")
    later = [open_ticket(workdir, f"{n}.eml", f"c{n}@example.no", "Blank pages", "The printer gives blank pages.")
             for n in range(3)]
    # Each command the command line offers to use an article, after a search that showed it.
    uses = (("reply", str(later[0]), "--template", "kb-1", "--as", "kari"),
            ("kb", "link", str(later[1]), "1", "--as", "kari"),
            ("close", str(later[2]), "--as", "kari", "--file", "note.toml", "--article", "1"),
            ("close", str(later[0]), "--as", "kari", "--file", "note.toml"))  # closed with the reply's article
    for use in uses:
        assert [h["article"] for h in json.loads(cli(workdir, "kb", "search", "blank pages", "--json").stdout)] == [1]
        cli(workdir, *use)
    assert json.loads(cli(workdir, "kb", "gaps", "--min", "1", "--json").stdout) == []
    cli(workdir, "kb", "search", "orange sealing strip")  # found it, and nobody used it since: still a gap
    gaps = json.loads(cli(workdir, "kb", "gaps", "--min", "1", "--json").stdout)
    assert [(g["words"], g["found_nothing"], g["nothing_used"]) for g in gaps] == [("orange sealing strip", 0, 1)]


def test_kb_commands_name_what_is_wrong(workdir):
    cli(workdir, "init", env_extra={"PATROLDESK_ADMIN_PASSWORD": "korrekt-hest-batteri"})
    missing = cli(workdir, "kb", "show", "42", check=False)
    assert missing.returncode == 1 and "no article 42" in missing.stderr
    ticket = open_ticket(workdir, "c.eml", "x@example.org", "Help", "Something is wrong.")
    no_note = cli(workdir, "kb", "draft", str(ticket), "--as", "admin", check=False)
    assert no_note.returncode == 1 and "has no SBO note yet" in no_note.stderr


def test_kb_edit_takes_a_file_and_keeps_a_comparable_revision(workdir):
    cli(workdir, "init", env_extra={"PATROLDESK_ADMIN_PASSWORD": "korrekt-hest-batteri"})
    (workdir / "note.toml").write_text(NOTE, encoding="utf-8")
    ticket = open_ticket(workdir, "d.eml", "ase@example.no", "Printer gives blank pages",
                         "After the toner change the printer only gives blank pages.")
    cli(workdir, "close", str(ticket), "--as", "admin", "--file", "note.toml")
    (workdir / "article.toml").write_text('resolution = "Pull the orange strip out of the new toner."\n'
                                          'keywords = ["blank pages", "toner seal"]\n', encoding="utf-8")
    edited = cli(workdir, "kb", "edit", "1", "--as", "admin", "--file", "article.toml", "--note", "shorter steps")
    assert "article 1 (en) is at revision 2 (draft)" in edited.stdout
    diff = cli(workdir, "kb", "show", "1", "--diff", "1", "2").stdout
    assert "+Pull the orange strip out of the new toner." in diff and "+toner seal" in diff
    (workdir / "bad.toml").write_text('solution = "x"\n', encoding="utf-8")
    bad = cli(workdir, "kb", "edit", "1", "--as", "admin", "--file", "bad.toml", check=False)
    assert bad.returncode == 1 and "unknown key 'solution'" in bad.stderr


RUSSIAN_VARIANT = """title = "Принтер печатает пустые страницы"
issue = "После замены тонера принтер выдаёт только пустые листы."
resolution = "Откройте крышку и снимите оранжевую защитную ленту с нового картриджа."
keywords = ["пустые страницы", "тонер"]
"""


def test_a_russian_ticket_gets_a_variant_of_the_article_and_kb_template_warns_until_it_is_checked(workdir):
    a_desk_with_kari_and_olga(workdir)
    first = open_ticket(workdir, "a.eml", "ase@example.no", "Printer gives blank pages",
                        "Hi,\nafter the toner change the hall printer only gives blank pages.\n\nRegards,\nÅse")
    cli(workdir, "close", str(first), "--as", "kari", "--file", "note.toml", "--steps", STEPS)
    cli(workdir, "kb", "validate", "1", "--as", "olga")
    russian = open_ticket(workdir, "r.eml", "Ольга <olga@example.ru>", "Принтер печатает пустые страницы",
                          "Здравствуйте! После замены тонера наш принтер в коридоре печатает только пустые "
                          "страницы. Что делать?")
    cli(workdir, "kb", "link", str(russian), "1", "--as", "kari")
    shown = json.loads(cli(workdir, "kb", "show", "1", "--json").stdout)
    assert shown["variants"] == [{"language": "en", "state": "validated", "title": "Printer gives blank pages"}]
    assert shown["needs"] == ["ru"] and "needs a Russian variant" in cli(workdir, "kb", "show", "1").stdout
    made = cli(workdir, "kb", "template", "1", "--as", "olga", "--ticket", str(russian))
    assert "warning: article 1 has no checked Russian variant: the closest is English" in made.stderr
    assert "reply template kb-1 (en)" in made.stdout

    (workdir / "ru.toml").write_text(RUSSIAN_VARIANT, encoding="utf-8")
    added = cli(workdir, "kb", "variant", "add", "1", "--language", "ru", "--as", "kari", "--file", "ru.toml",
                "--ticket", str(russian))
    assert "article 1 has a ru variant now (draft); ticket" in added.stdout
    again = cli(workdir, "kb", "variant", "add", "1", "--language", "ru", "--as", "kari", "--file", "ru.toml",
                check=False)
    assert again.returncode == 1 and "has a ru variant already" in again.stderr
    refused = cli(workdir, "kb", "validate", "1", "--as", "olga", check=False)
    assert refused.returncode == 1 and "has variants in en, ru: say which language" in refused.stderr
    assert "ru validated" in cli(workdir, "kb", "validate", "1", "--language", "ru", "--as", "olga").stdout
    made = cli(workdir, "kb", "template", "1", "--as", "olga", "--ticket", str(russian))
    assert made.stderr == "" and "reply template kb-1 (ru)" in made.stdout
    shown = json.loads(cli(workdir, "kb", "show", "1", "--language", "ru", "--json").stdout)
    assert (shown["language"], shown["title"], shown["needs"]) == ("ru", "Принтер печатает пустые страницы", [])
    assert [t["ticket"] for t in shown["tickets"]] == [first, russian]
    report = json.loads(cli(workdir, "kb", "report", "--json").stdout)
    assert report["languages"]["articles"] == 1 and report["languages"]["variants"] == 2
    assert len(report["articles"]) == 1


def test_a_draft_copied_from_the_agents_account_waits_for_a_rewrite_before_it_is_validated(workdir):
    a_desk_with_kari_and_olga(workdir)
    first = open_ticket(workdir, "a.eml", "ase@example.no", "Printer gives blank pages",
                        "After the toner change the hall printer only gives blank pages.")
    closed = cli(workdir, "close", str(first), "--as", "kari", "--file", "note.toml",
                 "--title", "The printer prints blank pages after a toner change").stdout
    assert "marked for your rewrite before it is validated" in closed and "its title came from" not in closed
    shown = json.loads(cli(workdir, "kb", "show", "1", "--json").stdout)
    assert shown["title"] == "The printer prints blank pages after a toner change"
    refused = cli(workdir, "kb", "validate", "1", "--as", "olga", check=False)
    assert refused.returncode == 1 and "flag" in refused.stderr
    cli(workdir, "kb", "edit", "1", "--as", "kari", "--resolution", STEPS)
    assert "validated" in cli(workdir, "kb", "validate", "1", "--as", "olga").stdout
    (new,) = json.loads(cli(workdir, "kb", "new", "--json").stdout)  # a problem met for the first time
    assert (new["article"], new["ticket"], new["tickets"], new["state"]) == (1, first, 1, "validated")
    lines = cli(workdir, "kb", "new", "--csv").stdout.splitlines()
    assert lines[0] == "article,title,state,languages,created_at,ticket,tickets,tags" and len(lines) == 2

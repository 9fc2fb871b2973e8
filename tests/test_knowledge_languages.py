"""The knowledge base's refusals are said in the agent's language on the console; the CLI stays English."""
from __future__ import annotations

import html

import pytest

from daemon import knowledge
from daemon.knowledge import ArticleText
from daemon.store.models import User
from tests.test_cli import cli, workdir, workdir_database  # noqa: F401 - the fixtures
from tests.test_console_languages import desk, field_error, speaking  # noqa: F401 - the fixture
from tests.webtools import post

UNSOLVED = ArticleText(title="Printer gives blank pages",
                       issue="Blank pages from the hall printer after a toner change.")
SOLVED = ArticleText(title="Calendar not shared", issue="The team calendar is missing for a new colleague.",
                     resolution="Share the calendar with the colleague's group, then have them sign in again.")


@pytest.mark.parametrize("language, missing", [
    ("en", "resolution: missing: an article is validated with the steps that solve the problem"),
    ("nb", "løsning: mangler: en artikkel valideres med trinnene som løser problemet"),
    ("ru", "решение: не заполнено: статью утверждают, только когда в ней есть шаги, которые решают проблему"),
])
def test_validating_without_a_resolution_is_refused_in_the_reviewers_language(desk, language, missing):
    config, console = desk
    article = knowledge.create_article(UNSOLVED, User.get(User.username == "agent"))
    client = speaking(console, "reviewer", language)
    response = post(client, f"/kb/{article.id}/state", {"action": "validate"})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400 and missing in page


@pytest.mark.parametrize("language, archived", [
    ("nb", "artikkel {id} (en) er arkivert; en kontrollør må gjenopprette den før den kan endres"),
    ("ru", "статья {id} (en) в архиве; прежде чем её менять, проверяющий должен её восстановить"),
])
def test_editing_an_archived_article_is_refused_in_the_agents_language(desk, language, archived):
    config, console = desk
    article = knowledge.create_article(SOLVED, User.get(User.username == "agent"), language="en")
    knowledge.transition(article, "archive", User.get(User.username == "reviewer"))
    client = speaking(console, "agent", language)
    response = post(client, f"/kb/{article.id}/edit", {"title": SOLVED.title, "issue": SOLVED.issue + " Again.",
                                                       "resolution": SOLVED.resolution})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400 and archived.format(id=article.id) in page
    assert "is archived" not in page


def test_a_lifecycle_refusal_names_the_state_and_action_in_the_readers_language(desk):
    config, console = desk
    article = knowledge.create_article(SOLVED, User.get(User.username == "agent"), language="en")
    with pytest.raises(knowledge.NotAllowed) as refused:
        knowledge.transition(article, "publish", User.get(User.username == "reviewer"))
    assert str(refused.value) == f"article {article.id} is draft; publish takes an article that is validated"
    from web.i18n import said
    with console.app.test_request_context(headers={"Accept-Language": "nb"}):
        assert said(refused.value) == f"artikkel {article.id} er utkast; å publisere krever en artikkel som er validert"
    with console.app.test_request_context(headers={"Accept-Language": "ru"}):
        assert said(refused.value) == (f"статья {article.id}: черновик; опубликовать можно только статью в "
                                       f"состоянии «проверена»")


def test_the_same_refusals_on_the_command_line_stay_english(workdir, workdir_database):
    russian = {"LANG": "ru_RU.UTF-8", "LC_ALL": "ru_RU.UTF-8", "LANGUAGE": "ru"}
    cli(workdir, "init", env_extra={"PATROLDESK_ADMIN_PASSWORD": "korrekt-hest-batteri"})
    cli(workdir, "user", "add", "olga", "--role", "reviewer", "--password-stdin", input="korrekt-hest-batteri\n")
    cli(workdir, "user", "language", "olga", "ru")
    knowledge.create_article(UNSOLVED, User.get(User.username == "admin"))
    refused = cli(workdir, "kb", "validate", "1", "--as", "olga", check=False, env_extra=russian)
    assert refused.returncode == 1
    assert "resolution: missing: an article is validated with the steps that solve the problem" in refused.stderr
    assert "не заполнено" not in refused.stderr

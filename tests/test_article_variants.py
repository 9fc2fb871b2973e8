"""One problem, one article, a variant per language: lifecycle per variant, variants from tickets,
links whatever the language, the language gaps, and replies in the customer's language.

Tickets arrive as real mail through the pipeline (which learns the customer's
language) and close through patrol.close; on SQLite and PostgreSQL.
"""
from __future__ import annotations

import email
import json

import pytest

from daemon.knowledge import article_replies as kb_replies
from daemon.knowledge import articles as knowledge
from daemon.knowledge import figures as kb_figures
from daemon.knowledge.articles import ArticleRefused, ArticleText, NotAllowed
from daemon.patrol import logbook as patrol
from daemon.patrol.logbook import Note
from daemon.store.models import (
    Article, ArticleLink, ArticleRevision, ArticleSuggestion, ArticleVariant, AuditEvent, Outgoing, ReplyTemplate,
)
from tests.test_knowledge import mail_in, setup  # noqa: F401 - the fixture

RESET_EN = ArticleText(title="The password reset mail never arrives",
                       issue="I asked for a new password but the reset mail never came.",
                       resolution="Look in the spam folder and add our address to your contacts, then ask again.",
                       keywords=("password reset", "spam"))
RESET_RU = ArticleText(title="Не приходит письмо для сброса пароля",
                       issue="Я нажимаю «Забыли пароль», но письмо так и не приходит.",
                       resolution="Проверьте папку «Спам», добавьте наш адрес в контакты и запросите письмо ещё раз.",
                       keywords=("сброс пароля", "спам"))
RUSSIAN_MAIL = ("Здравствуйте! Я уже третий раз нажимаю «Забыли пароль» на вашем сайте, но письмо для сброса "
                "пароля так и не приходит. Что мне делать?")
NORWEGIAN_MAIL = ("Hei! Jeg har bedt om nytt passord tre ganger nå, men e-posten for å tilbakestille passordet "
                  "kommer aldri fram. Hva gjør jeg?")


def checked_article(agent, reviewer, text=RESET_EN, language="en") -> Article:
    made = knowledge.create_article(text, agent, language=language)
    return knowledge.transition(made, "validate", reviewer)


def test_each_variant_has_its_own_text_state_and_revisions_and_the_article_sums_them_up(setup):
    _, agent, reviewer = setup
    item = knowledge.create_article(RESET_EN, agent)
    assert (item.languages, item.state, item.revision) == (["en"], "draft", 1)
    variant = knowledge.add_variant(item, "ru", RESET_RU, agent, note="for Russian customers")
    item = Article.get_by_id(item.id)
    assert (variant.language, variant.state, item.state, item.revision) == ("ru", "draft", "draft", 2)
    assert ArticleText.of(item.variant("ru")) == RESET_RU and ArticleText.of(item.variant("en")) == RESET_EN

    with pytest.raises(NotAllowed, match="has variants in"):
        knowledge.transition(item, "validate", reviewer)  # which one?
    item = knowledge.transition(item, "validate", reviewer, language="en")
    assert (item.variant("en").state, item.variant("ru").state, item.state) == ("validated", "draft", "validated")
    assert item.validated_by_id == reviewer.id and item.variant("en").validated_by_id == reviewer.id
    item = knowledge.transition(item, "publish", reviewer, language="en")
    assert item.state == "published" and item.variant("ru").published_at is None
    assert knowledge.public_url(setup[0], item, "en") and not knowledge.public_url(setup[0], item, "ru")

    # An agent's edit of the Russian draft leaves the published English text alone.
    item = knowledge.edit_article(item, RESET_RU.replace(cause="Почтовый фильтр"), agent, language="ru")
    assert item.variant("ru").cause == "Почтовый фильтр" and item.variant("en").state == "published"
    with pytest.raises(NotAllowed, match=r"\(en\) is published"):
        knowledge.edit_article(item, RESET_EN.replace(cause="Spam filter"), agent, language="en")

    revisions = knowledge.revisions(item)
    assert [(r.number, r.language, r.state) for r in revisions] == [
        (1, "en", "draft"), (2, "ru", "draft"), (3, "en", "validated"), (4, "en", "published"), (5, "ru", "draft")]
    assert [r.number for r in knowledge.revisions(item, "ru")] == [2, 5]
    assert "+Почтовый фильтр" in knowledge.diff(item, 2, 5)

    # Archiving retires the problem in every language; restoring brings every variant back.
    item = knowledge.transition(item, "archive", reviewer)
    assert item.state == "archived" and {v.state for v in item.variant_list} == {"archived"}
    item = knowledge.transition(item, "restore", reviewer)
    assert item.state == "not_validated" and {v.state for v in item.variant_list} == {"not_validated"}
    assert Article.select().count() == 1 and ArticleVariant.select().count() == 2


def test_a_language_is_added_once_and_only_a_known_one(setup):
    _, agent, _ = setup
    item = knowledge.create_article(RESET_EN, agent, language="en")
    with pytest.raises(ArticleRefused) as refused:
        knowledge.add_variant(item, "en", RESET_EN.replace(title="Again"), agent)
    assert "has a en variant already" in refused.value.problems["language"]
    with pytest.raises(ArticleRefused) as refused:
        knowledge.add_variant(item, "xx", RESET_RU, agent)
    assert "one of en, nb" in refused.value.problems["language"]
    with pytest.raises(ArticleRefused) as refused:
        knowledge.add_variant(item, "ru", ArticleText(title=""), agent)
    assert set(refused.value.problems) == {"title", "issue"}
    assert ArticleVariant.select().count() == 1 and ArticleRevision.select().count() == 1


def test_an_article_is_written_in_the_language_of_its_text_unless_told(setup):
    _, agent, _ = setup
    assert knowledge.create_article(RESET_RU, agent).languages == ["ru"]
    assert knowledge.create_article(RESET_EN, agent, language="nb").languages == ["nb"]


def test_the_same_problem_asked_in_russian_becomes_a_variant_and_the_close_links_the_one_article(setup):
    config, agent, reviewer = setup
    item = checked_article(agent, reviewer)
    ticket = mail_in(config, "Ольга <olga@example.ru>", "Не приходит письмо", RUSSIAN_MAIL)
    assert ticket.requester.language == "ru"
    knowledge.add_variant(item, "ru", RESET_RU, agent, ticket=ticket)  # "the same problem as article N"
    link = ArticleLink.get(ArticleLink.ticket == ticket.id)
    assert (link.article_id, link.kind) == (item.id, "reused")
    report = patrol.close(config, ticket, Note(
        situation="The reset mail did not arrive.", behaviour="Had her look in the spam folder.",
        outcome="She found it and reset the password.", outcome_kind="resolved"), agent)
    assert (report.capture.action, report.capture.article.id) == ("linked", item.id)
    assert Article.select().count() == 1 and Article.get_by_id(item.id).reuse_count == 1


def test_closing_with_an_article_found_in_another_language_links_it_and_drafts_nothing(setup):
    config, agent, reviewer = setup
    item = checked_article(agent, reviewer)  # English only
    ticket = mail_in(config, "Ольга <olga@example.ru>", "Не приходит письмо", RUSSIAN_MAIL)
    report = patrol.close(config, ticket, Note(
        situation="Письмо для сброса не приходило.", behaviour="Попросил проверить папку «Спам».",
        outcome="Письмо нашлось в папке «Спам», пароль сброшен.", outcome_kind="resolved"), agent, article=item)
    assert (report.capture.action, report.capture.article.id) == ("linked", item.id)
    assert Article.select().count() == 1 and ArticleVariant.select().count() == 1
    assert ArticleLink.get(ArticleLink.ticket == ticket.id).report_id == report.id
    assert Article.get_by_id(item.id).reuse_count == 1


def test_a_capture_matches_the_variant_in_the_tickets_language(setup):
    config, agent, reviewer = setup
    item = checked_article(agent, reviewer)
    knowledge.add_variant(item, "ru", RESET_RU, agent)
    ticket = mail_in(config, "Ольга <olga@example.ru>", "Не приходит письмо для сброса пароля", RUSSIAN_MAIL)
    report = patrol.close(config, ticket, Note(
        situation="Письмо для сброса пароля не приходит.", behaviour="Проверили папку «Спам», добавили адрес.",
        outcome="Письмо пришло, пароль сброшен.", outcome_kind="resolved", cause="Почтовый фильтр"), agent)
    assert (report.capture.action, report.capture.article.id) == ("reused", item.id)
    assert Article.select().count() == 1


def test_a_missing_variant_is_a_gap_counted_once_per_article_and_the_figures_count_one_article(setup):
    config, agent, reviewer = setup
    item = checked_article(agent, reviewer)
    for n, sender in enumerate(("olga@example.ru", "ivan@example.ru")):
        ticket = mail_in(config, sender, "Не приходит письмо", RUSSIAN_MAIL)
        ArticleSuggestion.get_or_create(ticket=ticket.id, article=item.id, defaults={"rank": 1, "score": 1.0})
        knowledge.link(item, ticket, "reused", agent)
    mail_in(config, "kari@example.no", "Skriveren", "Hei! Skriveren på kontoret skriver bare ut blanke sider etter "
            "at vi byttet toner i går.")  # another problem: the article was not sent to her, no gap
    gaps = kb_figures.language_gaps()
    assert [(g.article_id, g.language, g.tickets) for g in gaps] == [(item.id, "ru", 2)]
    figures = kb_figures.variant_figures()
    assert figures == {"articles": 1, "variants": 1, "variants_per_language": {"en": 1},
                       "articles_needing_a_variant": 1, "needed_per_language": {"ru": 1}}
    (row,) = kb_figures.article_health()
    assert (row["article"], row["languages"], row["needs"], row["reuse_count"]) == (item.id, {"en": "validated"},
                                                                                  ["ru"], 2)
    knowledge.add_variant(item, "ru", RESET_RU, agent)
    assert kb_figures.language_gaps() == []
    figures = kb_figures.variant_figures()
    assert (figures["articles"], figures["variants"], figures["articles_needing_a_variant"]) == (1, 2, 0)
    assert len(kb_figures.article_health()) == 1


def test_a_ukrainian_reader_is_served_by_the_russian_variant(setup):
    _, agent, _ = setup
    item = knowledge.create_article(RESET_RU, agent, language="ru")
    assert knowledge.missing_languages(item, ["uk", "ru", "nn", "uk"]) == ["nn"]


def test_the_reply_from_an_article_goes_in_the_customers_language_and_warns_when_it_has_none(setup):
    config, agent, reviewer = setup
    item = checked_article(agent, reviewer)
    knowledge.add_variant(item, "ru", RESET_RU, agent)
    knowledge.transition(item, "validate", reviewer, language="ru")
    made = kb_replies.templates_from_article(config, Article.get_by_id(item.id), reviewer)
    assert sorted((t.name, t.language) for t in made) == [(f"kb-{item.id}", "en"), (f"kb-{item.id}", "ru")]
    assert {t.language: t.article_revision for t in ReplyTemplate.select()} == {"en": 2, "ru": 4}

    russian = mail_in(config, "Ольга Смирнова <olga@example.ru>", "Не приходит письмо", RUSSIAN_MAIL)
    choice = kb_replies.variant_for_ticket(config, russian, f"kb-{item.id}")
    assert (choice.language, choice.theirs, choice.warning()) == ("ru", True, "")
    row = Outgoing.get_by_id(kb_replies.reply(config, russian, f"kb-{item.id}", agent).id)
    body = email.message_from_bytes(bytes(row.data)).get_payload(decode=True).decode("utf-8")
    assert body.startswith("Здравствуйте, Ольга Смирнова!") and "папку «Спам»" in body
    assert (row.language, row.article_id, row.article_revision) == ("ru", item.id, 4)

    norwegian = mail_in(config, "Kari <kari@example.no>", "Passord", NORWEGIAN_MAIL)
    choice = kb_replies.variant_for_ticket(config, norwegian, f"kb-{item.id}")
    assert (choice.language, choice.theirs) == ("en", False)
    assert choice.warning() == f"article {item.id} has no checked Norwegian Bokmål variant: the closest is English"
    row = Outgoing.get_by_id(kb_replies.reply(config, norwegian, f"kb-{item.id}", agent).id)
    body = email.message_from_bytes(bytes(row.data)).get_payload(decode=True).decode("utf-8")
    assert body.startswith("Hello Kari,") and "spam folder" in body and row.language == "en"
    assert Article.get_by_id(item.id).reuse_count == 2
    (told,) = AuditEvent.select().where((AuditEvent.ticket == norwegian.id)
                                        & (AuditEvent.action == "article sent in another language"))
    assert json.loads(told.detail) == {"article": item.id, "language": "en", "customer_language": "nb"}
    assert kb_replies.reply_templates(config).count(f"kb-{item.id}") == 1


def test_a_change_of_one_variant_marks_only_its_own_template_for_review(setup):
    config, agent, reviewer = setup
    item = checked_article(agent, reviewer)
    knowledge.add_variant(item, "ru", RESET_RU, agent)
    knowledge.transition(item, "validate", reviewer, language="ru")
    kb_replies.templates_from_article(config, Article.get_by_id(item.id), reviewer)
    knowledge.edit_article(item, RESET_RU.replace(cause="Почтовый фильтр"), reviewer, language="ru")
    assert [(t.name, t.language) for t in kb_replies.stale_templates()] == [(f"kb-{item.id}", "ru")]
    item = knowledge.transition(item, "archive", reviewer, language="en")  # withdrawn: its template stops
    assert sorted(t.language for t in kb_replies.stale_templates()) == ["en", "ru"] and item.state == "validated"


def test_a_search_shows_the_variant_it_matched_and_counts_the_article_once(setup):
    _, agent, reviewer = setup
    item = checked_article(agent, reviewer)
    knowledge.add_variant(item, "ru", RESET_RU, agent)
    (found,) = kb_figures.search_articles("письмо для сброса пароля").found
    assert (found.article.id, found.variant.language, found.variant.title) == (item.id, "ru", RESET_RU.title)
    (found,) = kb_figures.search_articles("password reset mail").found
    assert (found.article.id, found.variant.language) == (item.id, "en")

"""Article variants: one problem is one article, its text a variant per language, each with its own state.

Every existing article becomes an article with one variant, in the language its
title, issue and resolution are written in, and every revision learns that language.
"""
from __future__ import annotations

from functools import lru_cache

from peewee import CharField, DateTimeField, ForeignKeyField, Model, TextField

from daemon.languages import normalise

# The languages daemon.mail.language detected when this was written: frozen, as the whole migration is.
_LANGUAGES = ("en", "nb", "nn", "ru", "sv", "da", "de", "fr", "uk")
_TEXT_COLUMNS = ("title", "issue", "environment", "resolution", "cause", "keywords", "language")
_CONFIDENT = 0.75  # as daemon.mail.language judges it; below that the article's own guess wins
_SAMPLE_CHARS = 600


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        pass

    class Article(Base):
        pass

    class ArticleVariant(Base):
        article = ForeignKeyField(Article, on_delete="CASCADE")
        language = CharField(max_length=8)
        title = TextField()
        issue = TextField(default="")
        environment = TextField(default="")
        resolution = TextField(default="")
        cause = TextField(default="")
        keywords = TextField(default="[]")
        state = CharField(max_length=20, default="draft")
        created_at = DateTimeField()
        updated_at = DateTimeField()
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        validated_at = DateTimeField(null=True)
        validated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        published_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("article", "language"), True),)

    db.create_tables([ArticleVariant])
    migrator.migrate(migrator.add_column("article_revision", "language", CharField(max_length=8, default="")))
    rows = db.execute_sql(
        'SELECT "id", "title", "issue", "environment", "resolution", "cause", "keywords", "language", "state", '
        '"created_at", "updated_at", "created_by_id", "validated_at", "validated_by_id", "published_at" '
        'FROM "article" ORDER BY "id"').fetchall()
    for (article_id, title, issue, environment, resolution, cause, keywords, old_language, state, created_at,
         updated_at, created_by, validated_at, validated_by, published_at) in rows:
        language = _language("\n".join((title or "", issue or "", resolution or "")), old_language)
        ArticleVariant.insert(
            article=article_id, language=language, title=title, issue=issue, environment=environment,
            resolution=resolution, cause=cause, keywords=keywords or "[]", state=state, created_at=created_at,
            updated_at=updated_at, created_by=created_by, validated_at=validated_at, validated_by=validated_by,
            published_at=published_at).execute()
        db.execute_sql(f'UPDATE "article_revision" SET "language" = {db.param} WHERE "article_id" = {db.param}',
                       (language, article_id))
    # One source of truth: the text lives in the variants only. None of these columns is indexed
    # or a foreign key, so SQLite drops them in place (no table rebuild, no cascade).
    migrator.migrate(*(migrator.drop_column("article", column) for column in _TEXT_COLUMNS))


def _language(text: str, old: str) -> str:
    """The language the text is written in; the article's own guess when the detector is unsure; else English.

    Frozen here (lingua over the same languages as daemon.mail.language when this was written), so the
    upgrade does not change with the detector.
    """
    old = normalise(old or "")
    found = _detect(text)
    if found is not None and found[1] >= _CONFIDENT:
        return found[0]
    if old in _LANGUAGES:
        return old
    return found[0] if found is not None else "en"


def _detect(text: str) -> tuple[str, float] | None:
    sample = text[:_SAMPLE_CHARS]
    if sum(1 for c in sample if c.isalpha()) < 12:
        return None
    values = _detector().compute_language_confidence_values(sample)
    if not values or values[0].value <= 0:
        return None
    return values[0].language.iso_code_639_1.name.lower(), float(values[0].value)


@lru_cache(maxsize=1)
def _detector():
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in _LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()

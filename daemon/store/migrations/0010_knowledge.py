"""Knowledge (KCS): articles with revisions, flags, links to tickets, suggestions, searches.

The full-text index is FTS5 on SQLite (a virtual table with a Unicode
tokenizer that folds diacritics) and a tsvector with a GIN index on
PostgreSQL; both keep each term's document frequency in term_frequency. Reply templates
learn the article (and its revision) they were made from; sent mail, the
template revision and article revision that produced it.
"""
from peewee import (
    BooleanField, CharField, DateTimeField, FloatField, ForeignKeyField, IntegerField, Model, SqliteDatabase,
    TextField,
)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Ticket(Base):
        pass

    class User(Base):
        pass

    class PatrolReport(Base):
        pass

    class Article(Base):
        title = TextField()
        issue = TextField(default="")
        environment = TextField(default="")
        resolution = TextField(default="")
        cause = TextField(default="")
        keywords = TextField(default="[]")
        language = CharField(max_length=8, default="")
        state = CharField(max_length=20, default="draft", index=True)
        revision = IntegerField(default=1)
        source_ticket = ForeignKeyField(Ticket, null=True, on_delete="SET NULL")
        created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        created_at = DateTimeField()
        updated_at = DateTimeField()
        validated_at = DateTimeField(null=True)
        validated_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        published_at = DateTimeField(null=True)
        reuse_count = IntegerField(default=0)
        last_used_at = DateTimeField(null=True)
        reopen_count = IntegerField(default=0)

    class ArticleRevision(Base):
        article = ForeignKeyField(Article, on_delete="CASCADE")
        number = IntegerField()
        title = TextField()
        issue = TextField(default="")
        environment = TextField(default="")
        resolution = TextField(default="")
        cause = TextField(default="")
        keywords = TextField(default="[]")
        state = CharField(max_length=20)
        author = ForeignKeyField(User, null=True, on_delete="SET NULL")
        ticket = ForeignKeyField(Ticket, null=True, on_delete="SET NULL")
        note = TextField(default="")
        created_at = DateTimeField()

        class Meta:
            indexes = ((("article", "number"), True),)

    class ArticleFlag(Base):
        article = ForeignKeyField(Article, on_delete="CASCADE")
        kind = CharField(max_length=20)
        detail = TextField(default="")
        duplicate_of = ForeignKeyField(Article, null=True, on_delete="SET NULL")
        ticket = ForeignKeyField(Ticket, null=True, on_delete="SET NULL")
        raised_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        raised_at = DateTimeField()
        cleared_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        cleared_at = DateTimeField(null=True, index=True)
        clear_note = TextField(default="")

    class ArticleLink(Base):
        article = ForeignKeyField(Article, on_delete="CASCADE")
        ticket = ForeignKeyField(Ticket, on_delete="CASCADE")
        kind = CharField(max_length=20)
        report = ForeignKeyField(PatrolReport, null=True, on_delete="SET NULL")
        user = ForeignKeyField(User, null=True, on_delete="SET NULL")
        created_at = DateTimeField(index=True)
        reopened_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("article", "ticket"), True),)

    class ArticleSuggestion(Base):
        ticket = ForeignKeyField(Ticket, on_delete="CASCADE")
        article = ForeignKeyField(Article, on_delete="CASCADE")
        rank = IntegerField()
        score = FloatField()

        class Meta:
            indexes = ((("ticket", "article"), True),)

    class SearchLog(Base):
        words = TextField()
        normalized = TextField(index=True)
        user = ForeignKeyField(User, null=True, on_delete="SET NULL")
        ticket = ForeignKeyField(Ticket, null=True, on_delete="SET NULL")
        origin = CharField(max_length=20, default="cli")
        results = IntegerField()
        result_ids = TextField(default="[]")
        used_article = ForeignKeyField(Article, null=True, on_delete="SET NULL")
        used_at = DateTimeField(null=True)
        created_at = DateTimeField(index=True)

    db.create_tables([Article, ArticleRevision, ArticleFlag, ArticleLink, ArticleSuggestion, SearchLog])
    db.execute_sql('CREATE INDEX "article_link_ticket" ON "article_link" ("ticket_id")')
    # How many articles hold each index term (idf for capture, keywords and suggestions).
    db.execute_sql('CREATE TABLE "term_frequency" ("term" TEXT PRIMARY KEY, "docs" INTEGER NOT NULL)')
    # A checked article's most telling words and their weights, read heaviest first per word.
    db.execute_sql('CREATE TABLE "article_term" ("term" TEXT NOT NULL, "weight" REAL NOT NULL, '
                   '"article_id" INTEGER NOT NULL REFERENCES "article" ("id") ON DELETE CASCADE)')
    db.execute_sql('CREATE INDEX "article_term_by_weight" ON "article_term" '
                   '("term", "weight" DESC, "article_id")')  # covering: a suggestion reads no table row
    db.execute_sql('CREATE INDEX "article_term_article" ON "article_term" ("article_id")')
    if isinstance(db, SqliteDatabase):
        db.execute_sql('CREATE VIRTUAL TABLE "article_fts" USING fts5('
                       '"title", "body", "keywords", tokenize = \'unicode61 remove_diacritics 2\')')
    else:
        db.execute_sql('CREATE TABLE "article_search" ("article_id" INTEGER PRIMARY KEY '
                       'REFERENCES "article" ("id") ON DELETE CASCADE, "terms" TEXT NOT NULL, '
                       '"document" tsvector NOT NULL)')
        db.execute_sql('CREATE INDEX "article_search_document" ON "article_search" USING GIN ("document")')
    migrator.migrate(
        migrator.add_column("reply_template", "revision", IntegerField(default=1)),
        migrator.add_column("reply_template", "article_id",
                            ForeignKeyField(Article, null=True, field=Article.id, on_delete="SET NULL")),
        migrator.add_column("reply_template", "article_revision", IntegerField(null=True)),
        migrator.add_column("reply_template", "needs_review", BooleanField(default=False)),
        migrator.add_column("outbox", "template_revision", IntegerField(null=True)),
        migrator.add_column("outbox", "article_id",
                            ForeignKeyField(Article, null=True, field=Article.id, on_delete="SET NULL")),
        migrator.add_column("outbox", "article_revision", IntegerField(null=True)),
    )

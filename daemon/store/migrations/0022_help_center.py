"""The public help center: readers' answers to "Did this solve it?", and the per-client post counts that
limit its forms.

article_feedback: one row an answer (article, variant language, yes or no,
comment), nothing about the reader. rate_limit: posts per keyed hash of form and
client address per minute window; the address itself is never stored.
"""
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class Article(Base):
        pass

    class ArticleFeedback(Base):
        article = ForeignKeyField(Article, on_delete="CASCADE")
        language = CharField(max_length=8)
        helpful = BooleanField()
        comment = TextField(default="")
        created_at = DateTimeField(index=True)

        class Meta:
            indexes = ((("article", "language"), False),)

    class RateLimit(Base):
        key = CharField(max_length=64)
        window = DateTimeField()
        count = IntegerField(default=0)

        class Meta:
            indexes = ((("key", "window"), True),)

    db.create_tables([ArticleFeedback, RateLimit])

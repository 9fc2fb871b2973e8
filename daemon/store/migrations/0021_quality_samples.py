"""The Article Quality Index: each week's sample of every agent's new and changed articles, and its scores.

One row an article variant drawn for a week (unique per week, author, article and
language, so drawing a week again adds none twice), with the reviewer it was
given to and, once scored, the checklist's answers and the score.
"""
from peewee import CharField, DateField, DateTimeField, FloatField, ForeignKeyField, IntegerField, Model, TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        pass

    class Article(Base):
        pass

    class QualitySample(Base):
        week = DateField(index=True)
        author = ForeignKeyField(User, null=True, on_delete="SET NULL")
        article = ForeignKeyField(Article, on_delete="CASCADE")
        language = CharField(max_length=8)
        revision = IntegerField()
        reviewer = ForeignKeyField(User, null=True, on_delete="SET NULL")
        drawn_at = DateTimeField()
        scored_at = DateTimeField(null=True, index=True)
        scored_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
        checks = TextField(default="{}")
        score = FloatField(null=True)
        note = TextField(default="")

        class Meta:
            indexes = ((("week", "author", "article", "language"), True),)

    db.create_tables([QualitySample])

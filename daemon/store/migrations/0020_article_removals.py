"""What drafting took out of an article's text, each where it was taken from, so that an agent can put one back.

One row a placeholder ([phone], [name], ...) in a field of the drafted variant, in
order; a dropped greeting or signature is a row with no field, listed but not put back.
"""
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        pass

    class Article(Base):
        pass

    class ArticleRemoval(Base):
        article = ForeignKeyField(Article, on_delete="CASCADE")
        language = CharField(max_length=8)
        field = CharField(max_length=20, default="")
        position = IntegerField(default=0)
        kind = CharField(max_length=30)
        placeholder = CharField(max_length=30, default="")
        text = TextField()
        restored_at = DateTimeField(null=True)
        restored_by = ForeignKeyField(User, null=True, on_delete="SET NULL")

        class Meta:
            indexes = ((("article", "language", "field", "position"), False),)

    db.create_tables([ArticleRemoval])

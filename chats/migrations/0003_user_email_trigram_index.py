from django.db import migrations

# The admin list's search (`q`) is `UPPER(auth_user.email::text) LIKE UPPER('%fragment%')`, which
# no b-tree can serve: without this index PostgreSQL reads every user (60 ms at 100k users, more
# than the rest of the page). A trigram index on the same expression answers it in about a
# millisecond. pg_trgm ships with PostgreSQL and is a trusted extension (13+), so the database's
# owner may create it. Built CONCURRENTLY: a large users table stays writable meanwhile.
INDEX = "chat_search_user_email_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON auth_user "
        "USING gin (UPPER(email::text) gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("chats", "0002_supportchat_message_count"),
    ]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]

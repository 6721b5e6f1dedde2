"""Alembic environment: the engine comes from `bot.core.db.upgrade`, never from a config file.

Every module of the packages that own tables is imported, so autogenerate sees all of them
(tables register themselves on `bot.core.db.metadata`)."""
import importlib
import pkgutil

from alembic import context

from bot.core.db import metadata

TABLE_PACKAGES = ("bot.support", "escalation", "kb_index")

for _name in TABLE_PACKAGES:
    _pkg = importlib.import_module(_name)
    for _mod in pkgutil.iter_modules(_pkg.__path__, _name + "."):
        importlib.import_module(_mod.name)

#: Several servers starting at once on one PostgreSQL database migrate one after the other: a
#: transaction-scoped advisory lock (released at commit) makes the others wait, then find the
#: schema current. (SQLite's write lock does the same for one file.)
MIGRATION_LOCK = 727_101

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        context.run_migrations()
    connection.commit()

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

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

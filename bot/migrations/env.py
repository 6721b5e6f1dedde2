"""Alembic environment: the engine comes from `bot.core.db.upgrade`, never from a config file."""
from alembic import context

import bot.support.audit  # noqa: F401
import bot.support.conversations  # noqa: F401  registers the tables on bot.core.db.metadata
import escalation.incidents  # noqa: F401
import escalation.store  # noqa: F401
import escalation.webhooks  # noqa: F401
import kb_index.repository  # noqa: F401
from bot.core.db import metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

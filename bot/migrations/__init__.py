"""Alembic migrations of the service database (applied at start by `bot.core.db.upgrade`)."""

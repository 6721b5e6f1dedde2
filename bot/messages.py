"""What the bot says, per language: the `strings` of the locale files (bot/locales/*.yml and
TRIAGE_LOCALES_DIR). A language adds itself by adding a file; missing strings fall back to English."""
from __future__ import annotations

from bot.locales import registry


def t(lang: str, key: str, **kw) -> str:
    return registry().text(lang, key, **kw)

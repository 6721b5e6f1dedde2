"""Language of a message and its clauses, from the locale files (see bot/locales.py)."""
from __future__ import annotations

from bot.locales import registry


def detect_language(text: str, default: str | None = None) -> str:
    """The message's language code: by script first ("API Secret丢了" is Chinese: its Han
    characters are half its units), then by common words among languages sharing a script;
    `default` (the registry's default language unless given) when nothing tells."""
    return registry().detect(text, default)


def split_clauses(text: str, min_chars: int = 6) -> list[str]:
    """Split a message into its sentences or clauses ("…? Also …", "…。另外…", markers from the
    locale files); short bits stay with their neighbour. One clause comes back as a one-item list."""
    reg = registry()
    parts = [reg.lead_pattern.sub("", p.strip(" ,，")) for p in reg.clause_pattern.split(text) if p and p.strip(" ,，")]
    merged: list[str] = []
    for p in parts:
        if merged and (len(p) < min_chars or len(merged[-1]) < min_chars):
            merged[-1] = f"{merged[-1]} {p}"
        else:
            merged.append(p)
    return merged or [text]

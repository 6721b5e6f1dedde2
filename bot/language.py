"""Cheap script-based language detection: enough to tell Chinese from Latin-script text."""
from __future__ import annotations

import re


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0xF900 <= o <= 0xFAFF


_LATIN_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect_language(text: str, default: str = "en") -> str:
    """'zh' when Han characters make up a fair share of the text, else `default`.

    Each Han character counts like one word and each run of other letters as one word, so
    "API Secret丢了" (two Han characters, two Latin words) is Chinese.
    """
    han = sum(1 for c in text if _is_cjk(c))
    other = sum(1 for w in _LATIN_WORD.findall(text) if not any(_is_cjk(c) for c in w))
    if han + other == 0:
        return default
    return "zh" if han / (han + other) >= 0.3 else default


_CLAUSE = re.compile(r"(?<=[.?!。？！；;])\s*|\s+(?:and also|also|besides|plus|另外|还有|同时|此外)\s*|(?:另外|还有|此外)[，,]?")


_LEAD = re.compile(r"^(?:and also|also|and|besides|plus)\s+", re.IGNORECASE)


def split_clauses(text: str, min_chars: int = 6) -> list[str]:
    """Split a message into its sentences or clauses ("…? Also …", "…。另外…"); short bits stay
    with their neighbour. A message with one clause comes back as a one-item list."""
    parts = [_LEAD.sub("", p.strip(" ,，")) for p in _CLAUSE.split(text) if p and p.strip(" ,，")]
    merged: list[str] = []
    for p in parts:
        if merged and (len(p) < min_chars or len(merged[-1]) < min_chars):
            merged[-1] = f"{merged[-1]} {p}"
        else:
            merged.append(p)
    return merged or [text]

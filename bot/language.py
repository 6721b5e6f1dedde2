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

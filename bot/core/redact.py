"""Redact personal data from text bound for logs and webhooks: card numbers (Luhn-valid),
e-mail addresses and phone numbers."""
from __future__ import annotations

import logging
import re
from typing import Any

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_CARDLIKE = re.compile(r"(?<!\d)(?:\d[ \-]?){12,18}\d(?!\d)")
_PHONE = re.compile(r"(?<![\w])(?:\+|00)?\d[\d \-().]{6,18}\d(?![\w])")


def luhn_ok(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if alt:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        alt = not alt
    return total % 10 == 0


def _card(m: re.Match) -> str:
    digits = re.sub(r"\D", "", m.group())
    return "[card]" if 13 <= len(digits) <= 19 and luhn_ok(digits) else m.group()


_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}")


def _phone(m: re.Match) -> str:
    if _DATE.fullmatch(m.group()):
        return m.group()
    digits = re.sub(r"\D", "", m.group())
    return "[phone]" if 8 <= len(digits) <= 15 else m.group()


def redact(text: str) -> str:
    text = _EMAIL.sub("[email]", text)
    text = _CARDLIKE.sub(_card, text)
    return _PHONE.sub(_phone, text)


def redact_obj(obj: Any) -> Any:
    """Redact every string inside JSON-like data."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


class RedactingFilter(logging.Filter):
    """Attach to a handler so that nothing it writes carries personal data."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True

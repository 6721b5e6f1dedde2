"""Redact personal data from text bound for logs and webhooks: card numbers (Luhn-valid, however
grouped), e-mail addresses (internationalised ones too) and phone numbers.

Two choke points use it: `install_log_redaction` puts one filter on the root handler, so every
log line (messages, tracebacks with their locals and SQL parameters, the access log with its
percent-encoded query strings) is redacted; `escalation.webhooks.enqueue` redacts every outbound
payload before it is stored. Identifiers are never touched: UUIDs and long hex ids stay whole, and
so does any value under a key named `id` or ending in `_id`.
"""
from __future__ import annotations

import logging
import re
import traceback
from typing import Any
from urllib.parse import unquote

# Separators people and forms put between digit groups: spaces (also no-break and thin ones),
# dashes, dots, slashes.
_SEP = r"[ \-./\u00a0\u2007\u202f]"
# \w is Unicode-aware: "josé@exämple.de", "用户@例子.公司" are addresses too.
_EMAIL = re.compile(r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.\w{2,}")
_CARDLIKE = re.compile(rf"(?<!\d)(?:\d{_SEP}?){{12,18}}\d(?!\d)")
# Bounded by anything but a Latin letter or digit: "请联系13800138000" is a phone number too.
_PHONE = re.compile(rf"(?<![A-Za-z0-9_])(?:\+|00)?\d(?:[\d()]|{_SEP}){{6,18}}\d(?![A-Za-z0-9_])")
# Ids: UUIDs and hex tokens of 16+ characters (ticket, message and conversation ids, hashes).
_ID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
                 r"|\b(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{16,}\b")
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}")
_TIME_OR_AMOUNT = re.compile(r"\d{1,3}(?:[.,]\d{3})+(?:[.,]\d{1,2})?|\d+[.,]\d{1,2}")


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


def _phone(m: re.Match) -> str:
    if _DATE.fullmatch(m.group()) or _TIME_OR_AMOUNT.fullmatch(m.group()):
        return m.group()
    digits = re.sub(r"\D", "", m.group())
    return "[phone]" if 8 <= len(digits) <= 15 else m.group()


def _redact_plain(text: str) -> str:
    text = _EMAIL.sub("[email]", text)
    text = _CARDLIKE.sub(_card, text)
    return _PHONE.sub(_phone, text)


def redact(text: str) -> str:
    """`text` with cards, e-mails and phone numbers replaced; ids left whole."""
    out, last = [], 0
    for m in _ID.finditer(text):
        out.append(_redact_plain(text[last:m.start()]))
        out.append(m.group())
        last = m.end()
    out.append(_redact_plain(text[last:]))
    return "".join(out)


def redact_log(text: str) -> str:
    """For log lines: percent-encoded text (query strings in the access log) is decoded first, so
    `a%40b.com` is found like `a@b.com`."""
    if "%" in text:
        text = unquote(text, errors="replace")
    return redact(text)


def _is_id_key(key: Any) -> bool:
    return isinstance(key, str) and (key == "id" or key.endswith("_id"))


def redact_obj(obj: Any) -> Any:
    """Redact every string inside JSON-like data, except the values of id keys."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: v if _is_id_key(k) else redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


class RedactingFilter(logging.Filter):
    """Attach to a handler so that nothing it writes carries personal data: the message, and the
    traceback and stack of errors (which quote request bodies and SQL parameters), are rendered
    here and redacted as one text."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            text += "\n" + record.exc_text
        if record.stack_info:
            text += "\n" + record.stack_info
        record.msg, record.args = redact_log(text), ()
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def install_log_redaction(level: int = logging.INFO) -> logging.Handler:
    """The one logging set-up of a server: every record, from any logger that propagates to the
    root (uvicorn's access and error logs, SQLAlchemy, ours), passes the redacting filter."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    return handler

import logging

from bot.core.redact import RedactingFilter, luhn_ok, redact, redact_obj


def test_luhn():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


def test_cards_emails_phones_are_redacted():
    text = ("card 4111 1111 1111 1111, mail ann.lee+x@example.co.uk, call +44 20 7946 0958 or 138-0013-8000; "
            "order 1234567890123456 stays, amount 250.00 stays, date 2026-11-23 stays")
    out = redact(text)
    assert "[card]" in out and "4111" not in out
    assert "[email]" in out and "example" not in out
    assert out.count("[phone]") == 2
    assert "1234567890123456" in out  # not Luhn-valid: an order number, not a card
    assert "250.00" in out and "2026-11-23" in out


def test_nested_and_logging(caplog):
    assert redact_obj({"a": ["mail me: x@y.io"], "n": 3}) == {"a": ["mail me: [email]"], "n": 3}
    logger = logging.getLogger("t.redact")
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    record = logger.makeRecord("t", logging.INFO, __file__, 1, "user %s wrote", ("bob@example.com",), None)
    handler.filter(record)
    assert record.getMessage() == "user [email] wrote"

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


def test_cards_in_every_grouping_are_redacted():
    for sep in (" ", "-", ".", "/", "\u00a0", "\u202f", ""):
        card = sep.join(["4111", "1111", "1111", "1111"])
        assert redact(f"my card {card} please") == "my card [card] please", repr(sep)


def test_internationalised_emails_and_phones_next_to_chinese_are_redacted():
    assert redact("write to maría.josé@exämple.de") == "write to [email]"
    assert "例子" not in redact("邮箱 用户@例子.公司")
    assert redact("请联系13800138000") == "请联系[phone]"


def test_ids_are_never_redacted_inside():
    tid = "e3db152d-6121-4354-8694-439612345678"
    assert redact(f"ticket {tid} for 13800138000") == f"ticket {tid} for [phone]"
    assert redact("sha 8f3a9c0d1e2b4a5f67891234") == "sha 8f3a9c0d1e2b4a5f67891234"
    assert redact_obj({"ticket_id": "41111111111111", "text": "card 4111111111111111"}) == \
        {"ticket_id": "41111111111111", "text": "card [card]"}


def test_an_e_mail_is_never_split_into_clauses():
    from bot.core.i18n import split_clauses

    assert split_clauses("my mail is jane.doe@example.com. Also the app crashes") == \
        ["my mail is jane.doe@example.com.", "the app crashes"]


def test_tracebacks_and_encoded_query_strings_are_redacted_in_logs():
    import io

    from bot.core.redact import install_log_redaction

    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        handler = install_log_redaction()
        stream = io.StringIO()
        handler.setStream(stream)
        log = logging.getLogger("t.tb")
        try:
            raise RuntimeError("params ('card 4111 1111 1111 1111', 'ann@example.com')")
        except RuntimeError:
            log.exception("unhandled error")
        logging.getLogger("uvicorn.access").info('"GET /x?q=ann%40example.com%20card%204111111111111111 HTTP/1.1"')
        out = stream.getvalue()
        assert "Traceback" in out and "[card]" in out and "[email]" in out
        assert "4111" not in out and "ann@" not in out and "ann%40" not in out
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_three_hundred_chats_full_of_personal_data_leak_nothing():
    """The PII corpus of scripts/pii_benchmark.py (a smaller draw of it), through the HTTP API."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "scripts" / "pii_benchmark.py"
    spec = importlib.util.spec_from_file_location("pii_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    import sys

    sys.modules["pii_benchmark"] = bench  # dataclasses look their module up
    spec.loader.exec_module(bench)
    result = bench.run(60, seed=11)
    assert result["items"] > 200 and result["webhook_payloads"] == 60
    assert result["leaks"] == 0, result["leaked"]
    assert result["ids_damaged"] == 0

"""The e-mail channel with real servers on loopback: our aiosmtpd receiver, an aiosmtpd relay
that collects what we send, threaded exchanges, machine-made mail refused, size limits."""
import smtplib
import socket
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from aiosmtpd.controller import Controller

from bot.core.settings import Settings
from bot.interfaces import mail_server
from bot.support import mail
from bot.support.maildesk import MailDesk
from tests.factories import make_service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """The relay: keeps every message it is given."""

    def __init__(self):
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        import email
        import email.policy

        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 OK"


def wait_for(cond, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


@pytest.fixture
def desk(db_engine, tiny_model, fake_embedder):
    sink = Sink()
    relay = Controller(sink, hostname="127.0.0.1", port=free_port())
    relay.start()
    settings = Settings(encoder="fake:64", mail_address="Support <support@desk.test>", mail_listen_port=free_port(),
                        smtp_relay_host="127.0.0.1", smtp_relay_port=relay.port, mail_answer_threshold=0.3,
                        mail_rate_per_hour=5, mail_max_bytes=200_000, public_url="https://help.desk.test")
    service = make_service(db_engine, tiny_model, fake_embedder, settings)
    d = MailDesk(service, settings)
    stop = threading.Event()
    thread = threading.Thread(target=mail_server.run, args=(d, settings, False, 0.1, stop), daemon=True)
    thread.start()
    wait_for(lambda: _listening(settings.mail_listen_port))
    yield d, sink, settings
    stop.set()
    thread.join(10)
    relay.stop()


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def send(settings, subject: str, body: str, sender="jo@example.com", in_reply_to=None, headers=None,
         to="support@desk.test", html=False) -> str:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for k, v in (headers or {}).items():
        msg[k] = v
    if html:
        msg.set_content("plain fallback")
        msg.add_alternative(body, subtype="html")
    else:
        msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", settings.mail_listen_port, timeout=30) as s:
        s.send_message(msg)
    return str(msg["Message-ID"])


def test_a_question_is_answered_by_mail_in_its_thread(desk):
    d, sink, settings = desk
    mid = send(settings, "Fees", "what are the trading fees\n\nThanks, Jo\n\nOn Mon, support wrote:\n> old stuff")
    reply = wait_for(lambda: sink.messages and sink.messages[0])
    assert reply["In-Reply-To"] == mid and mid in reply["References"]
    assert reply["Subject"] == "Re: Fees" and reply["Auto-Submitted"] == "auto-replied"
    assert reply["To"] == "jo@example.com" and reply["Reply-To"].startswith("support+")
    text = reply.get_content()
    assert "Trading costs 0.1% per trade." in text and "https://help.desk.test/help/a/fees?lang=en" in text


def test_a_problem_goes_to_a_person_whose_reply_and_the_users_answer_stay_in_the_thread(desk):
    d, sink, settings = desk
    svc = d.service
    send(settings, "Help!", "my account was hacked")
    ack = wait_for(lambda: sink.messages and sink.messages[0])
    assert "passed your conversation" in ack.get_content() and "30 minutes" in ack.get_content()
    ticket = svc.tickets.open_tickets()[0]
    claimed = svc.claim("ann", ticket.id)
    svc.agent_reply(ticket.id, "ann", claimed.claim_token, "I locked your account. Please reset your password.")
    agent_mail = wait_for(lambda: len(sink.messages) >= 2 and sink.messages[1])
    assert agent_mail["Auto-Submitted"] is None and "I locked your account" in agent_mail.get_content()
    assert agent_mail["In-Reply-To"] in agent_mail["References"]
    send(settings, "Re: Help!", "Done, thank you!\n\n> I locked your account.", in_reply_to=str(agent_mail["Message-ID"]))
    wait_for(lambda: any(m.role == "user" and m.text.startswith("Done, thank you")
                         for m in svc.transcript(ticket.conversation_id)[1]))
    assert [m.text for m in svc.transcript(ticket.conversation_id)[1] if m.role == "user"][-1] == "Done, thank you!"


def test_machine_made_mail_loops_and_floods_get_no_reply(desk):
    d, sink, settings = desk
    send(settings, "Out of office", "I am away", headers={"Auto-Submitted": "auto-replied"})
    send(settings, "news", "weekly digest", headers={"List-Id": "<news.example.com>"})
    send(settings, "bounce", "undeliverable", sender="MAILER-DAEMON@example.com")
    loop = " ".join(f"<{i}@desk.test>" for i in range(6))
    send(settings, "Re: Re: Re:", "what are the trading fees", headers={"References": loop})
    for i in range(7):
        send(settings, f"q{i}", "what are the trading fees", sender="flood@example.com")
    from sqlalchemy import select

    def handled():
        with d.service.db.connect() as conn:
            return not conn.execute(select(mail.mail_inbox.c.seq).where(mail.mail_inbox.c.status == "new")).first()

    wait_for(handled)
    with d.service.db.connect() as conn:
        notes = [r[0] for r in conn.execute(select(mail.mail_inbox.c.note).where(mail.mail_inbox.c.status == "ignored"))]
    assert sum("machine-made" in n for n in notes) == 3 and sum("loop" in n for n in notes) == 1
    assert sum("an hour" in n for n in notes) == 2                           # the 6th and 7th within the hour
    wait_for(lambda: len(sink.messages) >= 5)
    assert [m["To"] for m in sink.messages] == ["flood@example.com"] * 5     # only the flood's first five


def test_too_large_mail_is_refused_at_the_door_and_a_resend_is_not_answered_twice(desk):
    d, sink, settings = desk
    with pytest.raises(smtplib.SMTPException):
        send(settings, "big", "x" * 300_000)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = "jo@example.com", "support@desk.test", "Fees", "<same@x>"
    msg.set_content("what are the trading fees")
    for _ in range(2):
        with smtplib.SMTP("127.0.0.1", settings.mail_listen_port) as s:
            s.send_message(msg)
    wait_for(lambda: sink.messages)
    with d.service.db.connect() as conn:
        from sqlalchemy import func, select
        assert conn.execute(select(func.count()).select_from(mail.mail_inbox)).scalar_one() == 1
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(settings, "x", "y", to="someone@elsewhere.test")               # not a relay


def test_parsing_html_quotes_attachments_and_missing_ids():
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Jo <jo@example.com>", "support@desk.test", "Hi"
    msg.set_content("plain")
    msg.add_alternative("<p>Hello<br>my <b>card</b> is blocked</p><script>x()</script>", subtype="html")
    msg.add_attachment(b"12345", maintype="application", subtype="pdf", filename="statement.pdf")
    m = mail.parse(bytes(msg), "desk.test")
    assert m.sender == "jo@example.com" and m.message_id.endswith("@no-message-id>")
    assert "plain" == m.text or "card" in m.text
    assert [(a.filename, a.size) for a in m.attachments] == [("statement.pdf", 5)]
    assert mail.html_to_text("<p>Hello<br>my <b>card</b></p><script>x()</script>").split() == ["Hello", "my", "card"]
    assert mail.strip_quoted("Yes please\n\nOn Tue, 1 Dec 2026, Support wrote:\n> earlier\n> more") == "Yes please"
    assert mail.strip_quoted("好的\n\n在2026年12月1日，客服写道：\n> 之前") == "好的"
    assert mail.strip_signature("what are the fees?\n\nThanks, Jo") == "what are the fees?"
    assert mail.strip_signature("my card\n-- \nJo Smith\nACME") == "my card"


def test_a_chinese_question_gets_a_chinese_answer_by_mail(desk):
    d, sink, settings = desk
    send(settings, "手续费", "交易手续费是多少")
    reply = wait_for(lambda: sink.messages and sink.messages[0])
    assert reply["Content-Language"] == "zh" and ("每笔交易收取0.1%手续费" in reply.get_content()
                                                  or "客服" in reply.get_content())   # answered, or handed over, in Chinese


def test_a_long_answer_is_sent_with_smtp_line_ends(desk):
    d, sink, settings = desk
    cid, _ = d.service.create_conversation(channel="email")
    with d.service.db.begin() as conn:
        msg = mail.compose(sender="support@desk.test", to="jo@example.com", subject="Long", body="word " * 800,
                           in_reply_to=None, references=[], domain="desk.test", reply_to=None, lang="en", automatic=True)
        mail.enqueue(conn, msg, cid, d.service.clock())
    reply = wait_for(lambda: sink.messages and sink.messages[0])             # a relay refuses bare-LF long lines
    assert reply.get_content().count("word") == 800


class FakeImap:
    """An IMAP mailbox in memory: two unseen messages, one seen; records what was flagged."""

    boxes: dict = {}

    def __init__(self, host, port):
        self.box = FakeImap.boxes

    def login(self, user, password):
        assert (user, password) == ("desk", "secret")

    def select(self, folder):
        assert folder == "INBOX"

    def search(self, charset, criterion):
        return "OK", [b" ".join(k for k, (_, seen) in self.box.items() if not seen)]

    def fetch(self, num, what):
        assert what == "(BODY.PEEK[])"                      # reading does not mark it seen
        return "OK", [(b"1 (BODY[] {n}", self.box[num][0]), b")"]

    def store(self, num, op, flag):
        self.box[num] = (self.box[num][0], True)

    def logout(self):
        pass


def test_the_imap_poller_stores_before_it_marks_seen(db_engine, tiny_model, fake_embedder, monkeypatch):
    import imaplib

    from bot.support.maildesk import poll_imap

    settings = Settings(encoder="fake:64", mail_address="support@desk.test", imap_host="imap.test",
                        imap_user="desk", imap_password="secret")
    d = MailDesk(make_service(db_engine, tiny_model, fake_embedder, settings), settings)

    def raw(i):
        m = EmailMessage()
        m["From"], m["To"], m["Subject"], m["Message-ID"] = "jo@example.com", "support@desk.test", "q", f"<i{i}@x>"
        m.set_content("what are the trading fees")
        return bytes(m)

    FakeImap.boxes = {b"1": (raw(1), False), b"2": (raw(2), True), b"3": (raw(3), False)}
    monkeypatch.setattr(imaplib, "IMAP4_SSL", FakeImap)
    assert poll_imap(d, settings) == 2
    assert all(seen for _, seen in FakeImap.boxes.values())
    with d.service.db.connect() as conn:
        from sqlalchemy import select
        assert sorted(r[0] for r in conn.execute(select(mail.mail_inbox.c.message_id))) == ["<i1@x>", "<i3@x>"]

    def broken_accept(raw):
        raise RuntimeError("database away")

    FakeImap.boxes = {b"4": (raw(4), False)}
    monkeypatch.setattr(d, "accept", broken_accept)
    with pytest.raises(RuntimeError):
        poll_imap(d, settings)
    assert FakeImap.boxes[b"4"][1] is False                  # not stored: stays unseen for the next poll

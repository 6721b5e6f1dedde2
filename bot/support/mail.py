"""The e-mail channel: inbound mail stored before it is acknowledged, processed into the same
conversations and queue as chat, and replies sent through an SMTP relay with threading headers.

Flow: the SMTP receiver (`triage mail`, aiosmtpd) or the IMAP poller stores each message in
`mail_inbox` (idempotent on Message-ID) and only then answers 250; `MailDesk.process_pending`
turns stored messages into conversation turns; replies go to `mail_outbox` in the same
transaction and `MailDesk.deliver_due` sends them (retried until the relay takes them). A
process killed at any point loses nothing: what was acknowledged is stored, what is stored is
processed once (a message's row is marked in the transaction that handles it), and what is
queued is sent.
"""
from __future__ import annotations

import email
import email.policy
import hashlib
import html
import re
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid, parseaddr

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    func,
    select,
    update,
)

from bot.core.db import metadata

mail_inbox = Table(
    "mail_inbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(255), nullable=False, unique=True),
    Column("sender", String(320), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),  # new | done | ignored
    Column("note", Text, nullable=True),  # why ignored
    Column("conversation_id", String(36), nullable=True),
    Column("received_at", Float, nullable=False),
)
Index("ix_mail_inbox_status", mail_inbox.c.status, mail_inbox.c.seq)
Index("ix_mail_inbox_sender", mail_inbox.c.sender, mail_inbox.c.received_at)

mail_outbox = Table(
    "mail_outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(255), nullable=False, unique=True),
    Column("conversation_id", String(36), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),  # queued | sent
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("last_error", Text, nullable=True),
)
Index("ix_mail_outbox_due", mail_outbox.c.status, mail_outbox.c.next_at)

#: Mail threads: the conversation of every message id seen or sent in it.
mail_threads = Table(
    "mail_threads",
    metadata,
    Column("message_id", String(255), primary_key=True),
    Column("conversation_id", String(36), nullable=False),
)


@dataclass(frozen=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int


@dataclass
class InboundMail:
    message_id: str
    sender: str
    subject: str
    text: str
    in_reply_to: list[str] = field(default_factory=list)  # In-Reply-To and References, newest first
    recipients: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    automatic: str | None = None  # why it must not be answered (auto-reply, bounce, list), or None
    language: str | None = None
    loop_hops: int = 0  # how many of our own messages its References hold


_ID = re.compile(r"<[^<>\s]+>")
_QUOTE_HEAD = re.compile(r"^(On .+ wrote:|-----\s*Original Message\s*-----|From: .+|在.+写道[:：]?|发件人[:：].+)\s*$",
                         re.IGNORECASE)


def message_ids(value: str | None) -> list[str]:
    return _ID.findall(value or "")


def html_to_text(markup: str) -> str:
    """Readable text from HTML: block ends become line breaks, tags and scripts go."""
    markup = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", markup)
    markup = re.sub(r"(?i)<br\s*/?>|</(p|div|li|tr|h[1-6])>", "\n", markup)
    text = html.unescape(re.sub(r"<[^>]+>", " ", markup))
    return "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines())


def strip_quoted(text: str) -> str:
    """The new part of a reply: quoted lines ("> …") and everything from "On … wrote:" on go."""
    out = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if _QUOTE_HEAD.match(line.strip()) and out:
            break
        if line.lstrip().startswith(">"):
            continue
        out.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


_SIGN_OFF = re.compile(r"^(--\s*|(thanks|thank you|many thanks|regards|kind regards|best regards|best|cheers|"
                       r"sent from my .*|谢谢|多谢|此致|祝好)[\s,.!。，！]*(\w+)?)$", re.IGNORECASE)


def strip_signature(text: str) -> str:
    """The message without its sign-off ("Thanks, Jo", "-- " and what follows)."""
    lines = text.rstrip().split("\n")
    for i in range(len(lines) - 1, max(-1, len(lines) - 6), -1):
        if _SIGN_OFF.match(lines[i].strip()):
            return "\n".join(lines[:i]).strip()
    return text.strip()


def _automatic(msg: EmailMessage, sender: str) -> str | None:
    """Why a message is machine-made and must get no reply (RFC 3834 and common practice)."""
    auto = (msg.get("Auto-Submitted") or "no").strip().lower()
    if auto != "no":
        return f"Auto-Submitted: {auto}"
    if (msg.get("Precedence") or "").strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {msg.get('Precedence')}"
    if msg.get("List-Id") or msg.get("List-Unsubscribe"):
        return "a mailing list"
    if not sender or sender.lower().startswith(("mailer-daemon@", "postmaster@", "noreply@", "no-reply@")):
        return f"sender {sender or '<>'}"
    if msg.get_content_type() == "multipart/report" or msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        return "a delivery report or auto-reply"
    return None


def parse(raw: bytes, own_domain: str, max_attachment_bytes: int = 10 * 1024 * 1024) -> InboundMail:
    """Read a raw message. Without a Message-ID one is derived from its content (so a resend of
    the same bytes is the same message)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    sender = parseaddr(str(msg.get("From", "")))[1].strip()
    mid = (message_ids(str(msg.get("Message-ID", ""))) or [f"<{hashlib.sha256(raw).hexdigest()[:32]}@no-message-id>"])[0]
    refs = message_ids(str(msg.get("In-Reply-To", ""))) + list(reversed(message_ids(str(msg.get("References", "")))))
    body = msg.get_body(preferencelist=("plain", "html"))
    text = ""
    if body is not None:
        content = body.get_content()
        text = html_to_text(content) if body.get_content_type() == "text/html" else content
    attachments = [Attachment(part.get_filename(), part.get_content_type(), len(part.get_payload(decode=True) or b""))
                   for part in msg.iter_attachments()]
    return InboundMail(
        message_id=mid, sender=sender, subject=str(msg.get("Subject", "")).strip(),
        text=strip_signature(strip_quoted(text)),
        in_reply_to=list(dict.fromkeys(refs)),
        recipients=[a for _, a in getaddresses([str(v) for v in msg.get_all("To", []) + msg.get_all("Cc", [])])],
        attachments=[a for a in attachments if a.size <= max_attachment_bytes],
        automatic=_automatic(msg, sender),
        language=(str(msg.get("Content-Language", "")).split(",")[0].strip().split("-")[0] or None),
        loop_hops=sum(1 for r in refs if r.endswith(f"@{own_domain}>")))


# -- addresses ---------------------------------------------------------------------------------------
def own_address(configured: str) -> tuple[str, str]:
    """(address, domain) of the desk's configured address ("Support <support@example.com>")."""
    address = parseaddr(configured)[1]
    return address, address.rpartition("@")[2]


def reply_address(address: str, conversation_id: str) -> str:
    """The Reply-To that leads an answer back to its conversation: support+<conversation>@domain."""
    local, _, domain = address.partition("@")
    return f"{local}+{conversation_id}@{domain}"


# -- storage ------------------------------------------------------------------------------------------
def store(conn, raw: bytes, message_id: str, sender: str, now: float) -> bool:
    """Keep an inbound message; False when it was stored before (the same Message-ID)."""
    if conn.execute(select(mail_inbox.c.seq).where(mail_inbox.c.message_id == message_id)).first():
        return False
    conn.execute(mail_inbox.insert().values(message_id=message_id, sender=sender.lower(), raw=raw, status="new",
                                            received_at=now))
    return True


def pending(conn, limit: int = 50) -> list[tuple[int, bytes]]:
    return [(r.seq, r.raw) for r in conn.execute(select(mail_inbox.c.seq, mail_inbox.c.raw)
                                                 .where(mail_inbox.c.status == "new").order_by(mail_inbox.c.seq)
                                                 .limit(limit))]


def mark(conn, seq: int, status: str, conversation_id: str | None = None, note: str | None = None) -> bool:
    """Mark a stored message handled; False if another worker got there first."""
    return conn.execute(update(mail_inbox).where(mail_inbox.c.seq == seq, mail_inbox.c.status == "new")
                        .values(status=status, conversation_id=conversation_id, note=note)).rowcount == 1


def recent_from(conn, sender: str, since: float, before_seq: int) -> int:
    """Messages from `sender` received since `since`, before the stored message `before_seq`."""
    return int(conn.execute(select(func.count()).where(mail_inbox.c.sender == sender.lower(),
                                                       mail_inbox.c.received_at >= since,
                                                       mail_inbox.c.seq < before_seq)).scalar_one())


def thread_of(conn, ids: list[str]) -> str | None:
    if not ids:
        return None
    rows = dict(conn.execute(select(mail_threads.c.message_id, mail_threads.c.conversation_id)
                             .where(mail_threads.c.message_id.in_(ids))).all())
    return next((rows[i] for i in ids if i in rows), None)


def remember(conn, message_id: str, conversation_id: str) -> None:
    if not conn.execute(select(mail_threads.c.message_id).where(mail_threads.c.message_id == message_id)).first():
        conn.execute(mail_threads.insert().values(message_id=message_id, conversation_id=conversation_id))


def thread_ids(conn, conversation_id: str) -> list[str]:
    return [r[0] for r in conn.execute(select(mail_threads.c.message_id)
                                       .where(mail_threads.c.conversation_id == conversation_id))]


def compose(*, sender: str, to: str, subject: str, body: str, in_reply_to: str | None, references: list[str],
            domain: str, reply_to: str | None, lang: str, automatic: bool) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}" if subject else "Re: your message"
    msg["Message-ID"] = make_msgid(idstring=uuid.uuid4().hex[:12], domain=domain)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references[-20:])
    if reply_to:
        msg["Reply-To"] = reply_to
    if automatic:  # the bot's answers and acknowledgements: other robots must not answer them
        msg["Auto-Submitted"] = "auto-replied"
    msg["X-Triage-Loop"] = domain
    msg.set_content(body, cte="quoted-printable")  # 7-bit clean: any relay takes it, 8BITMIME or not
    msg["Content-Language"] = lang  # after set_content, which resets the Content-* headers
    return msg


def enqueue(conn, msg: EmailMessage, conversation_id: str, now: float) -> str:
    mid = str(msg["Message-ID"])
    conn.execute(mail_outbox.insert().values(message_id=mid, conversation_id=conversation_id, recipient=str(msg["To"]),
                                             raw=msg.as_bytes(policy=email.policy.SMTP),  # CRLF line ends
                                             status="queued", attempts=0, next_at=now, created_at=now))
    remember(conn, mid, conversation_id)
    return mid


def due(conn, now: float, limit: int = 50):
    return conn.execute(select(mail_outbox).where(mail_outbox.c.status == "queued", mail_outbox.c.next_at <= now)
                        .order_by(mail_outbox.c.seq).limit(limit)).all()


def sent(conn, seq: int) -> None:
    conn.execute(update(mail_outbox).where(mail_outbox.c.seq == seq).values(status="sent"))


def failed(conn, seq: int, attempts: int, error: str, now: float) -> None:
    backoff = min(3600.0, 5.0 * 2 ** attempts)
    conn.execute(update(mail_outbox).where(mail_outbox.c.seq == seq)
                 .values(attempts=attempts + 1, next_at=now + backoff, last_error=error[:500]))

"""Conversations and their transcripts in SQL. Functions take a connection so that the service
can do a whole turn (user message, bot replies, state, ticket) in one transaction."""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    select,
    update,
)

from bot.core.cursor import GapCursor, unread
from bot.core.db import metadata
from bot.core.errors import NotFoundError
from bot.core.vocabulary import faq_id_of
from bot.support.dialogue import Button, ConvState

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("sender_key", String(200), nullable=True, unique=True),
    Column("state", Text, nullable=False),
    Column("status", String(24), nullable=False),
    Column("ticket_id", String(36), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    # Who started it: a keyed hash of the client's address (never the address itself), so that
    # "many users" can be told from "one client opening many conversations".
    Column("client", String(64), nullable=True),
)

messages = Table(
    "messages",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("conversation_id", String(36), ForeignKey("conversations.id"), nullable=False),
    Column("role", String(8), nullable=False),  # user | bot | agent | system
    Column("text", Text, nullable=False),
    Column("buttons", Text, nullable=False, server_default="[]"),
    Column("author", String(64), nullable=True),
    Column("idem_key", String(128), nullable=True),
    Column("reply_to", String(36), nullable=True),
    Column("created_at", Float, nullable=False),
    # For user messages: the triage decision's intent and route (what the dashboard counts).
    Column("intent", String(200), nullable=True),
    Column("route", String(16), nullable=True),
    # For bot replies: the model that decided (name@fingerprint).
    Column("model", String(160), nullable=True),
    UniqueConstraint("conversation_id", "idem_key", name="uq_messages_idem"),
)
Index("ix_messages_created", messages.c.created_at)
Index("ix_messages_conversation", messages.c.conversation_id, messages.c.seq)
Index("ix_conversations_token", conversations.c.token_hash)


@dataclass(frozen=True)
class Message:
    id: str
    seq: int
    role: str
    text: str
    buttons: list[Button]
    author: str | None
    created_at: float
    reply_to: str | None = None
    #: For a bot's answer from the FAQ: the help center article it comes from.
    article: str | None = None


@dataclass
class Conversation:
    id: str
    channel: str
    state: ConvState
    ticket_id: str | None
    created_at: float


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, token_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), token_hash)


def _msg(r) -> Message:
    fid = faq_id_of(r.intent) if r.role == "bot" else None
    return Message(r.id, r.seq, r.role, r.text, [Button(**b) for b in json.loads(r.buttons)], r.author,
                   r.created_at, r.reply_to, f"/help/a/{fid}" if fid else None)


def create(conn, now: float, channel: str = "api", sender_key: str | None = None,
           client: str | None = None, timezone: str | None = None) -> tuple[str, str]:
    """New conversation; returns (id, token). The token is shown once and stored hashed."""
    cid, token = str(uuid.uuid4()), secrets.token_urlsafe(24)
    st = ConvState(tz=timezone)
    conn.execute(conversations.insert().values(id=cid, token_hash=hash_token(token), channel=channel,
                                               sender_key=sender_key, state=json.dumps(st.to_json()),
                                               status=st.state.value, created_at=now, updated_at=now,
                                               client=client))
    return cid, token


def distinct_clients(conn, cids: set[str]) -> int:
    """How many different clients started these conversations (one without a recorded client
    counts as its own)."""
    if not cids:
        return 0
    rows = conn.execute(select(conversations.c.id, conversations.c.client)
                        .where(conversations.c.id.in_(sorted(cids)))).all()
    return len({client or cid for cid, client in rows} | (cids - {cid for cid, _ in rows}))


# The statements of every turn, built once: building one per call (values, cache key) cost four
# times what executing it does on SQLite (0.36 against 0.07 ms an insert).
_LOAD = select(conversations).where(conversations.c.id == bindparam("cid"))
_LOAD_LOCKED = _LOAD.with_for_update()
_SAVE_STATE = update(conversations).where(conversations.c.id == bindparam("cid"))
_ADD_MESSAGE = messages.insert().returning(*messages.c)


def load(conn, cid: str, lock: bool = False) -> tuple[Conversation, str]:
    """(conversation, token_hash). With `lock`, the row stays locked until the transaction ends."""
    # first(), not one_or_none(): the key is unique, and on SQLite each further fetch is one more
    # call that lets go of the GIL (inside a write transaction, one more wait for it under load).
    r = conn.execute(_LOAD_LOCKED if lock else _LOAD, {"cid": cid}).first()
    if r is None:
        raise NotFoundError("conversation", cid)
    return Conversation(r.id, r.channel, ConvState.from_json(json.loads(r.state)), r.ticket_id, r.created_at), \
        r.token_hash


def by_token(conn, token: str) -> str | None:
    """The conversation a token belongs to, if any."""
    return conn.execute(select(conversations.c.id).where(conversations.c.token_hash == hash_token(token))).scalar()


def by_sender(conn, sender_key: str) -> str | None:
    return conn.execute(select(conversations.c.id).where(conversations.c.sender_key == sender_key)).scalar()


def save_state(conn, cid: str, state: ConvState, now: float, ticket_id: str | None = None) -> None:
    values = dict(cid=cid, state=json.dumps(state.to_json(), ensure_ascii=False), status=state.state.value,
                  updated_at=now)
    if ticket_id is not None:
        values["ticket_id"] = ticket_id
    conn.execute(_SAVE_STATE, values)


def message_row(cid: str, role: str, text: str, now: float, buttons: list[Button] = (),
                author: str | None = None, idem_key: str | None = None, reply_to: str | None = None,
                model: str | None = None, about: str | None = None, route: str | None = None) -> dict:
    """A message to store (`add_messages`), its id already chosen: a reply can point to it before
    it is written. `about`: a user message's triage intent (with its `route`), a bot reply's FAQ
    entry or intent."""
    return dict(id=str(uuid.uuid4()), conversation_id=cid, role=role, text=text,
                buttons=json.dumps([{"title": b.title, "payload": b.payload} for b in buttons], ensure_ascii=False),
                author=author, idem_key=idem_key, reply_to=reply_to, created_at=now, model=model, intent=about,
                route=route)


def add_messages(conn, rows: list[dict]) -> list[Message]:
    """Store `message_row`s in one INSERT (their sequence numbers in the given order) and return
    them as stored. One statement for a turn's messages: on SQLite every statement inside the write
    transaction is one more wait for the GIL while the write lock is held."""
    if not rows:
        return []
    if len(rows) == 1:
        return [_msg(conn.execute(_ADD_MESSAGE, rows[0]).first())]
    stored = {r.id: r for r in conn.execute(_ADD_MESSAGE, rows)}  # RETURNING's order is not promised
    return [_msg(stored[row["id"]]) for row in rows]


def add_message(conn, cid: str, role: str, text: str, now: float, buttons: list[Button] = (),
                author: str | None = None, idem_key: str | None = None, reply_to: str | None = None,
                model: str | None = None, about: str | None = None, route: str | None = None) -> Message:
    """One message (see `message_row`)."""
    return add_messages(conn, [message_row(cid, role, text, now, buttons, author, idem_key, reply_to, model, about,
                                           route)])[0]


def last_question(conn, cid: str, before: float) -> Message | None:
    """The user's last classified question (a message the bot triaged) up to `before`."""
    r = conn.execute(select(messages).where(messages.c.conversation_id == cid, messages.c.role == "user",
                                            messages.c.route.is_not(None), messages.c.created_at <= before)
                     .order_by(messages.c.seq.desc()).limit(1)).one_or_none()
    return _msg(r) if r else None


def with_text(conn, text: str, limit: int = 50) -> set[str]:
    """Conversations with a message containing `text` (case-insensitive), the newest first."""
    from escalation.store import like_escaped

    q = select(messages.c.conversation_id).where(messages.c.text.ilike("%" + like_escaped(text) + "%", escape="\\"))
    return {r[0] for r in conn.execute(q.order_by(messages.c.seq.desc()).limit(limit))}


def find_by_idem(conn, cid: str, idem_key: str) -> Message | None:
    r = conn.execute(select(messages).where(messages.c.conversation_id == cid,
                                            messages.c.idem_key == idem_key)).one_or_none()
    return _msg(r) if r else None


def replies_to(conn, message_id: str) -> list[Message]:
    q = select(messages).where(messages.c.reply_to == message_id).order_by(messages.c.seq)
    return [_msg(r) for r in conn.execute(q)]


def transcript(conn, cid: str, after_seq: int = 0, limit: int = 1000) -> list[Message]:
    q = (select(messages).where(messages.c.conversation_id == cid, messages.c.seq > after_seq)
         .order_by(messages.c.seq).limit(limit))
    return [_msg(r) for r in conn.execute(q)]


_CHANGED = {gaps: select(messages.c.seq, messages.c.conversation_id).where(unread(messages.c.seq, gaps))
            .order_by(messages.c.seq).limit(bindparam("limit")) for gaps in (False, True)}


def changed_since(conn, cursor: GapCursor, limit: int) -> tuple[set[str], list[int]]:
    """Conversations with messages the cursor has not read (at most `limit` messages), and the
    sequence numbers read (for the cursor). A primary-key range plus the cursor's gaps: a GROUP BY
    here made SQLite scan a whole index."""
    rows = conn.execute(_CHANGED[cursor.has_gaps], {**cursor.params(), "limit": limit}).all()
    return {r[1] for r in rows}, [r[0] for r in rows]

"""The conversation store: several messages written in one statement come back in order."""
from __future__ import annotations

from sqlalchemy import event

from bot.support import conversations as conv_db
from bot.support.dialogue import Button


def test_add_messages_keeps_the_given_order_in_one_statement(db_engine):
    with db_engine.begin() as conn:
        cid, _ = conv_db.create(conn, 1.0)
        before = conv_db.add_message(conn, cid, "user", "first question", 1.0)
    statements = []
    event.listen(db_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with db_engine.begin() as conn:
        user = conv_db.message_row(cid, "user", "how do I reset my password", 2.0, about="faq:reset", route="answer")
        rows = [user] + [conv_db.message_row(cid, "bot", text, 2.0, [Button("Yes", "/yes")] if i else [],
                                             reply_to=user["id"], model="m@1") for i, text in
                         enumerate(["reply one", "reply two", "reply three", "reply four"])]
        stored = conv_db.add_messages(conn, rows)
    assert sum(s.lstrip().upper().startswith("INSERT") for s in statements) == 1
    assert [m.id for m in stored] == [r["id"] for r in rows]
    assert [m.text for m in stored] == ["how do I reset my password", "reply one", "reply two", "reply three",
                                        "reply four"]
    seqs = [m.seq for m in stored]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5 and seqs[0] > before.seq
    assert all(m.reply_to == user["id"] for m in stored[1:]) and stored[0].reply_to is None
    assert stored[2].buttons == [Button("Yes", "/yes")] and stored[1].buttons == []
    with db_engine.connect() as conn:
        assert [m.id for m in conv_db.transcript(conn, cid)] == [before.id] + [r["id"] for r in rows]


def test_add_messages_of_nothing_writes_nothing(db_engine):
    with db_engine.begin() as conn:
        cid, _ = conv_db.create(conn, 1.0)
        assert conv_db.add_messages(conn, []) == []
        assert conv_db.transcript(conn, cid) == []

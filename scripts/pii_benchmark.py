"""Count personal data leaking into logs and webhooks: 300 chats full of card numbers, e-mails and
phone numbers written every way people write them, through the HTTP API.

Each chat sends its messages, asks for a person (a ticket: the `ticket.created` webhook carries
the hand-off packet with the transcript), and every tenth chat hits a server error whose
traceback quotes the input (as a database error quotes its SQL parameters). Everything the
server logs (through the same redacting set-up as `triage serve`, access-log lines with the
query string percent-encoded included) and every stored webhook payload is then searched for
each personal item: the item itself, and for numbers their digits with the separators removed.
It also counts ids damaged by over-redaction (each ticket id must appear whole in its event).

    .venv/bin/python scripts/pii_benchmark.py [--chats 300] [--seed 7]
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import random
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CARDS = ["4111111111111111", "5500005555555559", "340000000000009", "6011000990139424", "4000056655665556",
         "3530111333300000", "5105105105105100"]
SEPARATORS = [" ", "-", ".", "/", "\u00a0", "\u202f", ""]
LOCALS = ["ann.lee", "bob+shop", "j.doe-99", "maría.josé", "zhang.wei", "用户", "o'neil"]
DOMAINS = ["example.com", "mail.example.co.uk", "exämple.de", "例子.公司", "sub.domain.io"]
PHONES = ["+44 20 7946 0958", "+1 (415) 555-2671", "138-0013-8000", "13800138000", "0049 30 901820",
          "+86 138 0013 8000", "(212) 555-0199", "+33 1 42 68 53 00", "415.555.2671"]
TEMPLATES = [
    "my card {card} was charged twice",
    "please refund to card {card}, e-mail me at {email}",
    "call me on {phone} about the transfer",
    "my email is {email} and phone {phone}",
    "卡号{card}被盗刷了，请联系{phone}",
    "I can't log in. My e-mail: {email}. Card ending is on {card}",
    "contact {email} or {phone}; card {card}",
    "邮箱{email}，电话{phone}",
]


@dataclass(frozen=True)
class Chat:
    messages: list[str]
    items: list[str]  # the personal data in them, as written


def _card(rng: random.Random) -> str:
    digits = rng.choice(CARDS)
    sep = rng.choice(SEPARATORS)
    groups = [digits[i:i + 4] for i in range(0, len(digits), 4)]
    return sep.join(groups)


def corpus(n: int, seed: int = 7) -> list[Chat]:
    rng = random.Random(seed)
    chats = []
    for _ in range(n):
        messages, items = [], []
        for _ in range(rng.randint(1, 3)):
            card, phone = _card(rng), rng.choice(PHONES)
            email = f"{rng.choice(LOCALS)}@{rng.choice(DOMAINS)}"
            template = rng.choice(TEMPLATES)
            messages.append(template.format(card=card, email=email, phone=phone))
            items += [x for key, x in (("{card}", card), ("{email}", email), ("{phone}", phone)) if key in template]
        chats.append(Chat(messages, items))
    return chats


def leaks(items: list[str], outputs: str) -> list[str]:
    """The items found in `outputs`: as written (e-mails in any case), or, for numbers, their
    digits in order with up to three other characters between each (re-spaced, re-encoded)."""
    found = []
    lowered = outputs.lower()
    for item in items:
        if "@" in item:
            if item.lower() in lowered:
                found.append(item)
            continue
        digits = re.sub(r"\D", "", item)
        if item in outputs or re.search(r"(?<!\d)" + r"\D{0,3}".join(digits) + r"(?!\d)", outputs):
            found.append(item)
    return found


def run(n_chats: int, seed: int) -> dict:
    from fastapi.testclient import TestClient

    from bot.core.db import make_engine, upgrade
    from bot.core.redact import install_log_redaction
    from bot.core.settings import Settings
    from bot.interfaces.api import create_app
    from bot.ml.engine import TriageEngine
    from bot.ml.training import train
    from bot.ml.training_data import load_training_data
    from bot.support.service import ChatService
    from escalation.webhooks import Dispatcher
    from intents.encoder import load_embedder

    chats = corpus(n_chats, seed)
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    handler = install_log_redaction(logging.INFO)
    handler.setStream(stream)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(encoder="fake:64", client_rate_per_minute=10**6, conversation_rate_per_minute=10**6,
                            incident_min_conversations=10**6, database_url=f"sqlite:///{tmp}/pii.db")
        embedder = load_embedder(settings.encoder)
        model = train(load_training_data(ROOT / "training_data"), embedder, settings)
        db = make_engine(settings.database_url)
        upgrade(db)
        service = ChatService(TriageEngine(model, embedder), db, settings)
        app = create_app(service, settings)
        access = logging.getLogger("uvicorn.access")
        real_send = service.send
        with TestClient(app, raise_server_exceptions=False) as client:
            for i, chat in enumerate(chats):
                r = client.post("/conversations").json()
                cid, headers = r["id"], {"Authorization": f"Bearer {r['token']}"}
                for text in chat.messages:
                    if i % 10 == 0:  # a server error whose traceback quotes the input
                        def failing(*a, _text=text, **kw):
                            raise RuntimeError(f"could not store parameters ('{_text}', {cid!r})")
                        service.send = failing
                    client.post(f"/conversations/{cid}/messages", json={"text": text}, headers=headers)
                    service.send = real_send
                    access.info('127.0.0.1 - "GET /help/search?q=%s HTTP/1.1" 200', quote(text))
                client.post(f"/conversations/{cid}/messages", json={"text": "/human"}, headers=headers)
        payloads = [p["payload"] for p in Dispatcher(db, None, "k").pending()]
        ticket_ids = [json.loads(p)["ticket_id"] for p, e in
                      ((p["payload"], p["event"]) for p in Dispatcher(db, None, "k").pending()) if e == "ticket.created"]
        db.dispose()
    root.removeHandler(handler)
    for h in saved[0]:
        root.addHandler(h)
    root.setLevel(saved[1])
    logs = stream.getvalue()
    outputs = logs + "\n" + "\n".join(payloads)
    all_items = [x for c in chats for x in c.items]
    leaked = leaks(all_items, outputs)
    damaged = [t for t in ticket_ids if t not in "\n".join(payloads)]
    return {"chats": len(chats), "messages": sum(len(c.messages) for c in chats), "items": len(all_items),
            "webhook_payloads": len(payloads), "log_lines": logs.count("\n"), "leaks": len(leaked),
            "leaked": leaked[:10], "tickets": len(ticket_ids), "ids_damaged": len(damaged),
            "redacted_marks": outputs.count("[card]") + outputs.count("[email]") + outputs.count("[phone]")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chats", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    result = run(args.chats, args.seed)
    for k, v in result.items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()

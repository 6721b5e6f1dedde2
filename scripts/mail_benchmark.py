#!/usr/bin/env python
"""E-mail throughput: messages per second through the SMTP receiver to a decision and a reply.

In process, on a fresh SQLite file: the `triage mail` receiver (aiosmtpd) and processing loop on
the given model, an aiosmtpd relay on loopback that collects the replies; `--clients` threads
send `--messages` e-mails (the default bot's held-out questions, one new thread each). Prints the
acceptance rate (SMTP 250s per second) and the end-to-end rate (replies at the relay per second).

    python scripts/mail_benchmark.py --model models/default [--messages 300] [--clients 4]
"""
from __future__ import annotations

import argparse
import os
import smtplib
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from aiosmtpd.controller import Controller  # noqa: E402
from promotion_benchmark import questions  # noqa: E402

from bot.core.db import make_engine, upgrade  # noqa: E402
from bot.core.settings import Settings  # noqa: E402
from bot.interfaces import mail_server  # noqa: E402
from bot.ml.engine import TriageEngine  # noqa: E402
from bot.support.maildesk import MailDesk  # noqa: E402
from bot.support.service import ChatService  # noqa: E402


class Counter:
    def __init__(self):
        self.n = 0
        self.last = 0.0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        self.last = time.perf_counter()
        return "250 OK"


def desk_replies(db) -> int:
    """Replies queued so far (each should reach the relay)."""
    from sqlalchemy import func, select

    from bot.support.mail import mail_outbox

    with db.connect() as conn:
        return conn.execute(select(func.count()).select_from(mail_outbox)).scalar_one()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    texts = questions()
    sink = Counter()
    relay = Controller(sink, hostname="127.0.0.1", port=free_port())
    relay.start()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        settings = Settings(database_url=f"sqlite:///{tmp}/mail.db", mail_address="support@desk.test",
                            mail_listen_port=port, smtp_relay_host="127.0.0.1", smtp_relay_port=relay.port,
                            mail_rate_per_hour=100_000)
        db = make_engine(settings.database_url)
        upgrade(db)
        engine = TriageEngine.from_model_dir(args.model, settings)
        engine.embedder.embed(["warm up"])
        service = ChatService(engine, db, settings)
        service.start()
        desk = MailDesk(service, settings)
        stop = threading.Event()
        loop = threading.Thread(target=mail_server.run, args=(desk, settings, False, 0.05, stop), daemon=True)
        loop.start()
        time.sleep(0.5)
        acked = [0]
        lock = threading.Lock()

        def client(k: int) -> None:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
                for i in range(k, args.messages, args.clients):
                    msg = EmailMessage()
                    msg["From"], msg["To"] = f"user{i}@example.com", "support@desk.test"
                    msg["Subject"], msg["Message-ID"] = "Question", f"<bench{i}@example.com>"
                    msg.set_content(texts[i % len(texts)])
                    smtp.send_message(msg)
                    with lock:
                        acked[0] += 1

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        t_acked = time.perf_counter() - t0
        from sqlalchemy import func, select

        from bot.support.mail import mail_inbox

        def left() -> int:
            with db.connect() as conn:
                return conn.execute(select(func.count()).where(mail_inbox.c.status == "new")).scalar_one()

        while (left() or sink.n < desk_replies(db)) and time.perf_counter() - t0 < 600:
            time.sleep(0.05)
        t_done = (sink.last or time.perf_counter()) - t0
        stop.set()
        loop.join(10)
        print(f"{args.messages} e-mails from {args.clients} clients: accepted (stored, 250) in {t_acked:.1f} s = "
              f"{args.messages / t_acked:.0f} messages/s; all decided and the replies at the relay after "
              f"{t_done:.1f} s = {args.messages / t_done:.1f} messages/s end to end ({sink.n} replies)")
        db.dispose()
    relay.stop()


if __name__ == "__main__":
    main()

"""`triage mail`: the e-mail channel's process. An SMTP receiver (aiosmtpd) that stores each
message before answering 250 (or polls an IMAP mailbox instead), and a loop that turns stored
messages into conversation turns and sends the queued replies through the relay."""
from __future__ import annotations

import logging
import threading

from bot.core.settings import Settings
from bot.support.maildesk import MailDesk, poll_imap

log = logging.getLogger("triage.mail")


class Handler:
    """aiosmtpd handler: recipients of our domain only; a message is stored, then acknowledged."""

    def __init__(self, desk: MailDesk):
        self.desk = desk

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.rpartition("@")[2].lower() != self.desk.domain.lower():
            return "550 5.7.1 not a mailbox of this desk"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        from starlette.concurrency import run_in_threadpool

        try:
            await run_in_threadpool(self.desk.accept, envelope.original_content or envelope.content)
        except Exception:  # not stored: say so, and the sender's server retries later
            log.exception("could not store an incoming message")
            return "451 4.3.0 temporary failure, try again later"
        return "250 OK: stored"


def run(desk: MailDesk, settings: Settings, imap: bool, every: float, stop: threading.Event) -> None:
    """Receive (or poll), process and deliver until `stop` is set."""
    controller = None
    if not imap:
        from aiosmtpd.controller import Controller

        controller = Controller(Handler(desk), hostname=settings.mail_listen_host, port=settings.mail_listen_port,
                                data_size_limit=settings.mail_max_bytes, decode_data=False)
        controller.start()
    try:
        while not stop.is_set():
            try:
                if imap:
                    poll_imap(desk, settings)
                desk.run_once()
            except Exception:  # keep going; the next round retries
                log.exception("mail round failed; retrying")
            stop.wait(every)
    finally:
        if controller is not None:
            controller.stop()

"""`triage mail` killed with SIGKILL while mail arrives: every message it acknowledged is
answered after a restart, and none twice (the sender's server resends what was not acknowledged,
with the same Message-ID)."""
import os
import signal
import smtplib
import socket
import subprocess
import sys
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.bot.support.test_mail import Sink, free_port, wait_for
from tests.conftest import ROOT


def start(env) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "bot.interfaces.cli", "mail", "--model", env["MODEL"], "--every", "0.1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = int(env["TRIAGE_MAIL_LISTEN_PORT"])

    def up():
        if proc.poll() is not None:
            raise AssertionError("triage mail exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False

    wait_for(up, 120)
    return proc


def message(i: int) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"user{i % 3}@example.com", "support@desk.test", "Fees"
    msg["Message-ID"] = f"<m{i}@example.com>"
    msg.set_content("what are the trading fees")
    return msg


def deliver(port: int, msg: EmailMessage) -> bool:
    """One delivery attempt, as a sending server makes it: True once acknowledged."""
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
            s.send_message(msg)
        return True
    except (OSError, smtplib.SMTPException):
        return False


@pytest.mark.slow
def test_sigkill_while_mail_arrives_loses_and_repeats_nothing(tmp_path, tiny_model):
    sink = Sink()
    relay = Controller(sink, hostname="127.0.0.1", port=free_port())
    relay.start()
    env = {**os.environ, "MODEL": str(tiny_model), "TRIAGE_ENCODER": "fake:64", "HF_HUB_OFFLINE": "1",
           "TRIAGE_DATABASE_URL": f"sqlite:///{tmp_path / 'mail.db'}", "TRIAGE_MAIL_ADDRESS": "support@desk.test",
           "TRIAGE_MAIL_LISTEN_PORT": str(free_port()), "TRIAGE_SMTP_RELAY_HOST": "127.0.0.1",
           "TRIAGE_SMTP_RELAY_PORT": str(relay.port), "TRIAGE_MAIL_ANSWER_THRESHOLD": "0.3",
           "TRIAGE_MAIL_RATE_PER_HOUR": "1000"}
    port = int(env["TRIAGE_MAIL_LISTEN_PORT"])
    proc = start(env)
    try:
        todo = list(range(30))
        acked = set()
        for i in todo[:12]:
            if deliver(port, message(i)):
                acked.add(i)
        proc.send_signal(signal.SIGKILL)                         # mid-stream: processing and sending cut off
        proc.wait(30)
        for i in todo[12:15]:
            assert not deliver(port, message(i))                 # down: not acknowledged, the sender keeps it
        proc = start(env)
        for i in todo:                                           # the sender's server retries what was not acked,
            if i not in acked:                                   # and (to be hard) resends two that were
                assert deliver(port, message(i))
        for i in (0, 5):
            assert deliver(port, message(i))
        replies = wait_for(lambda: len({str(m["In-Reply-To"]) for m in sink.messages}) >= 30 and sink.messages, 120)
        answered = [str(m["In-Reply-To"]) for m in sink.messages]
        assert set(answered) == {f"<m{i}@example.com>" for i in todo}            # none lost
        # Each answered once; a reply the relay took just before the kill may be sent again, as the
        # same message (the same Message-ID, which mail programs show once).
        for i in todo:
            ids = {str(m["Message-ID"]) for m in sink.messages if str(m["In-Reply-To"]) == f"<m{i}@example.com>"}
            assert len(ids) == 1, (i, ids)
        assert all("Trading costs 0.1% per trade." in m.get_content() for m in replies)
    finally:
        proc.kill()
        relay.stop()

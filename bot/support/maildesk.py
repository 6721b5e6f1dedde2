"""The e-mail desk: stored inbound mail becomes conversation turns; replies are queued and sent.

The same engine decides as in chat, with a stricter bar: an e-mail is answered only when the
answer's confidence reaches `mail_answer_threshold` (there is no "Did you mean…?" button in an
e-mail), with links to the article and the two next ones; everything else goes to the human
queue with its priority, language and team, and the sender gets an honest acknowledgement with
the expected reply time. Machine-made mail (auto-replies, bounces, lists), mail loops and senders
over their hourly limit get no reply.
"""
from __future__ import annotations

import logging
import smtplib

from bot.core.db import reading
from bot.core.errors import NotFoundError
from bot.core.i18n import t
from bot.core.redact import redact_log
from bot.core.settings import Settings
from bot.core.vocabulary import faq_id_of
from bot.support import conversations as conv_db
from bot.support import mail
from bot.support.dialogue import State
from bot.support.helpcenter import HelpCenter
from bot.support.service import ChatService

log = logging.getLogger("triage.mail")


class MailDesk:
    def __init__(self, service: ChatService, settings: Settings):
        self.service = service
        self.settings = settings
        self.address, self.domain = mail.own_address(settings.mail_address)

    # -- in ---------------------------------------------------------------------------------------
    def accept(self, raw: bytes) -> bool:
        """Store one inbound message (what the SMTP receiver calls before answering 250). False:
        the same Message-ID was stored before (nothing new, still acknowledged)."""
        m = mail.parse(raw, self.domain)
        with self.service.db.begin() as conn:
            return mail.store(conn, raw, m.message_id, m.sender or "<>", self.service.clock())

    def process_pending(self, limit: int = 50) -> int:
        """Handle stored messages not handled yet; returns how many."""
        with reading(self.service.db) as conn:
            todo = mail.pending(conn, limit)
        for seq, raw in todo:
            try:
                self._process(seq, raw)
            except Exception:  # one bad message must not stop the others; it stays "new" for a retry
                log.exception("could not process stored mail %d; will retry", seq)
        return len(todo)

    def _ignore(self, seq: int, why: str) -> None:
        with self.service.db.begin() as conn:
            mail.mark(conn, seq, "ignored", note=why)
        log.info("mail %d not answered: %s", seq, why)

    def _conversation(self, m: mail.InboundMail) -> tuple[str, bool]:
        """(conversation, new?) of a message: its thread by Message-ID references, else the token
        in the address it was sent to (support+<conversation>@…), else a new conversation."""
        svc = self.service
        with reading(svc.db) as conn:
            cid = mail.thread_of(conn, m.in_reply_to)
            if cid is None:
                local = self.address.split("@")[0]
                for rcpt in m.recipients:
                    user, _, domain = rcpt.partition("@")
                    if domain.lower() == self.domain.lower() and user.lower().startswith(f"{local.lower()}+"):
                        token = user[len(local) + 1:]
                        try:
                            conv_db.load(conn, token)
                            cid = token
                        except NotFoundError:  # an unknown token starts a new thread
                            cid = None
        if cid is not None:
            return cid, False
        key = f"mail:{m.message_id}"[:200]
        with reading(svc.db) as conn:
            cid = conv_db.by_sender(conn, key)  # made before a crash: the same conversation again
        if cid is None:
            cid, _ = svc.create_conversation(channel="email", sender_key=key)
        return cid, True

    def _process(self, seq: int, raw: bytes) -> None:
        svc, s = self.service, self.settings
        m = mail.parse(raw, self.domain)
        now = svc.clock()
        if m.automatic:
            return self._ignore(seq, f"machine-made ({m.automatic})")
        if m.sender.lower() == self.address.lower() or m.loop_hops >= 5:
            return self._ignore(seq, "a mail loop")
        with reading(svc.db) as conn:
            if mail.recent_from(conn, m.sender, now - 3600, seq) >= s.mail_rate_per_hour:
                return self._ignore(seq, f"over {s.mail_rate_per_hour} messages an hour from this sender")
        cid, new = self._conversation(m)
        text = (f"{m.subject}\n\n{m.text}" if new and m.subject else m.text).strip() or m.subject or "(empty message)"
        with svc.db.begin() as conn:
            conv, _ = conv_db.load(conn, cid, lock=True)
            if conv.state.contact != m.sender:
                conv.state.contact = m.sender
                conv_db.save_state(conn, cid, conv.state, now)
        turn = svc.send(cid, text[:s.max_message_chars], idem_key=f"mail:{m.message_id}"[:128])
        body = None
        # Read from the state (a replayed turn carries no route): the decision on this message, with
        # its confidence, as the turn made it.
        state, _ = svc.transcript(cid)
        decided = state.last_decision or {}
        answered = decided.get("route") == "answer" and state.pending is not None and state.pending.kind == "solved"
        if turn.state is State.AWAITING and answered:
            if decided.get("confidence", 0.0) >= s.mail_answer_threshold:
                body = self._answer_body(turn, state)
            else:  # no "Did you mean" by e-mail: a person answers
                turn = svc.send(cid, "/human", idem_key=f"mail-human:{m.message_id}"[:128])
        elif turn.state is State.AWAITING:
            turn = svc.send(cid, "/human", idem_key=f"mail-human:{m.message_id}"[:128])
        if body is None and turn.replies:  # the acknowledgement with the reply time, or a greeting's reply
            body = "\n\n".join(r.text for r in turn.replies)
        with svc.db.begin() as conn:
            if not mail.mark(conn, seq, "done", conversation_id=cid):
                return  # another worker handled it
            mail.remember(conn, m.message_id, cid)
            if body:
                refs = mail.thread_ids(conn, cid)
                msg = mail.compose(sender=s.mail_address, to=m.sender, subject=m.subject, body=body,
                                   in_reply_to=m.message_id, references=refs, domain=self.domain,
                                   reply_to=mail.reply_address(self.address, cid), lang=state.lang,
                                   automatic=True)
                mail.enqueue(conn, msg, cid, now)
        log.info("mail from %s -> conversation %s (%s)", redact_log(m.sender), cid, turn.state.value)

    def _answer_body(self, turn, state) -> str:
        svc = self.service
        lang = state.lang
        answer = next((r for r in turn.replies if r.text and r.buttons == []), turn.replies[0])
        intent = (state.last_decision or {}).get("intent")
        lines = [answer.text]
        fid = faq_id_of(intent)
        base = self.settings.public_url.rstrip("/")
        if fid:
            hc = HelpCenter(svc)
            lines.append(f"{t(lang, 'mail_article')}: {base}/help/a/{fid}?lang={lang}")
            related = hc.related(fid, lang, 2)
            if related:
                lines.append(t(lang, "mail_related") + "\n" + "\n".join(f"- {a.title}: {base}/help/a/{a.id}?lang={lang}"
                                                                     for a in related))
        lines.append(t(lang, "mail_not_solved"))
        return "\n\n".join(lines)

    # -- out --------------------------------------------------------------------------------------
    def deliver_due(self) -> int:
        """Send queued replies through the relay; a failure is retried with backoff."""
        s = self.settings
        if not s.smtp_relay_host:
            return 0
        with reading(self.service.db) as conn:
            rows = mail.due(conn, self.service.clock())
        done = 0
        for r in rows:
            try:
                with smtplib.SMTP(s.smtp_relay_host, s.smtp_relay_port, timeout=30) as smtp:
                    if s.smtp_starttls:
                        smtp.starttls()
                    if s.smtp_user:
                        smtp.login(s.smtp_user, s.smtp_password or "")
                    smtp.sendmail(self.address, [r.recipient], r.raw)
                with self.service.db.begin() as conn:
                    mail.sent(conn, r.seq)
                done += 1
            except (OSError, smtplib.SMTPException) as e:
                with self.service.db.begin() as conn:
                    mail.failed(conn, r.seq, r.attempts, f"{type(e).__name__}: {e}", self.service.clock())
                log.warning("mail %s not sent yet (%s: %s); retrying", r.message_id, type(e).__name__, e)
        return done

    def run_once(self) -> None:
        self.process_pending()
        self.deliver_due()


def poll_imap(desk: MailDesk, settings: Settings) -> int:
    """Fetch unseen messages from the IMAP mailbox, store each, and only then mark it seen."""
    import imaplib

    cls = imaplib.IMAP4_SSL if settings.imap_ssl else imaplib.IMAP4
    box = cls(settings.imap_host, settings.imap_port)
    try:
        box.login(settings.imap_user or "", settings.imap_password or "")
        box.select(settings.imap_folder)
        _, data = box.search(None, "UNSEEN")
        n = 0
        for num in (data[0] or b"").split():
            _, parts = box.fetch(num, "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
            if raw is None or len(raw) > settings.mail_max_bytes:
                continue
            desk.accept(raw)
            box.store(num, "+FLAGS", "\\Seen")  # after it is stored: a crash before this fetches it again
            n += 1
        return n
    finally:
        try:
            box.logout()
        except Exception:  # noqa: BLE001
            pass

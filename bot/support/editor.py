"""Content editing: drafts, publication behind the golden-set gate, versions, rollback, audit.

A publication is live for the next message on this server at once, and on other servers at
their next message (each server applies publications it has not seen before handling a turn).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.core.db import reading
from bot.core.errors import ConflictError, DataError, NotFoundError, PublishRefused
from bot.core.vocabulary import OUT_OF_SCOPE, faq_id_of, faq_label
from bot.ml.policy import Decision
from bot.support import audit, canned
from bot.support.service import ChatService
from kb_index import repository as repo
from kb_index.repository import FaqVersion, Golden
from kb_index.retrieval import DraftIndex
from kb_index.store import FaqEntry


@dataclass(frozen=True)
class GateResult:
    checked: int
    broken: list[dict]
    stale: list[dict] = field(default_factory=list)  # expect an intent or entry that no longer exists

    @property
    def passed(self) -> bool:
        return not self.broken


@dataclass(frozen=True)
class EntryState:
    live: FaqEntry | None
    draft: FaqVersion | None
    versions: list[FaqVersion]
    trained: FaqEntry | None = None  # the entry as the model was trained (version 0)


class EditorService:
    def __init__(self, chat: ChatService):
        self.chat = chat

    @property
    def _engine(self):
        return self.chat.engine

    # -- reading -------------------------------------------------------------------------------
    def live(self, query: str | None = None) -> list[FaqEntry]:
        self.chat.sync_faqs()
        entries = list(self._engine.faq_index.store)
        if query:
            q = query.casefold()
            entries = [e for e in entries if q in e.id.casefold()
                       or any(q in x.casefold() for x in e.questions + list(e.answers.values()))]
        return entries

    def drafts(self) -> dict[str, FaqVersion]:
        with self.chat.db.connect() as conn:
            return repo.drafts(conn)

    def entry(self, faq_id: str) -> EntryState:
        self.chat.sync_faqs()
        with self.chat.db.connect() as conn:
            versions = repo.versions(conn, faq_id)
            draft = repo.drafts(conn).get(faq_id)
        live = self._engine.faq_index.store.get(faq_id)
        if live is None and not versions:
            raise NotFoundError("FAQ entry", faq_id)
        trained = next((e for e in self._engine.model.faqs if e.id == faq_id), None)
        return EntryState(live, draft, versions, trained)

    # -- the gate ----------------------------------------------------------------------------------
    def check(self, change: Callable[[DraftIndex], None]) -> GateResult:
        """Run every golden question against the FAQ index as it would be after `change`."""
        with self.chat.db.connect() as conn:
            items = repo.golden(conn)
        known = self.targets()
        # A golden question whose intent or entry was deleted since is flagged, not a block on
        # every later publication; one that the change itself would orphan is broken below.
        stale = [{"golden_id": g.id, "question": g.question, "expected": g.expected}
                 for g in items if g.expected not in known]
        items = [g for g in items if g.expected in known]
        if not items:
            return GateResult(0, [], stale)
        index = self._engine.faq_index.draft()
        change(index)
        questions = [g.question for g in items]
        before = self._engine.predict(questions)
        after = self._engine.predict(questions, faq_index=index)
        broken = []
        for g, old, new in zip(items, before, after):
            got = new.intent or "out_of_scope"
            # Broken: the question no longer reaches its expected intent, or it still does but the
            # change sends it down another route (answered before, escalated after, …).
            if got != g.expected or ((old.intent or "out_of_scope") == g.expected and new.route != old.route):
                broken.append({"golden_id": g.id, "question": g.question, "expected": g.expected, "got": got,
                               "route": new.route.value, "route_before": old.route.value})
        return GateResult(len(items), broken, stale)

    def _publish(self, faq_id: str, entry: FaqEntry | None, actor: str, action: str, **detail) -> FaqVersion:
        self.chat.sync_faqs()
        if entry is None and self._engine.faq_index.store.get(faq_id) is None:
            raise NotFoundError("FAQ entry", faq_id)
        gate = self.check(lambda ix: ix.delete(faq_id) if entry is None else ix.upsert(entry))
        now = self.chat.clock()
        if not gate.passed:
            with self.chat.db.begin() as conn:
                audit.record(conn, actor, f"{action}_refused", faq_id, now, broken=gate.broken)
            raise PublishRefused(f"publishing {faq_id} would re-route {len(gate.broken)} golden question(s)",
                                 gate.broken)
        with self.chat.db.begin() as conn:
            version = repo.add_version(conn, faq_id, repo.DELETED if entry is None else repo.PUBLISHED, entry, actor, now)
            audit.record(conn, actor, action, faq_id, now, version=version.version, checked=gate.checked, **detail)
        self.chat.sync_faqs()  # live for the next message
        return version

    # -- changes -------------------------------------------------------------------------------
    def save_draft(self, entry: FaqEntry, actor: str) -> FaqVersion:
        now = self.chat.clock()
        with self.chat.db.begin() as conn:
            version = repo.add_version(conn, entry.id, repo.DRAFT, entry, actor, now)
            audit.record(conn, actor, "save_draft", entry.id, now, version=version.version)
        return version

    def publish_draft(self, faq_id: str, actor: str) -> FaqVersion:
        draft = self.drafts().get(faq_id)
        if draft is None:
            raise ConflictError(f"FAQ entry {faq_id!r} has no draft to publish")
        return self._publish(faq_id, draft.entry, actor, "publish", from_draft=draft.version)

    def put(self, entry: FaqEntry, actor: str) -> FaqVersion:
        """Create or replace an entry and publish it at once (still behind the gate)."""
        return self._publish(entry.id, entry, actor, "publish")

    def delete(self, faq_id: str, actor: str) -> FaqVersion:
        return self._publish(faq_id, None, actor, "delete")

    def rollback(self, faq_id: str, version: int, actor: str) -> FaqVersion:
        """Publish again the content of an earlier version (version 0: as trained)."""
        if version == 0:
            entry = next((e for e in self._engine.model.faqs if e.id == faq_id), None)
        else:
            with self.chat.db.connect() as conn:
                entry = next((v.entry for v in repo.versions(conn, faq_id) if v.version == version), None)
        if entry is None:
            raise NotFoundError("FAQ version", f"{faq_id}@{version}")
        return self._publish(faq_id, entry, actor, "rollback", to_version=version)

    def try_text(self, text: str, with_drafts: bool = True) -> Decision:
        """The decision for `text`, against the drafts if asked (the editor's "try it" box)."""
        self.chat.sync_faqs()
        if not with_drafts:
            return self._engine.predict_one(text)
        index = self._engine.faq_index.draft()
        index.apply([d.entry for d in self.drafts().values()], [])
        return self._engine.predict([text], faq_index=index)[0]

    def customer_view(self, text: str, decision: Decision, with_drafts: bool = True) -> list[dict]:
        """What the customer would see for `text` as the first message of a conversation: the
        replies with their buttons, in the customer's language (drafts' answers and titles too)."""
        from dataclasses import replace

        from bot.support.dialogue import ConvState, step

        drafts = {d.entry.id: d.entry for d in self.drafts().values()} if with_drafts else {}
        k = self.chat.knowledge()

        def answer(intent: str, lang: str) -> str | None:
            fid = faq_id_of(intent)
            return drafts[fid].answer_for(lang) if fid in drafts else k.answer(intent, lang)

        def title(intent: str, lang: str) -> str:
            fid = faq_id_of(intent)
            return drafts[fid].title_for(lang) if fid in drafts else k.title(intent, lang)

        asked = text.strip()
        knowledge = replace(k, classify=lambda m: decision if m == asked else k.classify(m), answer=answer, title=title)
        out = step(ConvState(), text, knowledge)
        replies = [{"text": r.text, "buttons": [b.title for b in r.buttons]} for r in out.replies]
        if out.escalate is not None:
            replies.append({"text": self.chat.handoff_preview(out.state.lang, out.escalate.priority, out.escalate.intent),
                            "buttons": []})
        return replies

    # -- golden set --------------------------------------------------------------------------------
    def golden(self) -> list[Golden]:
        with self.chat.db.connect() as conn:
            return repo.golden(conn)

    def targets(self) -> set[str]:
        """What a golden question may expect: the model's intents, a live FAQ entry, out_of_scope."""
        self.chat.sync_faqs()
        intents = {k for k in self._engine.model.meta if faq_id_of(k) is None}
        return {OUT_OF_SCOPE} | intents | {faq_label(e.id) for e in self._engine.faq_index.store}

    def add_golden(self, question: str, expected: str, actor: str) -> Golden:
        if expected not in self.targets():
            raise DataError(f"unknown intent or entry {expected!r}: a golden question must expect an intent of "
                            "the model, a live FAQ entry (faq/<id>) or out_of_scope")
        now = self.chat.clock()
        with self.chat.db.begin() as conn:
            g = repo.add_golden(conn, question, expected, actor, now)
            audit.record(conn, actor, "add_golden", g.id, now, question=question, expected=expected)
        return g

    def update_golden(self, golden_id: str, question: str, expected: str, actor: str) -> Golden:
        """Change a golden question (its text or what it must reach)."""
        if expected not in self.targets():
            raise DataError(f"unknown intent or entry {expected!r}: a golden question must expect an intent of "
                            "the model, a live FAQ entry (faq/<id>) or out_of_scope")
        now = self.chat.clock()
        with self.chat.db.begin() as conn:
            g = repo.update_golden(conn, golden_id, question, expected)
            if g is None:
                raise NotFoundError("golden question", golden_id)
            audit.record(conn, actor, "update_golden", golden_id, now, question=question, expected=expected)
            return g

    def seed_golden(self, items: list[tuple[str, str]], actor: str = "starter set") -> tuple[int, list[str]]:
        """Add a starter golden set to a database that has none: each question that reaches its
        expected intent with the model served now (others are returned, skipped). Several servers
        starting at once seed once."""
        if not items:
            return 0, []
        decisions = self._engine.predict([q for q, _ in items])
        good = [(q, e) for (q, e), d in zip(items, decisions) if (d.intent or "out_of_scope") == e]
        skipped = [q for (q, e), d in zip(items, decisions) if (d.intent or "out_of_scope") != e]
        now = self.chat.clock()
        with self.chat.db.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727102)")
            if repo.golden(conn):
                return 0, []
            for q, e in good:
                repo.add_golden(conn, q, e, actor, now)
            audit.record(conn, actor, "seed_golden", "golden", now, added=len(good), skipped=skipped)
        return len(good), skipped

    def delete_golden(self, golden_id: str, actor: str) -> None:
        now = self.chat.clock()
        with self.chat.db.begin() as conn:
            if not repo.delete_golden(conn, golden_id):
                raise NotFoundError("golden question", golden_id)
            audit.record(conn, actor, "delete_golden", golden_id, now)

    # -- canned replies (for agents) ---------------------------------------------------------------
    def canned(self) -> list[canned.Canned]:
        with reading(self.chat.db) as conn:
            return canned.listing(conn)

    def put_canned(self, cid: str, title: str, text: str, lang: str | None, actor: str) -> canned.Canned:
        now = self.chat.clock()
        with self.chat.db.begin() as conn:
            c = canned.put(conn, cid, title, text, lang, actor, now)
            audit.record(conn, actor, "put_canned", cid, now, title=title)
            return c

    def delete_canned(self, cid: str, actor: str) -> None:
        now = self.chat.clock()
        with self.chat.db.begin() as conn:
            canned.remove(conn, cid)
            audit.record(conn, actor, "delete_canned", cid, now)

    def audit(self, target: str | None = None) -> list[audit.AuditEntry]:
        with self.chat.db.connect() as conn:
            return audit.entries(conn, target)

"""Several servers on one database: every FAQ publication reaches every server, however the
transactions interleave, and a server starts from the live state in one batch."""
import threading
import time

from bot.support.editor import EditorService
from kb_index import repository as repo
from kb_index.store import FaqEntry
from tests.factories import api_client, make_service


def entry(i: int) -> FaqEntry:
    return FaqEntry(f"topic{i}", [f"question about topic number {i}", f"topic {i} help"], {"en": f"Answer {i}."})


def live_ids(svc) -> set[str]:
    svc.sync_faqs()
    return {e.id for e in svc.engine.faq_index.store if e.id.startswith("topic")}


def test_concurrent_publications_from_two_servers_are_live_on_both(db_engine, tiny_model, fake_embedder):
    a = make_service(db_engine, tiny_model, fake_embedder)
    b = make_service(db_engine, tiny_model, fake_embedder)
    editors = [EditorService(a), EditorService(b)]
    errors = []

    def publish(worker: int):
        try:
            for i in range(worker, 60, 6):
                editors[worker % 2].put(entry(i), f"ed{worker}")
                (a if worker % 2 else b).sync_faqs()   # servers sync while others still write
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=publish, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    expected = {f"topic{i}" for i in range(60)}
    assert live_ids(a) == expected and live_ids(b) == expected
    for svc in (a, b):
        assert svc.engine.faq_index.store.get("topic17").answers["en"] == "Answer 17."


def test_a_publication_committing_while_a_server_starts_is_not_lost(db_engine, tiny_model, fake_embedder):
    """A server starts from the live state, the highest seq and the seqs below it: three
    statements. A publication that commits after the first must not count as seen by the others
    (PostgreSQL's read committed gave each statement its own snapshot: the entry was never applied,
    seen once under load)."""
    from sqlalchemy import event

    svc = make_service(db_engine, tiny_model, fake_embedder)
    fired = []

    def publish_after_the_live_state(conn, cursor, statement, *rest):
        if not fired and "max(faq_versions.version)" in statement.lower():
            fired.append(True)
            with db_engine.begin() as other:
                repo.add_version(other, "racer", repo.PUBLISHED,
                                 FaqEntry("racer", ["the racing entry"], {"en": "racer"}), "ed", 1.0)

    event.listen(db_engine, "after_cursor_execute", publish_after_the_live_state)
    try:
        svc.start()
    finally:
        event.remove(db_engine, "after_cursor_execute", publish_after_the_live_state)
    assert fired
    svc.sync_faqs()
    assert "racer" in svc.engine.faq_index.store


def test_a_publication_that_commits_after_a_later_one_is_not_skipped(pg_engine, tiny_model, fake_embedder):
    """PostgreSQL gives seq values at insert, not at commit: take seq N, let N+1 commit and be
    read, then commit N. (SQLite serialises writers, so the interleaving cannot happen there.)"""
    db_engine = pg_engine
    reader = make_service(db_engine, tiny_model, fake_embedder)
    reader.start()
    slow = db_engine.connect()
    tx = slow.begin()
    repo.add_version(slow, "late", repo.PUBLISHED, FaqEntry("late", ["the late one"], {"en": "late"}), "ed", 1.0)
    with db_engine.begin() as conn:
        repo.add_version(conn, "early", repo.PUBLISHED, FaqEntry("early", ["the early one"], {"en": "early"}), "ed", 2.0)
    reader.sync_faqs()
    assert "early" in reader.engine.faq_index.store and "late" not in reader.engine.faq_index.store
    tx.commit()
    slow.close()
    reader.sync_faqs()
    assert "late" in reader.engine.faq_index.store          # read although its seq is below the top


def test_an_older_version_committing_late_never_replaces_a_newer_one(db_engine, tiny_model, fake_embedder):
    svc = make_service(db_engine, tiny_model, fake_embedder)
    svc.start()
    with db_engine.begin() as conn:
        repo.add_version(conn, "x", repo.PUBLISHED, FaqEntry("x", ["x question"], {"en": "v1"}), "ed", 1.0)
        repo.add_version(conn, "x", repo.PUBLISHED, FaqEntry("x", ["x question"], {"en": "v2"}), "ed", 2.0)
    svc.sync_faqs()
    svc._apply_versions(repo.versions(db_engine.connect(), "x")[:1])   # v1 read again, late
    assert svc.engine.faq_index.store.get("x").answers["en"] == "v2"


def test_a_server_starts_from_the_live_state_in_one_batch(db_engine, tiny_model, fake_embedder):
    writer = make_service(db_engine, tiny_model, fake_embedder)
    ed = EditorService(writer)
    for i in range(30):
        ed.put(entry(i), "ed")
    for i in range(10):
        ed.put(FaqEntry(f"topic{i}", [f"question about topic number {i}"], {"en": f"Newer {i}."}), "ed")
    ed.delete("topic29", "ed")
    fresh = make_service(db_engine, tiny_model, fake_embedder)
    assert any("faq" in p for p in fresh.readiness())                  # not ready before it loads
    calls = []
    encode = fresh.engine.faq_index.embedder.encode_document
    fresh.engine.faq_index.embedder.encode_document = lambda texts, **kw: calls.append(len(texts)) or encode(texts, **kw)
    fresh.start()
    assert len(calls) == 1                                              # one batch, not one per publication
    assert fresh.readiness() == []
    assert live_ids(fresh) == {f"topic{i}" for i in range(29)}
    assert fresh.engine.faq_index.store.get("topic3").answers["en"] == "Newer 3."


def test_two_app_instances_see_each_others_faq_edits(db_engine, tiny_model, fake_embedder):
    from tests.bot.interfaces.test_api import KEYS, H, new_conv
    from tests.bot.interfaces.test_hardening import settings_for

    s = settings_for()
    with api_client(make_service(db_engine, tiny_model, fake_embedder, s), s) as one, \
            api_client(make_service(db_engine, tiny_model, fake_embedder, s), s) as two:
        body = {"questions": ["where is the desktop app", "desktop app download"], "answers": {"en": "On the website."}}
        assert one.put("/editor/faq/desktop", json=body, headers=H(KEYS["editor"])).status_code == 200
        cid, token = new_conv(two)
        r = two.post(f"/conversations/{cid}/messages", json={"text": "where is the desktop app"}, headers=H(token))
        assert r.json()["replies"][0]["text"] == "On the website."
        assert two.delete("/editor/faq/desktop", headers=H(KEYS["editor"])).status_code == 200
        cid, token = new_conv(one)
        r = one.post(f"/conversations/{cid}/messages", json={"text": "where is the desktop app"}, headers=H(token))
        assert r.json()["replies"][0]["text"] != "On the website."




def test_turns_arriving_during_a_sync_share_the_next_one_and_see_what_was_published(
        db_engine, tiny_model, fake_embedder, monkeypatch):
    a = make_service(db_engine, tiny_model, fake_embedder)
    b = make_service(db_engine, tiny_model, fake_embedder)
    a.sync_faqs()
    reads, first_in, release = [], threading.Event(), threading.Event()
    real = repo.published_unread

    def slow_read(conn, cursor):
        if threading.current_thread() is threading.main_thread():
            return real(conn, cursor)  # the editor publishing on server b, not a's turns
        reads.append(1)
        if len(reads) == 1:  # the first sync holds on until the others have arrived
            first_in.set()
            release.wait(30)
        return real(conn, cursor)

    monkeypatch.setattr(repo, "published_unread", slow_read)
    starter = threading.Thread(target=a.sync_faqs)
    starter.start()
    assert first_in.wait(30)
    EditorService(b).put(entry(1), "ed")  # published while the first sync is under way
    waiters = [threading.Thread(target=a.sync_faqs) for _ in range(8)]
    for t in waiters:
        t.start()
    deadline = time.monotonic() + 30
    while a.sync_waiting < len(waiters) and time.monotonic() < deadline:  # all of them queued
        time.sleep(0.01)
    assert a.sync_waiting == len(waiters)
    release.set()
    for t in [starter, *waiters]:
        t.join(30)
    assert len(reads) == 2  # eight turns, one more database read between them
    assert a.engine.faq_index.store.get("topic1") is not None  # what they had to see

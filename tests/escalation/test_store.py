import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.core.db import current_revision
from bot.core.errors import ConflictError, NotFoundError, StaleClaimError
from bot.core.vocabulary import Priority
from escalation.store import Status, TicketStore

NOW = 1_800_000_000.0


def _open(store, n=1, priority=Priority.P2, conv=None, now=NOW, team="support", due=None):
    return [store.open_ticket(conversation_id=conv if conv else None, priority=priority, team=team, now=now + i,
                              due_at=due if due is not None else now + 3600 + i)[0] for i in range(n)]


def test_migrated(db_engine):
    assert current_revision(db_engine) is not None


def test_queue_order_priority_then_due_then_arrival(db_engine):
    s = TicketStore(db_engine)
    a = s.open_ticket(conversation_id="a", priority=Priority.P2, team="t", now=NOW, due_at=NOW + 50)[0]
    b = s.open_ticket(conversation_id="b", priority=Priority.P0, team="t", now=NOW + 1, due_at=NOW + 900)[0]
    c = s.open_ticket(conversation_id="c", priority=Priority.P0, team="t", now=NOW + 2, due_at=NOW + 100)[0]
    d = s.open_ticket(conversation_id="d", priority=Priority.P0, team="t", now=NOW + 3, due_at=NOW + 100)[0]
    e = s.open_ticket(conversation_id="e", priority=Priority.P1, team="t", now=NOW + 4, due_at=NOW + 10)[0]
    assert [t.id for t in s.queue(NOW)] == [c.id, d.id, b.id, e.id, a.id]


def test_escalating_a_conversation_twice_gives_one_ticket_and_keeps_the_higher_priority(db_engine):
    s = TicketStore(db_engine)
    t1, created1 = s.open_ticket(conversation_id="conv", priority=Priority.P2, team="t", now=NOW, due_at=NOW + 999)
    t2, created2 = s.open_ticket(conversation_id="conv", priority=Priority.P0, team="t", now=NOW, due_at=NOW + 60)
    assert created1 and not created2 and t1.id == t2.id
    assert t2.priority is Priority.P0 and t2.due_at == NOW + 60
    claimed = s.claim(t1.id, "ann", NOW)
    s.resolve(t1.id, "ann", claimed.claim_token, NOW)
    t3, created3 = s.open_ticket(conversation_id="conv", priority=Priority.P2, team="t", now=NOW, due_at=NOW + 9)
    assert created3 and t3.id != t1.id  # a resolved conversation can come back


def test_concurrent_escalation_of_one_conversation(db_engine):
    s = TicketStore(db_engine)
    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda i: s.open_ticket(conversation_id="same", priority=Priority.P1, team="t",
                                                      now=NOW, due_at=NOW + 1), range(16)))
    assert len({t.id for t, _ in results}) == 1 and sum(c for _, c in results) == 1


def test_claim_lease_and_stale_writes(db_engine):
    s = TicketStore(db_engine, lease_seconds=60)
    (t,) = _open(s)
    ann = s.claim(t.id, "ann", NOW)
    assert ann.status is Status.CLAIMED and ann.agent == "ann"
    with pytest.raises(ConflictError):
        s.claim(t.id, "bob", NOW + 10)  # lease still live
    assert s.claim_next("bob", NOW + 10) is None
    # ann disappears; after the lease the ticket is back in the queue
    assert [q.id for q in s.queue(NOW + 61)] == [t.id]
    bob = s.claim_next("bob", NOW + 61)
    assert bob.id == t.id and bob.claim_token == ann.claim_token + 1
    with pytest.raises(StaleClaimError):
        s.resolve(t.id, "ann", ann.claim_token, NOW + 62)  # late write from the stale claim
    s.renew(t.id, "bob", bob.claim_token, NOW + 100)
    assert s.get(t.id).lease_until == NOW + 160
    done = s.resolve(t.id, "bob", bob.claim_token, NOW + 101)
    assert done.status is Status.RESOLVED and done.resolved_at == NOW + 101
    with pytest.raises(ConflictError):
        s.claim(t.id, "ann", NOW + 102)


def test_release_and_transfer(db_engine):
    s = TicketStore(db_engine)
    (t,) = _open(s, team="en")
    c = s.claim(t.id, "ann", NOW)
    r = s.release(t.id, "ann", c.claim_token, NOW)
    assert r.status is Status.QUEUED and r.agent is None
    with pytest.raises(StaleClaimError):
        s.release(t.id, "ann", c.claim_token, NOW)
    c = s.claim(t.id, "ann", NOW)
    moved = s.transfer(t.id, "ann", c.claim_token, NOW, team="zh")
    assert moved.team == "zh" and moved.status is Status.QUEUED
    assert s.claim_next("bob", NOW, teams=["en"]) is None
    assert s.claim_next("bob", NOW, teams=["zh"]).id == t.id


def test_not_found(db_engine):
    s = TicketStore(db_engine)
    with pytest.raises(NotFoundError):
        s.get("nope")
    with pytest.raises(NotFoundError):
        s.claim("nope", "ann", NOW)


def test_breaches_are_flagged_once(db_engine):
    s = TicketStore(db_engine)
    (late,) = _open(s, due=NOW + 10)
    _open(s, due=NOW + 1000)
    assert [t.id for t in s.mark_breaches(NOW + 20)] == [late.id]
    assert s.mark_breaches(NOW + 30) == []
    assert s.get(late.id).breached


def test_16_concurrent_claims_have_exactly_one_winner_200_rounds(db_engine):
    s = TicketStore(db_engine)
    barrier = threading.Barrier(16)

    def attempt(tid, agent):
        barrier.wait()
        try:
            s.claim(tid, agent, NOW)
            return agent
        except ConflictError:
            return None

    with ThreadPoolExecutor(16) as ex:
        for _ in range(200):
            (t,) = _open(s)
            winners = [w for w in ex.map(lambda i: attempt(t.id, f"agent{i}"), range(16)) if w]
            assert len(winners) == 1
            assert s.get(t.id).agent == winners[0]


def test_500_tickets_drained_by_8_claimers_each_claimed_once(db_engine):
    s = TicketStore(db_engine)
    ids = {t.id for t in _open(s, n=500)}

    def drain(agent):
        got = []
        while (t := s.claim_next(agent, NOW + 1000)) is not None:
            got.append(t.id)
        return got

    with ThreadPoolExecutor(8) as ex:
        claimed = [tid for part in ex.map(drain, [f"a{i}" for i in range(8)]) for tid in part]
    assert len(claimed) == 500 and set(claimed) == ids


def test_300_mixed_priority_tickets_drain_in_exact_order(db_engine):
    import random

    rng = random.Random(7)
    s = TicketStore(db_engine)
    made = []
    for i in range(300):
        p = rng.choice(list(Priority))
        due = NOW + rng.choice([60, 120, 600, 3600])
        t, _ = s.open_ticket(conversation_id=f"c{i}", priority=p, team="t", now=NOW + i, due_at=due)
        made.append(t)
    expected = [t.id for t in sorted(made, key=lambda t: (t.priority.rank, t.due_at, t.seq))]
    drained = []
    while (t := s.claim_next("ann", NOW + 500)) is not None:
        drained.append(t.id)
    assert drained == expected

"""The gap cursor: a value that commits after a higher one is still read."""
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select

from bot.core.cursor import GapCursor, unread


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_late_lower_value_is_read_and_gaps_expire():
    clock = Clock()
    c = GapCursor(grace_seconds=60, clock=clock)
    c.saw([1, 2, 4])                              # 3 is in flight
    assert c.top == 4 and set(c.gaps) == {3}
    c.saw([3])                                    # committed late: read, gap closed
    assert c.gaps == {}
    c.saw([7])
    clock.now = 61
    c.expire()
    assert c.gaps == {}                           # 5 and 6 never came: let go after the grace period


def test_the_condition_reads_gaps_and_what_is_new():
    md = MetaData()
    t = Table("t", md, Column("seq", Integer, primary_key=True))
    db = create_engine("sqlite://")
    md.create_all(db)
    c = GapCursor()
    # Built once, one statement per shape; the cursor's parameters say what to read.
    stmt = {gaps: select(t.c.seq).where(unread(t.c.seq, gaps)) for gaps in (False, True)}

    def read(conn):
        return sorted(r[0] for r in conn.execute(stmt[c.has_gaps], c.params()))

    with db.begin() as conn:
        conn.execute(t.insert(), [{"seq": s} for s in (1, 2, 4)])
        c.saw(read(conn))
        assert c.has_gaps                              # 3 not seen yet
        conn.execute(t.insert(), [{"seq": 3}, {"seq": 5}])
        got = read(conn)
        assert got == [3, 5]
        c.saw(got)
        assert not c.has_gaps and read(conn) == []
        conn.execute(t.insert(), [{"seq": 6}])
        assert read(conn) == [6]


def test_start_at_treats_recent_unseen_values_as_gaps():
    c = GapCursor()
    c.start_at(10, seen={7, 8, 10}, window=5)
    assert set(c.gaps) == {5, 6, 9}

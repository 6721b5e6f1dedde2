"""The gap cursor: a value that commits after a higher one is still read."""
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select

from bot.core.cursor import GapCursor


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
    with db.begin() as conn:
        conn.execute(t.insert(), [{"seq": s} for s in (1, 2, 4)])
        c.saw(r[0] for r in conn.execute(select(t.c.seq).where(c.condition(t.c.seq))))
        conn.execute(t.insert(), [{"seq": 3}, {"seq": 5}])
        assert sorted(r[0] for r in conn.execute(select(t.c.seq).where(c.condition(t.c.seq)))) == [3, 5]


def test_start_at_treats_recent_unseen_values_as_gaps():
    c = GapCursor()
    c.start_at(10, seen={7, 8, 10}, window=5)
    assert set(c.gaps) == {5, 6, 9}

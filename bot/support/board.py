"""The head of the agents' queue, shared by every console of a process."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from escalation.store import Ticket, TicketStore


@dataclass(frozen=True)
class QueueHead:
    tickets: list[Ticket]  # the first `size` claimable tickets, without handoff packets
    total: int  # all claimable tickets
    rendered: Any = None  # `render(tickets)`, made once per refresh (the wire form, for one)


class QueueBoard:
    """Computed once per change (`tick`) or every 2 s, since lapsed leases change the queue without
    a write; one refresh however many consoles wake at once."""

    def __init__(self, tickets: TicketStore, size: int = 100,
                 render: Callable[[list[Ticket]], Any] = lambda ts: None):
        self.tickets, self.size, self.render = tickets, size, render
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._head = QueueHead([], 0)

    def head(self, now: float, tick: int, fresh: bool = False) -> QueueHead:
        key = (tick, int(now // 2))
        with self._lock:
            if fresh or self._key != key:
                head = self.tickets.queue(now, limit=self.size, packets=False)
                total = len(head) if len(head) < self.size else self.tickets.count_claimable(now)
                self._key, self._head = key, QueueHead(head, total, self.render(head))
            return self._head

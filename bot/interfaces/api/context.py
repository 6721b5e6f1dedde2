"""Everything the HTTP layer works with, built once by `create_app` and reached through one
accessor (`deps.get_context`), instead of loose attributes on `app.state`."""
from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.settings import Settings
from bot.interfaces.api.events import StreamSlots
from bot.interfaces.api.limits import RateLimiter
from bot.interfaces.api.metrics import Metrics
from bot.interfaces.api.session import Credentials, Staff
from bot.support.board import QueueBoard
from bot.support.changes import ChangeFeed
from bot.support.editor import EditorService
from bot.support.service import ChatService


@dataclass(frozen=True)
class AppContext:
    service: ChatService
    editor: EditorService
    settings: Settings
    credentials: Credentials
    session_secret: bytes
    conversation_limiter: RateLimiter
    client_limiter: RateLimiter
    login_failures: RateLimiter  # failed sign-ins per client address
    metrics: Metrics
    feed: ChangeFeed
    board: QueueBoard  # the head of the queue, shared by every console of this process
    streams: StreamSlots  # live event streams open per caller
    #: The desk's numbers per period (days): (computed at, JSON), recomputed every 30 s at most.
    desk_cache: dict = field(default_factory=dict)

    def seen(self, staff: Staff) -> None:
        """An agent's activity counts them as online (written at most every 30 s)."""
        if "agent" in staff.roles:
            self.service.mark_agent_seen(staff.name)

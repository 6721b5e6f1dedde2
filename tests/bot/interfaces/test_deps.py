"""Route dependencies: the ones that neither block nor read the database run on the event loop."""
import inspect

from bot.core.settings import Settings
from bot.interfaces.api import create_app
from tests.factories import make_service

#: Plain `def` dependencies, run on the thread pool because they read the database (a token, a
#: revoked session) or may block. Any other dependency must be `async def`: FastAPI hands a plain
#: one to the thread pool and back, which cost a chat message four hand-overs instead of two.
BLOCKING = {"conversation_access", "dep", "require_staff"}


def _calls(dependant):
    for d in dependant.dependencies:
        if d.call is not None:
            yield d.call
        yield from _calls(d)


def _routes(routes):
    for r in routes:
        inner = getattr(r, "original_router", None)  # an included router (FastAPI >= 0.165)
        if inner is not None:
            yield from _routes(inner.routes)
        elif hasattr(r, "dependant"):
            yield r


def test_only_dependencies_that_read_the_database_run_on_the_thread_pool(db_engine, tiny_model, fake_embedder):
    app = create_app(make_service(db_engine, tiny_model, fake_embedder), Settings())
    seen, sync = set(), set()
    routes = list(_routes(app.routes))
    assert any(r.path == "/conversations/{conversation_id}/messages" for r in routes)
    for route in routes:
        for call in _calls(route.dependant):
            seen.add(call.__name__)
            if not inspect.iscoroutinefunction(call):
                sync.add(call.__name__)
    assert {"get_service", "client_rate_limit", "get_editor"} <= seen
    assert sync <= BLOCKING, f"plain def dependencies that need not be: {sorted(sync - BLOCKING)}"


def test_the_message_route_serializes_its_own_reply_and_still_documents_it(db_engine, tiny_model, fake_embedder):
    from bot.interfaces.api.schemas import TurnPublic
    from tests.bot.interfaces.test_api import H, new_conv
    from tests.factories import api_client

    s = Settings()
    svc = make_service(db_engine, tiny_model, fake_embedder, s)
    with api_client(svc, s) as c:
        ok = c.get("/openapi.json").json()["paths"]["/conversations/{conversation_id}/messages"]["post"]["responses"]["200"]
        assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/TurnPublic")
        cid, token = new_conv(c)
        r = c.post(f"/conversations/{cid}/messages", json={"text": "what are the trading fees"}, headers=H(token))
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        turn = TurnPublic.model_validate(r.json())
        assert turn.conversation_id == cid and turn.user_message.text == "what are the trading fees" and turn.replies

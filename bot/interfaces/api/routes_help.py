"""The public help center: server-rendered pages (no JavaScript needed) in the reader's language,
search through the chat's engine, "Was this helpful?", a sitemap and canonical URLs."""
from __future__ import annotations

from functools import lru_cache
from typing import Annotated
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.core.i18n import registry
from bot.interfaces.api.deps import ClientLimited, get_context
from bot.support.helpcenter import HelpCenter

router = APIRouter(tags=["help center"], dependencies=[ClientLimited])
ArticleId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_.\-]{1,128}$")]
Lang = Annotated[str | None, Query(max_length=16, description="Language code; default from Accept-Language.")]


@lru_cache(maxsize=1)
def _templates():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from bot.interfaces.api.routes_web import WEB

    return Environment(loader=FileSystemLoader(WEB / "templates"), autoescape=select_autoescape(["html", "xml"]))


def _lang(request: Request, lang: str | None) -> str:
    """The reader's language: `?lang=`, else the first language of Accept-Language we have."""
    codes = registry().codes
    if lang in codes:
        return lang
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower().split("-")[0]
        if code in codes:
            return code
    return registry().default


def _page(request: Request, template: str, lang: str, status: int = 200, **ctx) -> HTMLResponse:
    reg = registry()
    table = reg.tables.get(lang, reg.tables[reg.default])

    def t(key: str, **kw) -> str:
        text = table.get(key, key)
        return text.format(**kw) if kw else text

    def url_with_lang(code: str) -> str:
        return f"{request.url.path}?{urlencode({**dict(request.query_params), 'lang': code})}"

    base = str(request.base_url).rstrip("/")
    html = _templates().get_template(template).render(
        lang=lang, t=t, languages=reg.codes, names={c: reg.get(c).name for c in reg.codes},
        url_with_lang=url_with_lang, canonical=f"{base}{request.url.path}?lang={lang}", **ctx)
    return HTMLResponse(html, status_code=status, headers={"Content-Language": lang, "Cache-Control": "no-cache"})


def _help(request: Request) -> HelpCenter:
    return HelpCenter(get_context(request).service)


@router.get("/help", response_class=HTMLResponse)
def help_home(request: Request, lang: Lang = None) -> HTMLResponse:
    """Topics (from the entries' tags) and their articles."""
    code = _lang(request, lang)
    return _page(request, "help_home.html", code, categories=_help(request).categories(code))


@router.get("/help/search", response_class=HTMLResponse)
def help_search(request: Request, q: Annotated[str, Query(max_length=500)] = "", lang: Lang = None) -> HTMLResponse:
    """Articles for a question, ranked by the chat's engine; nothing for a question it would call
    out of scope (the page then offers the chat)."""
    code = _lang(request, lang)
    t = registry().tables.get(code, {})
    found = _help(request).search(q.strip(), code) if q.strip() else []
    return _page(request, "help_list.html", code, q=q, articles=found,
                 heading=t.get("help_results_for", "{q}").format(q=q.strip()),
                 empty=t.get("help_no_results", "{q}").format(q=q.strip()))


@router.get("/help/articles")
def help_articles(request: Request, q: Annotated[str, Query(min_length=1, max_length=500)], lang: Lang = None,
                  limit: Annotated[int, Query(ge=1, le=20)] = 5) -> list[dict]:
    """The search as JSON (for the chat widget's help search): [{id, title, url}], best first."""
    code = _lang(request, lang)
    return [{"id": a.id, "title": a.title, "url": f"/help/a/{a.id}?lang={code}"}
            for a in _help(request).search(q.strip(), code, limit)]


@router.get("/help/c/{category}", response_class=HTMLResponse)
def help_category(request: Request, category: Annotated[str, PathParam(max_length=64)], lang: Lang = None):
    code = _lang(request, lang)
    found = next((c for c in _help(request).categories(code) if c.name == category), None)
    if found is None:
        raise HTTPException(404, f"no help topic {category!r}")
    return _page(request, "help_list.html", code, articles=found.articles, heading=category.capitalize(), empty="")


@router.get("/help/a/{article_id}", response_class=HTMLResponse)
def help_article(request: Request, article_id: ArticleId, lang: Lang = None,
                 feedback: Annotated[str | None, Query(max_length=16)] = None) -> HTMLResponse:
    """One article (a live FAQ entry; drafts never) with "Was this helpful?" and related articles."""
    code = _lang(request, lang)
    hc = _help(request)
    found = hc.article(article_id, code)
    if found is None:
        t = registry().tables.get(code, {})
        return _page(request, "help_list.html", code, status=404, articles=[], heading=registry().tables.get(
            code, {}).get("help_title", "Help"), empty=t.get("help_not_found", "No such article."))
    return _page(request, "help_article.html", code, article=found, related=hc.related(article_id, code),
                 thanks=feedback == "thanks")


@router.post("/help/a/{article_id}/feedback", status_code=303)
async def help_feedback(request: Request, article_id: ArticleId) -> RedirectResponse:
    """A plain HTML form post: `helpful=yes|no` (and `lang`); back to the article with thanks."""
    body = (await request.body())[:2048].decode("utf-8", errors="replace")
    form = {k: v[0] for k, v in parse_qs(body).items()}
    if form.get("helpful") not in ("yes", "no"):
        raise HTTPException(422, "helpful must be yes or no")
    code = _lang(request, form.get("lang"))
    hc = _help(request)
    from starlette.concurrency import run_in_threadpool

    if await run_in_threadpool(hc.article, article_id, code) is None:
        raise HTTPException(404, f"no article {article_id!r}")
    await run_in_threadpool(hc.feedback, article_id, form["helpful"] == "yes", code)
    return RedirectResponse(f"/help/a/{article_id}?{urlencode({'lang': code, 'feedback': 'thanks'})}", status_code=303)


@router.get("/sitemap.xml", include_in_schema=False)
def sitemap(request: Request) -> Response:
    """The help center's pages in every language, for search engines."""
    base = str(request.base_url).rstrip("/")
    hc = _help(request)
    urls = []
    for code in registry().codes:
        urls.append(f"{base}/help?lang={code}")
        for c in hc.categories(code):
            urls.append(f"{base}/help/c/{c.name}?lang={code}")
            urls += [f"{base}/help/a/{a.id}?lang={code}" for a in c.articles]
    from xml.sax.saxutils import escape

    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "".join(f"  <url><loc>{escape(u)}</loc></url>\n" for u in urls) + "</urlset>\n")
    return Response(body, media_type="application/xml")

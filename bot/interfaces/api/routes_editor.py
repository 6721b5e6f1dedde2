"""Content editors: FAQ entries, drafts, publication behind the golden-set gate, history."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from bot.interfaces.api.deps import CurrentEditor, get_context
from bot.interfaces.api.schemas import (
    AuditPublic,
    CannedIn,
    CannedPublic,
    DecisionPublic,
    FaqDetail,
    FaqIn,
    FaqPublic,
    FaqsPublic,
    GoldenIn,
    GoldenPublic,
    Rollback,
    SuggestionApproval,
    SuggestionDecision,
    TryIn,
    VersionPublic,
)
from bot.support.editor import EditorService
from bot.support.learning import LearningService

router = APIRouter(prefix="/editor", tags=["editors"])
FaqId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.\-]{1,128}$")]


async def get_editor(request: Request) -> EditorService:
    return get_context(request).editor


EditorDep = Annotated[EditorService, Depends(get_editor)]


@router.get("/faq", response_model=FaqsPublic)
def list_faq(editor: CurrentEditor, svc: EditorDep, q: str | None = None) -> FaqsPublic:
    entries = svc.live(q)
    return FaqsPublic(data=[FaqPublic.of(e) for e in entries], drafts=sorted(svc.drafts()), count=len(entries))


@router.get("/faq/{faq_id}", response_model=FaqDetail)
def get_faq(faq_id: FaqId, editor: CurrentEditor, svc: EditorDep) -> FaqDetail:
    st = svc.entry(faq_id)
    return FaqDetail(id=faq_id, live=FaqPublic.of(st.live) if st.live else None,
                     draft=VersionPublic.of(st.draft) if st.draft else None,
                     versions=[VersionPublic.of(v) for v in st.versions],
                     trained=FaqPublic.of(st.trained) if st.trained else None)


@router.put("/faq/{faq_id}", response_model=VersionPublic)
def put_faq(faq_id: FaqId, body: FaqIn, editor: CurrentEditor, svc: EditorDep) -> VersionPublic:
    """Create or replace an entry and publish it now (refused with 409 if golden questions break)."""
    return VersionPublic.of(svc.put(body.entry(faq_id), editor.name))


@router.delete("/faq/{faq_id}", response_model=VersionPublic)
def delete_faq(faq_id: FaqId, editor: CurrentEditor, svc: EditorDep) -> VersionPublic:
    return VersionPublic.of(svc.delete(faq_id, editor.name))


@router.put("/faq/{faq_id}/draft", response_model=VersionPublic)
def save_draft(faq_id: FaqId, body: FaqIn, editor: CurrentEditor, svc: EditorDep) -> VersionPublic:
    return VersionPublic.of(svc.save_draft(body.entry(faq_id), editor.name))


@router.post("/faq/{faq_id}/publish", response_model=VersionPublic)
def publish(faq_id: FaqId, editor: CurrentEditor, svc: EditorDep) -> VersionPublic:
    return VersionPublic.of(svc.publish_draft(faq_id, editor.name))


@router.post("/faq/{faq_id}/rollback", response_model=VersionPublic)
def rollback(faq_id: FaqId, body: Rollback, editor: CurrentEditor, svc: EditorDep) -> VersionPublic:
    return VersionPublic.of(svc.rollback(faq_id, body.version, editor.name))


@router.post("/try", response_model=DecisionPublic)
def try_it(body: TryIn, editor: CurrentEditor, svc: EditorDep) -> DecisionPublic:
    """The triage decision and top candidates for a question, against the drafts."""
    d = svc.try_text(body.text, body.with_drafts)
    j = d.to_json()
    return DecisionPublic(**j, answer=d.answer, reasons=d.reasons,
                          customer_view=svc.customer_view(body.text, d, body.with_drafts))


@router.get("/golden", response_model=list[GoldenPublic])
def list_golden(editor: CurrentEditor, svc: EditorDep) -> list[GoldenPublic]:
    known = svc.targets()
    return [GoldenPublic(**g.__dict__, stale=g.expected not in known) for g in svc.golden()]


@router.post("/golden", response_model=GoldenPublic, status_code=201)
def add_golden(body: GoldenIn, editor: CurrentEditor, svc: EditorDep) -> GoldenPublic:
    return GoldenPublic(**svc.add_golden(body.question, body.expected, editor.name).__dict__)


@router.put("/golden/{golden_id}", response_model=GoldenPublic)
def update_golden(golden_id: Annotated[str, Path(max_length=64)], body: GoldenIn, editor: CurrentEditor,
                  svc: EditorDep) -> GoldenPublic:
    """Change a golden question's text or the intent it must reach."""
    return GoldenPublic(**svc.update_golden(golden_id, body.question, body.expected, editor.name).__dict__)


@router.delete("/golden/{golden_id}", status_code=204)
def delete_golden(golden_id: Annotated[str, Path(max_length=64)], editor: CurrentEditor, svc: EditorDep) -> None:
    svc.delete_golden(golden_id, editor.name)


@router.get("/audit", response_model=list[AuditPublic])
def audit_log(editor: CurrentEditor, svc: EditorDep, target: str | None = None) -> list[AuditPublic]:
    return [AuditPublic(**a.__dict__) for a in svc.audit(target)]


# -- suggestions from conversations ---------------------------------------------------------------
def _signal(s) -> dict:
    return {"id": s.id, "kind": s.kind, "text": s.text, "label": s.label, "lang": s.lang, "count": s.count,
            "conversation_id": s.conversation_id}


@router.get("/suggestions")
def suggestions(editor: CurrentEditor, svc: EditorDep) -> dict:
    """What conversations taught, grouped: phrasings to add to an entry (approve some or all at
    once), and clusters of unanswered questions as candidate new entries with a draft."""
    found = LearningService(svc).suggestions()
    return {"phrasings": [{"label": p.label, "faq_id": p.faq_id, "title": p.title, "approvable": p.approvable,
                           "count": sum(s.count for s in p.signals), "signals": [_signal(s) for s in p.signals]}
                          for p in found.phrasings],
            "new_entries": [{"size": c.size, "draft": c.draft, "signals": [_signal(s) for s in c.signals]}
                            for c in found.new_entries]}


@router.post("/suggestions/approve")
def approve_suggestions(body: SuggestionApproval, editor: CurrentEditor, svc: EditorDep) -> dict:
    """Add the chosen questions to the entry, through the golden-set gate (409 with the broken
    golden questions if it refuses; the suggestions then stay open)."""
    version, added = LearningService(svc).approve(body.faq_id, body.signal_ids, editor.name)
    return {"faq_id": body.faq_id, "added": added, "version": VersionPublic.of(version).model_dump() if version else None}


@router.post("/suggestions/keep-for-training")
def keep_for_training(body: SuggestionDecision, editor: CurrentEditor, svc: EditorDep) -> dict:
    """Approve questions labelled with an intent as examples for the next retraining (`triage export`)."""
    return {"kept": LearningService(svc).keep_for_training(body.signal_ids, editor.name)}


@router.post("/suggestions/dismiss")
def dismiss_suggestions(body: SuggestionDecision, editor: CurrentEditor, svc: EditorDep) -> dict:
    """Dismiss suggestions for good (the same question seen again stays dismissed)."""
    return {"dismissed": LearningService(svc).dismiss(body.signal_ids, editor.name)}


# -- canned replies ---------------------------------------------------------------------------------
CannedId = Annotated[str, Path(pattern=r"^[a-z0-9_\-]{1,64}$")]


@router.get("/canned", response_model=list[CannedPublic])
def list_canned(editor: CurrentEditor, svc: EditorDep) -> list[CannedPublic]:
    return [CannedPublic.of(c) for c in svc.canned()]


@router.put("/canned/{canned_id}", response_model=CannedPublic)
def put_canned(canned_id: CannedId, body: CannedIn, editor: CurrentEditor, svc: EditorDep) -> CannedPublic:
    """Create or replace a canned reply agents insert with "/" in the console."""
    return CannedPublic.of(svc.put_canned(canned_id, body.title, body.text, body.lang, editor.name))


@router.delete("/canned/{canned_id}", status_code=204)
def delete_canned(canned_id: CannedId, editor: CurrentEditor, svc: EditorDep) -> None:
    svc.delete_canned(canned_id, editor.name)

// FAQ editor: search, edit in every language, draft → publish behind the golden-set gate,
// history with rollback, and "try it" against the drafts.
"use strict";
(async () => {
  const { api, el } = triage;
  const $ = id => document.getElementById(id);
  triage.header($("nav"), await triage.whoami());
  const languages = Object.keys(await api("/locales"));
  let current = null;

  async function refresh() {
    const q = $("search").value.trim();
    const res = await api(`/editor/faq${q ? `?q=${encodeURIComponent(q)}` : ""}`);
    const drafts = new Set(res.drafts);
    const ids = res.data.map(e => e.id);
    for (const d of drafts) if (!ids.includes(d) && (!q || d.includes(q))) ids.push(d);
    $("entries").replaceChildren(...ids.map(id => {
      const e = res.data.find(x => x.id === id);
      const title = e ? (e.titles?.en || e.titles?.["*"] || Object.values(e.titles || {})[0] || e.questions[0] || id) : id;
      return el("button", { type: "button", class: `ticket entry${current === id ? " active" : ""}`, "data-entry": id,
                            "aria-current": current === id ? "true" : null, onclick: () => open(id) },
        el("strong", {}, title), drafts.has(id) ? el("span", { class: "badge P1", style: "margin-left:.4rem" }, "draft") : null,
        el("div", { class: "meta" }, e ? id : `${id} · not published yet`));
    }));
  }

  function fill(entry) {
    $("titles").replaceChildren(...languages.map(code => el("div", {},
      el("label", { for: `title-${code}` }, `Title shown on “Did you mean…?” buttons (${code})`),
      el("input", { id: `title-${code}`, maxlength: "120", value: entry?.titles?.[code] || "" }))));
    $("questions").value = (entry?.questions || []).join("\n");
    $("answers").replaceChildren(...languages.map(code => el("div", {},
      el("label", { for: `answer-${code}` }, `Answer (${code})`),
      el("textarea", { id: `answer-${code}`, rows: 3 }, entry?.answers?.[code] || ""))));
    $("priority").value = entry?.priority || "P2";
    $("complexity").value = entry?.complexity || "simple";
    $("tags").value = (entry?.tags || []).join(", ");
  }

  function body() {
    const answers = {};
    for (const code of languages) { const v = $(`answer-${code}`).value.trim(); if (v) answers[code] = v; }
    const titles = {};
    for (const code of languages) { const v = $(`title-${code}`).value.trim(); if (v) titles[code] = v; }
    return { titles, questions: $("questions").value.split("\n").map(s => s.trim()).filter(Boolean), answers,
             priority: $("priority").value, complexity: $("complexity").value,
             tags: $("tags").value.split(",").map(s => s.trim()).filter(Boolean) };
  }

  function result(kind, ...children) {
    $("result").className = kind; $("result").replaceChildren(...children);
  }

  // What a version changed against the one before it: phrasings and answers added and removed.
  function diff(before, after) {
    if (!after) return [el("span", { class: "diff-del" }, "entry deleted")];
    const out = [];
    const was = new Set(before?.questions || []), now = new Set(after.questions);
    for (const q of after.questions) if (!was.has(q)) out.push(el("div", { class: "diff-add" }, `+ “${q}”`));
    for (const q of was) if (!now.has(q)) out.push(el("div", { class: "diff-del" }, `− “${q}”`));
    for (const code of new Set([...Object.keys(before?.answers || {}), ...Object.keys(after.answers)])) {
      const a = before?.answers?.[code], b = after.answers[code];
      if (a !== b) out.push(el("div", {}, `answer (${code}): `, a ? el("span", { class: "diff-del" }, a) : null, " ",
                                 b ? el("span", { class: "diff-add" }, b) : null));
    }
    for (const k of ["priority", "complexity"]) if (before && before[k] !== after[k]) out.push(el("div", {}, `${k}: ${before[k]} → ${after[k]}`));
    return out.length ? out : [el("span", { class: "muted" }, before ? "no change in phrasings or answers" : "first version")];
  }

  function history(detail) {
    if (!detail.versions.length) { $("history").replaceChildren(el("p", { class: "muted" }, "As trained; no edits yet.")); return; }
    const published = detail.versions.filter(v => v.kind !== "draft");
    $("history").replaceChildren(el("table", {},
      el("tr", {}, el("th", {}, "version"), el("th", {}, "what changed"), el("th", {}, "by, when"), el("th", {})),
      detail.versions.slice().reverse().map(v => {
        const prev = published.filter(p => p.version < v.version).pop();
        const before = prev ? prev.entry : detail.trained;
        return el("tr", { "data-version": v.version },
          el("td", {}, `${v.version} (${v.kind})`), el("td", { class: "diff" }, diff(before, v.entry)),
          el("td", {}, `${v.author}, ${new Date(v.created_at * 1000).toLocaleString()}`),
          el("td", {}, v.kind === "draft" ? null : el("button", { type: "button", "data-rollback": v.version,
            onclick: () => rollback(v.version) }, "Roll back to this")));
      }),
      el("tr", {}, el("td", {}, "0"), el("td", {}, "as trained"), el("td", {}),
        el("td", {}, el("button", { type: "button", "data-rollback": 0, onclick: () => rollback(0) }, "Roll back to this")))));
  }

  async function open(id) {
    current = id;
    let detail;
    try { detail = await api(`/editor/faq/${encodeURIComponent(id)}`); }
    catch (e) { if (e.status !== 404) throw e; detail = { id, live: null, draft: null, versions: [] }; }
    $("placeholder").classList.add("hidden"); $("form").classList.remove("hidden"); $("result").className = "hidden";
    $("entry-id").textContent = id;
    $("entry-status").textContent = detail.draft ? "unpublished draft (shown)" : detail.live ? "live" : "new entry";
    fill(detail.draft?.entry || detail.live);
    history(detail);
    protectedBy();
    refresh();
  }

  async function guarded(fn, done, draftKept = false) {
    try { await fn(); result("success", done); await open(current); result("success", done); }
    catch (e) {
      if (e.status === 409 && e.body?.broken) {
        // Each broken golden question with the fix that usually applies.
        const fix = b => b.got === b.expected
          ? el("span", { class: "muted fix-hint" }, ` Fix: this change sends it down another route (${b.route} instead of
              ${b.route_before}): check the priority and complexity.`)
          : b.expected === `faq/${current}`
          ? el("button", { type: "button", class: "fix", onclick: () => {
              $("questions").value = `${$("questions").value.trim()}\n${b.question}`.trim();
              $("questions").focus(); } }, `Add “${b.question}” as a phrasing of this entry`)
          : el("span", { class: "muted" }, ` Fix: keep phrasings that sound like it out of this entry, or, if it should now
              reach this entry, `, el("button", { type: "button", class: "fix", onclick: async () => {
                await api(`/editor/golden/${b.golden_id}`, { method: "PUT", body: { question: b.question, expected: `faq/${current}` } });
                result("success", "Golden question updated: publish again."); golden(); } },
              `update the golden question to expect ${current}`));
        result("error", el("strong", {}, "Refused by the golden-set gate: "), e.message,
          el("ul", {}, e.body.broken.map(b => el("li", {},
            `“${b.question}” must reach ${b.expected} (now: ${b.route_before}); after this change: ${b.got} (${b.route}). `,
            fix(b)))),
          el("p", { class: "muted" }, draftKept ? "Nothing was published; your edit is kept as a draft." : "Nothing changed."));
        if (draftKept) { $("entry-status").textContent = "unpublished draft (refused)"; refresh(); }
      } else result("error", e.message);
    }
  }

  $("save-draft").addEventListener("click", () => guarded(
    () => api(`/editor/faq/${encodeURIComponent(current)}/draft`, { method: "PUT", body: body() }), "Draft saved. It is not live until published."));
  $("publish").addEventListener("click", () => guarded(async () => {
    await api(`/editor/faq/${encodeURIComponent(current)}/draft`, { method: "PUT", body: body() });
    await api(`/editor/faq/${encodeURIComponent(current)}/publish`, { method: "POST" });
  }, "Published: live now, no retraining needed.", true));
  $("delete").addEventListener("click", () => {
    if (confirm(`Delete ${current}?`)) guarded(() => api(`/editor/faq/${encodeURIComponent(current)}`, { method: "DELETE" }), "Deleted.");
  });
  const rollback = v => {
    if (!confirm(`Roll ${current} back to ${v === 0 ? "the trained version" : `version ${v}`}? It is published at once.`)) return;
    guarded(() => api(`/editor/faq/${encodeURIComponent(current)}/rollback`, { method: "POST", body: { version: v } }),
            `Rolled back to version ${v}.`);
  };

  // A new entry's id comes from its title (lower case words joined by "_"; a number added when
  // the id is taken); editors never type one.
  function idFrom(title, taken) {
    const base = (title.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "")
                  .slice(0, 60)) || "entry";
    let id = base, n = 2;
    while (taken.has(id)) id = `${base}_${n++}`;
    return id;
  }
  $("new-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    const title = $("new-title").value.trim();
    if (!title) { $("new-title").focus(); return; }
    const res = await api("/editor/faq");
    const id = idFrom(title, new Set([...res.data.map(e => e.id), ...res.drafts]));
    $("new-title").value = "";
    await open(id);
    $("title-en").value = title;
    $("questions").value = title;
  });
  let timer = null;
  $("search").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 200); });

  $("try-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    const text = $("try-text").value.trim();
    if (!text) return;
    try {
      const d = await api("/editor/try", { method: "POST", body: { text, with_drafts: $("try-drafts").checked } });
      // What the customer would see first; the technical details folded away.
      $("try-result").replaceChildren(
        el("div", { class: "customer-view", id: "customer-view", "aria-label": "What the customer sees" },
          el("div", { class: "msg user" }, text),
          ...d.customer_view.flatMap(r => [el("div", { class: "msg bot" }, r.text),
            r.buttons.length ? el("div", { class: "choices" }, r.buttons.map(b => el("span", { class: "chip" }, b))) : null])),
        el("details", {}, el("summary", {}, "Technical details"),
          el("p", { id: "try-route" }, el("strong", {}, d.route), ` · ${d.intent || "no intent"} · confidence ${d.confidence.toFixed(2)} · ${d.priority}`),
          el("table", {}, d.candidates.map(c => el("tr", {}, el("td", {}, c.intent), el("td", {}, c.confidence.toFixed(2))))),
          el("div", { class: "muted" }, d.reasons.join(" · "))));
    } catch (e) { $("try-result").replaceChildren(el("p", { class: "error" }, e.message)); }
  });

  // -- suggestions from conversations -------------------------------------------------------------
  function refusal(e) {
    if (e.status === 409 && e.body?.broken)
      return [el("strong", {}, "Refused by the golden-set gate: "), e.message,
        el("ul", {}, e.body.broken.map(b => el("li", {}, `“${b.question}” must reach ${b.expected}; with these phrasings: ${b.got}`)))];
    return [e.message];
  }

  function checks(signals) {
    return el("ul", { class: "plain" }, signals.map(sg => el("li", {}, el("label", {},
      el("input", { type: "checkbox", checked: true, value: sg.id, style: "width:auto" }), ` ${sg.text}`,
      sg.count > 1 ? el("span", { class: "muted" }, ` ×${sg.count}`) : null))));
  }

  const picked = box => [...box.querySelectorAll("input[type=checkbox]:checked")].map(c => c.value);

  async function decide(path, body, done) {
    try { const r = await api(path, { method: "POST", body }); $("suggestions-result").replaceChildren(el("p", { class: "success" }, done(r))); }
    catch (e) { $("suggestions-result").replaceChildren(el("div", { class: "error" }, ...refusal(e))); return; }
    await suggestions(); refresh();
  }

  async function suggestions() {
    const s = await api("/editor/suggestions");
    const groups = s.phrasings.map(g => {
      const box = el("div", { class: "suggestion", "data-suggestion": g.label });
      box.append(el("h4", {}, g.approvable ? `Add to “${g.title}” (${g.faq_id})` : `Examples for the intent ${g.label}`),
        checks(g.signals),
        g.approvable ? null : el("p", { class: "muted" }, "Intents learn from these at the next retraining (triage export)."),
        el("div", { class: "row" },
          g.approvable ? el("button", { type: "button", class: "primary", onclick: () => decide("/editor/suggestions/approve",
            { faq_id: g.faq_id, signal_ids: picked(box) }, r => `Added ${r.added.length} phrasing(s) to ${g.faq_id}: live now.`) },
            "Approve selected") : el("button", { type: "button", class: "primary", onclick: () => decide(
            "/editor/suggestions/keep-for-training", { signal_ids: picked(box) },
            r => `Kept ${r.kept} example(s) for the next retraining.`) }, "Keep for retraining"),
          el("button", { type: "button", onclick: () => decide("/editor/suggestions/dismiss", { signal_ids: picked(box) },
            r => `Dismissed ${r.dismissed}.`) }, "Dismiss selected")));
      return box;
    });
    const clusters = s.new_entries.map(c => {
      const box = el("div", { class: "suggestion", "data-cluster": c.draft.id });
      box.append(el("h4", {}, `${c.size} unanswered: “${c.draft.title}”`), checks(c.signals),
        el("div", { class: "row" },
          el("button", { type: "button", onclick: () => { open(c.draft.id).then(() => {
            $("questions").value = c.signals.filter(sg => picked(box).includes(sg.id)).map(sg => sg.text).join("\n");
            $("entry-status").textContent = "new entry from suggestions: write the answer, then publish"; }); } },
            "Draft a new entry"),
          el("button", { type: "button", onclick: () => decide("/editor/suggestions/dismiss", { signal_ids: picked(box) },
            r => `Dismissed ${r.dismissed}.`) }, "Dismiss selected")));
      return box;
    });
    $("suggestions").replaceChildren(...(groups.length || clusters.length ? [...groups, ...clusters]
      : [el("p", { class: "muted" }, "Nothing to review.")]));
  }
  $("suggestions-refresh").addEventListener("click", suggestions);

  // -- golden questions -------------------------------------------------------------------------
  let goldens = [];
  async function golden() {
    goldens = await api("/editor/golden");
    const entries = (await api("/editor/faq")).data;
    $("targets").replaceChildren(...["out_of_scope", ...entries.map(e => `faq/${e.id}`)].map(v => el("option", { value: v })));
    $("golden").replaceChildren(el("tr", {}, el("th", {}, "question"), el("th", {}, "must reach"), el("th", {}, "")),
      ...(goldens.length ? goldens.map(g => {
        const q = el("input", { value: g.question, "aria-label": "Golden question" });
        const ex = el("input", { value: g.expected, list: "targets", "aria-label": "It must reach" });
        return el("tr", { "data-golden": g.id },
          el("td", {}, q), el("td", {}, ex, g.stale ? el("span", { class: "error" }, " no longer exists") : null),
          el("td", {}, el("div", { class: "row" },
            el("button", { type: "button", onclick: () => goldenAct(() => api(`/editor/golden/${g.id}`,
              { method: "PUT", body: { question: q.value.trim(), expected: ex.value.trim() } }), "Saved.") }, "Save"),
            el("button", { type: "button", class: "danger", onclick: () => {
              if (confirm(`Remove the golden question “${g.question}”?`))
                goldenAct(() => api(`/editor/golden/${g.id}`, { method: "DELETE" }), "Removed.");
            } }, "Remove"))));
      }) : [el("tr", {}, el("td", { colspan: 3, class: "muted" }, "No golden questions: the gate protects nothing."))]));
    protectedBy();
  }
  async function goldenAct(fn, done) {
    try { await fn(); $("golden-result").replaceChildren(el("p", { class: "success" }, done)); }
    catch (e) { $("golden-result").replaceChildren(el("p", { class: "error" }, e.message)); }
    await golden();
  }
  // Which golden questions protect the entry open in the form.
  function protectedBy() {
    if (!current) return;
    const mine = goldens.filter(g => g.expected === `faq/${current}`);
    $("protected").textContent = mine.length ? `Protected by ${mine.length} golden question${mine.length > 1 ? "s" : ""}: ` +
      mine.map(g => `“${g.question}”`).join(", ") : "No golden question protects this entry yet.";
  }
  $("golden-form").addEventListener("submit", ev => {
    ev.preventDefault();
    const question = $("golden-question").value.trim(), expected = $("golden-expected").value.trim();
    if (!question || !expected) return;
    goldenAct(async () => {
      await api("/editor/golden", { method: "POST", body: { question, expected } });
      $("golden-question").value = ""; $("golden-expected").value = "";
    }, "Added.");
  });

  // -- canned replies (for agents) -------------------------------------------------------------
  async function cannedList() {
    const list = await api("/editor/canned");
    $("canned-list").replaceChildren(el("tr", {}, el("th", {}, "title"), el("th", {}, "text"), el("th", {})),
      ...(list.length ? list.map(c => el("tr", { "data-canned": c.id }, el("td", {}, c.title), el("td", {}, c.text),
        el("td", {}, el("button", { type: "button", class: "danger", onclick: async () => {
          if (!confirm(`Delete the canned reply “${c.title}”?`)) return;
          await api(`/editor/canned/${c.id}`, { method: "DELETE" }); cannedList(); } }, "Delete"))))
        : [el("tr", {}, el("td", { colspan: 3, class: "muted" }, "No canned replies yet."))]));
  }
  $("canned-form").addEventListener("submit", async ev => {
    ev.preventDefault();
    const title = $("canned-name").value.trim(), text = $("canned-text").value.trim();
    if (!title || !text) return;
    const id = (title.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60)) || "reply";
    try {
      await api(`/editor/canned/${id}`, { method: "PUT", body: { title, text } });
      $("canned-name").value = ""; $("canned-text").value = "";
      $("canned-result").replaceChildren(el("p", { class: "success" }, "Saved: agents can insert it with “/”."));
    } catch (e) { $("canned-result").replaceChildren(el("p", { class: "error" }, e.message)); }
    cannedList();
  });

  // Screens: the entries (with "try it", history and suggestions), golden questions, canned replies.
  function screen() {
    const which = { "#golden": "golden", "#canned": "canned" }[location.hash] || "entries";
    for (const name of ["entries", "golden", "canned"]) {
      $(`${name}-screen`).classList.toggle("hidden", name !== which);
      $(`tab-${name}`).toggleAttribute("aria-current", name === which);
    }
    if (which === "golden") golden();
    if (which === "canned") cannedList();
  }
  window.addEventListener("hashchange", screen);
  screen();

  refresh();
  suggestions();
  golden();
})();

// Dashboard: figures counted from the database, refreshed every 15 s, and the latest evaluation.
"use strict";
(async () => {
  const { api, el, duration } = triage;
  const $ = id => document.getElementById(id);
  triage.header($("nav"), await triage.whoami());
  const pct = x => x === null || x === undefined ? "—" : `${(100 * x).toFixed(1)}%`;
  const colours = { P0: "var(--p0)", P1: "var(--p1)", P2: "var(--p2)", answered: "var(--ok)", "asked to confirm": "var(--p1)",
                    "handed to a person": "var(--p0)" };

  function bars(counts) {
    const max = Math.max(1, ...Object.values(counts));
    return el("table", {}, Object.entries(counts).map(([k, v]) => el("tr", {},
      el("td", { style: "width:5rem" }, k),
      el("td", {}, el("div", { class: "bar", style: `width:${(100 * v / max).toFixed(1)}%;background:${colours[k] || "var(--p2)"}` })),
      el("td", { style: "width:3rem;text-align:right" }, v))));
  }

  function figureValue(f) {
    if (f.value === null || f.value === undefined) return "—";
    if (f.key === "csat") return `${f.value.toFixed(2)} / 5`;
    if (f.key === "peak_response") return duration(f.value);
    return pct(f.value);
  }
  function figureTarget(f) {
    if (f.target === null || f.target === undefined) return "";
    return `target ${f.key === "csat" ? f.target.toFixed(1) : f.key === "peak_response" ? duration(f.target) : pct(f.target)}`;
  }
  function figureDetail(f) {
    const d = f.detail || {};
    if (f.key === "csat") return `bot ${d.bot?.mean ?? "—"} (${d.bot?.n || 0}) · agents ${d.agents?.mean ?? "—"} (${d.agents?.n || 0}) · ` +
      Object.entries(d.distribution || {}).map(([k, v]) => `${k}★ ${v}`).join(" ");
    if (f.key === "peak_response") return d.busiest_hour === undefined ? "no human replies" :
      `busiest hour ${String(d.busiest_hour).padStart(2, "0")}:00 (${d.tickets_opened} tickets) · p95 ${d.p95 === null ? "—" : duration(d.p95)}`;
    if (f.key === "first_contact_resolution") return `${d.repeats || 0} came back within the window`;
    return "";
  }

  async function showConversation(id) {
    const c = await api(`/dashboard/conversations/${encodeURIComponent(id)}`);
    $("behind-transcript").replaceChildren(el("h4", {}, `Conversation ${id} (${c.state})`),
      el("div", { class: "transcript", tabindex: "0" }, c.messages.map(m => el("div", { class: `msg ${m.role}` }, m.text))));
  }

  function showBehind(f) {
    $("behind").classList.remove("hidden");
    $("behind-title").textContent = `${f.label}: the conversations that count against it`;
    $("behind-transcript").replaceChildren();
    $("behind-list").replaceChildren(f.conversations.length ? el("ul", {}, f.conversations.map(id => el("li", {},
      el("button", { type: "button", class: "link", onclick: () => showConversation(id) }, id))))
      : el("p", { class: "muted" }, "None."));
  }

  function figures(list) {
    $("figures").replaceChildren(...list.map(f => el("div", { class: "card kpi", "data-figure": f.key },
      el("div", { class: "muted" }, f.label),
      el("div", { class: "value" }, figureValue(f)),
      el("div", { class: f.on_target === false ? "below" : "muted" },
        [figureTarget(f), f.on_target === true ? " · on target" : f.on_target === false ? " · below target" : ""].join("")),
      el("div", { class: "muted" }, figureDetail(f)),
      el("button", { type: "button", class: "link", onclick: () => showBehind(f) },
        `${f.n} counted · ${f.conversations.length} to look at`))));
  }

  let staffing = [], weekdays = [];
  function staffTable() {
    const team = staffing.find(t => t.team === $("staff-team").value) || staffing[0];
    if (!team) { $("staffing").replaceChildren(el("p", { class: "muted" }, "No teams.")); return; }
    const head = el("tr", {}, el("th", {}, ""), [...Array(24).keys()].map(h => el("th", { scope: "col" }, String(h).padStart(2, "0"))));
    const rows = weekdays.map((day, d) => el("tr", {}, el("th", { scope: "row" }, day), [...Array(24).keys()].map(h => {
      const need = team.agents_needed[d][h], staffed = team.staffed[d][h];
      const demand = Object.entries(team.demand).map(([p, m]) => `${p} ${m[d][h]}/h`).join(", ");
      return el("td", { class: `${staffed ? "staffed" : ""}${need && !staffed ? " short" : ""}`,
        title: `${day} ${h}:00 — tickets ${demand}; agents needed ${need}; ${staffed ? "team working" : "team off"}` }, need || "");
    })));
    $("staffing").replaceChildren(el("table", { class: "heat" }, head, rows),
      el("p", { class: "muted" }, `Handle time used: ${Object.entries(team.handle_seconds).map(([p, v]) => `${p} ${duration(v)}`).join(" · ")}`));
  }

  const ROUTE_WORDS = { answer: "answered", confirm: "asked to confirm", escalate: "handed to a person" };
  const PLOT_ALT = {
    "risk_coverage.png": "Risk–coverage curve: the share of questions answered (x) against how many of those answers were right (y), as the answer threshold moves; the red dot is the threshold in use.",
    "confusion_matrix.png": "Confusion matrix: for each true intent (rows), the share of its test questions predicted as each intent (columns); a dark diagonal means few mix-ups.",
  };

  // Day by day: bars of conversations per day (the darker part: handled without a person), with
  // the numbers in words for screen readers and a table beside.
  function trendChart(days) {
    const w = 640, h = 140, pad = 20, max = Math.max(1, ...days.map(d => d.conversations));
    const bw = Math.max(2, (w - pad) / Math.max(1, days.length) - 2);
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${w} ${h + 20}`); svg.setAttribute("role", "img"); svg.setAttribute("class", "trend");
    const total = days.reduce((a, d) => a + d.conversations, 0), contained = days.reduce((a, d) => a + d.contained, 0);
    const peak = days.reduce((a, d) => d.conversations > a.conversations ? d : a, days[0] || { conversations: 0 });
    svg.setAttribute("aria-label", days.length ? `Conversations per day over ${days.length} days: ${total} in all, ` +
      `${contained} handled without a person; the busiest day ${peak.day} with ${peak.conversations}.` : "No days.");
    days.forEach((d, i) => {
      const x = pad + i * (bw + 2);
      for (const [v, cls] of [[d.conversations, "all"], [d.contained, "contained"]]) {
        const r = document.createElementNS(ns, "rect"), bh = h * v / max;
        r.setAttribute("x", x); r.setAttribute("y", h - bh); r.setAttribute("width", bw); r.setAttribute("height", bh);
        r.setAttribute("class", cls); svg.append(r);
      }
    });
    return svg;
  }

  function people(rows, kind) {
    const head = el("tr", {}, el("th", {}, kind), el("th", {}, kind === "team" ? "tickets" : "resolved"),
      el("th", {}, "median first reply"), el("th", {}, "median handling"), el("th", {}, kind === "team" ? "late" : "rating"));
    return [head, ...(rows.length ? rows.map(p => el("tr", {}, el("td", {}, p.name),
      el("td", {}, kind === "team" ? `${p.tickets} (${p.resolved} resolved)` : p.resolved),
      el("td", {}, p.median_first_reply_seconds === null ? "—" : duration(p.median_first_reply_seconds)),
      el("td", {}, p.median_handle_seconds === null ? "—" : duration(p.median_handle_seconds)),
      el("td", {}, kind === "team" ? p.breaches : (p.csat_mean === null ? "—" : `${p.csat_mean} / 5 (${p.ratings})`))))
      : [el("tr", {}, el("td", { colspan: 5, class: "muted" }, "Nothing in this period."))])];
  }

  async function load() {
    const s = await api(`/dashboard/stats?days=${$("days").value}`);
    const days = s.trends || [];
    $("trend-chart").replaceChildren(trendChart(days));
    $("trends").replaceChildren(el("tr", {}, el("th", {}, "day"), el("th", {}, "conversations"),
      el("th", {}, "without a person"), el("th", {}, "handed over"), el("th", {}, "rating")),
      ...days.map(d => el("tr", {}, el("td", {}, d.day), el("td", {}, d.conversations), el("td", {}, d.contained),
        el("td", {}, d.escalations), el("td", {}, d.csat_mean === null ? "—" : `${d.csat_mean} (${d.ratings})`))));
    $("teams").replaceChildren(...people(s.teams || [], "team"));
    $("agents").replaceChildren(...people(s.agents || [], "agent"));
    $("unanswered").replaceChildren(...((s.unanswered || []).length ? s.unanswered.map(u => el("li", {},
      `“${u.text}”`, u.count > 1 ? el("span", { class: "muted" }, ` ×${u.count}`) : null))
      : [el("li", { class: "muted" }, "None waiting.")]));
    figures(s.figures || []);
    staffing = s.staffing || []; weekdays = s.weekdays || [];
    const chosen = $("staff-team").value;
    $("staff-team").replaceChildren(...staffing.map(t => el("option", { value: t.team }, t.team)));
    if (chosen) $("staff-team").value = chosen;
    staffTable();
    $("containment").textContent = pct(s.containment_rate);
    $("containment-detail").textContent = `${s.contained} of ${s.conversations} conversations without a person`;
    const esc = Object.values(s.escalations).reduce((a, b) => a + b, 0);
    $("escalations").textContent = esc;
    $("escalation-bars").replaceChildren(bars(s.escalations));
    const br = Object.values(s.breaches).reduce((a, b) => a + b, 0);
    $("breaches").textContent = br;
    $("breach-detail").textContent = Object.entries(s.breaches).map(([k, v]) => `${k}: ${v}`).join(" · ");
    $("wait").textContent = s.median_wait_seconds === null ? "—" : duration(s.median_wait_seconds);
    $("waiting").textContent = `${s.waiting} waiting now`;
    $("routes").replaceChildren(bars(Object.fromEntries(Object.entries(s.routes).map(([k, v]) => [ROUTE_WORDS[k] || k, v]))));
    const paging = s.oncall_paging || [];
    $("oncall").classList.toggle("hidden", paging.length === 0);
    $("oncall").textContent = paging.length === 0 ? "" :
      `On-call paged: ${paging.length} urgent ticket${paging.length > 1 ? "s" : ""} waiting outside working hours ` +
      `(longest ${duration(Math.max(...paging.map(p => p.waiting_seconds)))}). Paging repeats until claimed.`;
    $("busiest").replaceChildren(el("tr", {}, el("th", {}, "topic"), el("th", {}, "questions"), el("th", {}, "handed to a person")),
      ...(s.busiest.length ? s.busiest.map(b => el("tr", {}, el("td", { title: b.intent }, b.title || b.intent), el("td", {}, b.messages), el("td", {}, b.escalated)))
                           : [el("tr", {}, el("td", { colspan: 3, class: "muted" }, "No messages in this period."))]));
  }

  async function report() {
    try {
      const r = await api("/dashboard/report");
      $("report-name").textContent = `(${r.name})`;
      const s = r.summary;
      $("report-summary").textContent = [["in-scope accuracy", s.in_scope_accuracy], ["out-of-scope recall", s.out_of_scope_recall],
        ["answer coverage", s.answer_coverage], ["answer precision", s.answer_precision], ["P0 recall", s.p0_recall]]
        .filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${pct(v)}`).join(" · ") + ` · n = ${s.n}`;
      $("plots").replaceChildren(...r.plots.map(src => el("figure", {},
        el("img", { src, alt: PLOT_ALT[src.split("/").pop()] || `Evaluation plot ${src.split("/").pop()}`,
                    "data-plot": src.split("/").pop() }))));
    } catch (e) {
      $("report-summary").textContent = e.status === 404 ? e.message : `Could not load the report: ${e.message}`;
    }
  }

  $("days").addEventListener("change", load);
  $("staff-team").addEventListener("change", staffTable);
  await Promise.all([load(), report()]);
  setInterval(load, 15000);
})();

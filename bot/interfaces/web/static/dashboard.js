// Dashboard: figures counted from the database, refreshed every 15 s, and the latest evaluation.
"use strict";
(async () => {
  const { api, el, duration } = triage;
  const $ = id => document.getElementById(id);
  triage.header($("nav"), await triage.whoami());
  const pct = x => x === null || x === undefined ? "—" : `${(100 * x).toFixed(1)}%`;
  const colours = { P0: "var(--p0)", P1: "var(--p1)", P2: "var(--p2)", answer: "var(--ok)", confirm: "var(--p1)", escalate: "var(--p0)" };

  function bars(counts) {
    const max = Math.max(1, ...Object.values(counts));
    return el("table", {}, Object.entries(counts).map(([k, v]) => el("tr", {},
      el("td", { style: "width:5rem" }, k),
      el("td", {}, el("div", { class: "bar", style: `width:${(100 * v / max).toFixed(1)}%;background:${colours[k] || "var(--p2)"}` })),
      el("td", { style: "width:3rem;text-align:right" }, v))));
  }

  async function load() {
    const s = await api(`/dashboard/stats?days=${$("days").value}`);
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
    $("routes").replaceChildren(bars(s.routes));
    const paging = s.oncall_paging || [];
    $("oncall").classList.toggle("hidden", paging.length === 0);
    $("oncall").textContent = paging.length === 0 ? "" :
      `On-call paged: ${paging.length} urgent ticket${paging.length > 1 ? "s" : ""} waiting outside working hours ` +
      `(longest ${duration(Math.max(...paging.map(p => p.waiting_seconds)))}). Paging repeats until claimed.`;
    $("busiest").replaceChildren(el("tr", {}, el("th", {}, "intent"), el("th", {}, "messages"), el("th", {}, "escalated")),
      ...(s.busiest.length ? s.busiest.map(b => el("tr", {}, el("td", {}, b.intent), el("td", {}, b.messages), el("td", {}, b.escalated)))
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
      $("plots").replaceChildren(...r.plots.map(src => el("img", { src, alt: src.split("/").pop() })));
    } catch (e) {
      $("report-summary").textContent = e.status === 404 ? e.message : `Could not load the report: ${e.message}`;
    }
  }

  $("days").addEventListener("change", load);
  await Promise.all([load(), report()]);
  setInterval(load, 15000);
})();

// Agent console: live queue (server-sent events), claim, conversation + handoff packet, actions.
"use strict";
(async () => {
  const { api, listen, el, duration } = triage;
  const me = await triage.whoami();
  triage.header(document.getElementById("nav"), me);
  let board = { queue: [], mine: [], now: Date.now() / 1000 }, offset = 0;
  let current = null, lastSeq = 0, stream = null;
  const seen = new Set();
  const $ = id => document.getElementById(id);

  const teams = await api("/agent/teams");
  $("team").replaceChildren(...teams.map(t => el("option", { value: t }, t)));

  function countdown(t) {
    const left = t.due_at - (Date.now() / 1000 + offset);
    return el("span", { class: `countdown${left < 0 ? " late" : ""}`, "data-due": t.due_at }, duration(left));
  }

  function card(t, mine) {
    return el("div", { class: `ticket prio-${t.priority}${current && current.id === t.id ? " active" : ""}`,
                       "data-ticket": t.id, onclick: () => mine ? open(t.id) : claim(t.id) },
      el("div", { class: "row" }, el("span", { class: `badge ${t.priority}` }, t.priority),
        el("span", {}, t.intent || t.domain || "conversation"), countdown(t)),
      el("div", { class: "meta" }, `${t.language || "?"} · team ${t.team}${t.domain ? ` · ${t.domain}` : ""}` +
        `${t.breached ? " · SLA breached" : ""}`,
        mine ? "" : " · click to claim"));
  }

  function renderBoard() {
    $("queue").replaceChildren(...(board.queue.length ? board.queue.map(t => card(t, false))
                                  : [el("p", { class: "muted" }, "The queue is empty.")]));
    $("mine").replaceChildren(...(board.mine.length ? board.mine.map(t => card(t, true))
                                 : [el("p", { class: "muted" }, "None.")]));
    $("queue-count").textContent = `${board.queue_total ?? board.queue.length} waiting`;
  }

  setInterval(() => {
    document.querySelectorAll("[data-due]").forEach(n => {
      const left = Number(n.dataset.due) - (Date.now() / 1000 + offset);
      n.textContent = duration(left);
      n.classList.toggle("late", left < 0);
    });
  }, 1000);

  function msg(m) {
    if (seen.has(m.seq)) return;
    seen.add(m.seq); lastSeq = Math.max(lastSeq, m.seq);
    $("transcript").append(el("div", { class: `msg ${m.role}` },
      m.role === "agent" ? el("span", { class: "who" }, m.author || "agent") : null, m.text));
    $("transcript").scrollTop = $("transcript").scrollHeight;
  }

  // One step of what the bot tried, in words.
  function tried(x) {
    if (typeof x === "string") return x;
    if (x.user_said !== undefined)
      return `user said “${x.user_said}” → ${x.route}${x.intent ? ` (${x.intent}, ${Number(x.confidence ?? 0).toFixed(2)})` : ""}`;
    if (x.offered !== undefined)
      return x.as === "did_you_mean" ? `asked “Did you mean…?”: ${[].concat(x.offered).join(", ")}`
           : x.part ? `answered part “${x.part}” with ${x.offered}` : `answered with ${x.offered}`;
    if (x.user !== undefined) return `user: ${x.user}`;
    return JSON.stringify(x);
  }

  function packet(p) {
    const rows = [];
    $("solved-by-options").replaceChildren(...[p.intent, ...(p.candidates || []).map(c => c.intent)]
      .filter(Boolean).filter((x, i, all) => all.indexOf(x) === i).map(x => el("option", { value: x })));
    rows.push(el("p", {}, el("strong", {}, "Why a person: "), p.reason || "—"));
    if (p.intent) rows.push(el("p", {}, el("strong", {}, "Intent: "), p.intent));
    rows.push(el("p", {}, el("strong", {}, "Predicted priority: "), p.predicted_priority || "—"));
    for (const r of p.priority_reasons || []) rows.push(el("p", { class: "muted" }, r));
    if ((p.candidates || []).length) {
      rows.push(el("h4", {}, "Candidates"));
      rows.push(el("table", {}, el("tr", {}, el("th", {}, "intent"), el("th", {}, "confidence")),
        p.candidates.map(c => el("tr", {}, el("td", {}, c.intent), el("td", {}, (c.confidence ?? 0).toFixed(2))))));
    }
    rows.push(el("h4", {}, "What the bot tried"));
    rows.push((p.tried || []).length ? el("ul", {}, p.tried.map(x => el("li", {}, tried(x))))
                                     : el("p", { class: "muted" }, "Nothing: it went straight to a person."));
    if (p.suggested_reply) {
      rows.push(el("h4", {}, "Suggested reply"));
      rows.push(el("div", { class: "notice", id: "suggestion" }, p.suggested_reply));
      rows.push(el("button", { type: "button", id: "use-suggestion",
                               onclick: () => { $("reply").value = p.suggested_reply; $("reply").focus(); } }, "Use suggestion"));
    }
    $("packet").replaceChildren(...rows);
  }

  function follow() {
    stream?.stop();
    stream = listen(() => `/agent/events?after=${lastSeq}` + (current ? `&ticket=${current.id}` : ""), (name, data) => {
      $("live").textContent = "live";
      if (name === "board") {
        board = data; offset = data.now - Date.now() / 1000; renderBoard(); loadIncidents();
        if (current && !data.mine.some(t => t.id === current.id)) closeDetail();
      }
      if (name === "message" && current) msg(data);
    });
  }

  // Incidents: a burst of one problem. Staff confirm it, or dismiss a false alarm (the users it
  // answered with its status then get tickets of their own).
  async function loadIncidents() {
    const list = (await api("/agent/incidents").catch(() => [])).filter(i => i.status !== "dismissed").slice(0, 5);
    $("incidents").replaceChildren(...(list.length ? list.map(i => el("div", { class: "ticket prio-P0", "data-incident": i.id },
      el("div", { class: "row" }, el("strong", {}, i.intent), el("span", { class: "muted" },
        `${i.conversations.length} conversations · ${i.status}`)),
      el("div", { class: "row" },
        i.status === "open" ? el("button", { type: "button", class: "confirm-incident",
          onclick: () => act(async () => { await api(`/agent/incidents/${i.id}/confirm`, { method: "POST" }); loadIncidents(); }) }, "Confirm") : null,
        el("button", { type: "button", class: "danger dismiss-incident",
          onclick: () => act(async () => { await api(`/agent/incidents/${i.id}/dismiss`, { method: "POST" }); loadIncidents(); }) }, "Dismiss"))))
      : [el("p", { class: "muted" }, "None.")]));
  }

  function closeDetail() {
    current = null;
    $("ticket").classList.add("hidden"); $("placeholder").classList.remove("hidden");
    follow();
  }

  async function open(id) {
    const d = await api(`/agent/tickets/${id}`);
    current = d; lastSeq = 0; seen.clear();
    $("placeholder").classList.add("hidden"); $("ticket").classList.remove("hidden");
    $("t-prio").className = `badge ${d.priority}`; $("t-prio").textContent = d.priority;
    $("t-title").textContent = d.packet.intent || d.domain || "Conversation";
    $("t-meta").textContent = `${d.language || "?"} · team ${d.team}`;
    $("t-due").replaceChildren(countdown(d));
    $("transcript").replaceChildren(); d.transcript.forEach(msg);
    packet(d.packet || {});
    $("action-error").classList.add("hidden");
    renderBoard(); follow();
  }

  async function act(fn) {
    try { $("action-error").classList.add("hidden"); await fn(); }
    catch (e) { $("action-error").textContent = e.message; $("action-error").classList.remove("hidden"); }
  }

  async function claim(id) {
    await act(async () => {
      const t = id ? await api(`/agent/tickets/${id}/claim`, { method: "POST" })
                   : await api("/agent/claim-next", { method: "POST", body: {} });
      if (!t) { $("queue-count").textContent = "Nothing to claim."; return; }
      await open(t.id);
    });
  }

  // Keep the claims of an open console alive: renew each of my leases every minute (a lease
  // lasts TRIAGE_CLAIM_LEASE_SECONDS, 5 minutes by default); a closed console lets them lapse.
  setInterval(() => {
    for (const t of board.mine) {
      api(`/agent/tickets/${t.id}/renew`, { method: "POST", body: { claim_token: t.claim_token } }).catch(() => {});
    }
  }, 60000);

  $("claim-next").addEventListener("click", () => claim(null));
  $("reply-form").addEventListener("submit", ev => {
    ev.preventDefault();
    const text = $("reply").value.trim();
    if (!text || !current) return;
    act(async () => {
      const m = await api(`/agent/tickets/${current.id}/reply`, { method: "POST", body: { claim_token: current.claim_token, text } });
      $("reply").value = ""; msg(m);
    });
  });
  const finish = (path, extra = {}) => act(async () => {
    await api(`/agent/tickets/${current.id}/${path}`, { method: "POST", body: { claim_token: current.claim_token, ...extra } });
    closeDetail();
  });
  const tagged = () => { const tag = $("solved-by").value.trim(); $("solved-by").value = ""; return tag ? { tag } : {}; };
  $("resolve").addEventListener("click", () => finish("resolve", tagged()));
  $("hand-back").addEventListener("click", () => finish("hand-back", tagged()));
  $("release").addEventListener("click", () => finish("release"));
  $("transfer").addEventListener("click", () => finish("transfer", { team: $("team").value }));

  renderBoard();
  loadIncidents();
  follow();
})();

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

  // A reply's deadline: labelled, amber in its last quarter (or last 10 minutes), red once late.
  function dueState(n) {
    const left = Number(n.dataset.due) - (Date.now() / 1000 + offset);
    const span = Number(n.dataset.due) - Number(n.dataset.created || n.dataset.due);
    n.textContent = duration(left);
    n.classList.toggle("late", left < 0);
    n.classList.toggle("soon", left >= 0 && left < Math.max(600, span / 4));
    n.parentElement?.querySelector(".due-word")?.replaceChildren(left < 0 ? "overdue by " : "reply due in ");
  }
  function countdown(t) {
    const n = el("span", { class: "countdown", "data-due": t.due_at, "data-created": t.created_at }, "");
    const wrap = el("span", { class: "due" }, el("span", { class: "due-word" }, "reply due in "), n);
    dueState(n);
    return wrap;
  }

  const label = t => t.title || (t.intent && (titles[t.intent] || t.intent)) || t.domain || "conversation";
  function card(t, mine) {
    return el("button", { type: "button", class: `ticket prio-${t.priority}${current && current.id === t.id ? " active" : ""}`,
                          "data-ticket": t.id, "aria-current": current && current.id === t.id ? "true" : null,
                          onclick: () => mine ? open(t.id) : preview(t.id) },
      el("span", { class: "row" }, el("span", { class: `badge ${t.priority}` }, t.priority),
        el("span", {}, label(t)), countdown(t)),
      el("span", { class: "meta" }, `${t.language || "?"} · team ${t.team}${t.domain ? ` · ${t.domain}` : ""}` +
        `${t.breached ? " · SLA breached" : ""}`, mine ? "" : " · open to preview"));
  }

  // New tickets announce themselves: the tab title counts them, and (when asked for) a desktop
  // notification and a short sound.
  let known = null;
  function announce(total) {
    document.title = `${total ? `(${total}) ` : ""}Agent console · triage`;
    if (known !== null && total > known) {
      if ($("sound").checked) beep();
      if (window.Notification && Notification.permission === "granted")
        new Notification("triage: a ticket is waiting", { body: `${total} waiting`, tag: "triage-queue" });
    }
    known = total;
  }
  function beep() {
    try {
      const ctx = new AudioContext(), osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.05;
      osc.connect(gain); gain.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.15);
    } catch (e) { /* no audio: the title still counts */ }
  }
  $("notify").addEventListener("click", async () => {
    if (!window.Notification) { $("notify").textContent = "Notifications unavailable"; return; }
    const p = await Notification.requestPermission();
    $("notify").setAttribute("aria-pressed", String(p === "granted"));
    $("notify").textContent = p === "granted" ? "Desktop notifications on" : "Notifications blocked";
  });

  function renderBoard() {
    $("mine").replaceChildren(...(board.mine.length ? board.mine.map(t => card(t, true))
                                 : [el("p", { class: "muted" }, "None.")]));
    $("queue").replaceChildren(...(board.queue.length ? board.queue.map(t => card(t, false))
                                  : [el("p", { class: "muted" }, "The queue is empty.")]));
    const total = board.queue_total ?? board.queue.length;
    $("queue-count").textContent = `${total} waiting`;
    announce(total);
  }

  setInterval(() => document.querySelectorAll("[data-due]").forEach(dueState), 1000);

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

  const PRIORITY_WORDS = { P0: "urgent: service unusable or money or security at risk (reply within 30 minutes)",
                           P1: "important (reply within 2 hours)", P2: "normal (reply by the next business day)" };

  // What matters first: the problem in one line, the suggested reply, the priority in words;
  // the details (candidates, what the bot tried) folded away.
  function packet(p, detail) {
    const rows = [];
    const named = i => (detail.titles || {})[i] || i;
    $("solved-by-options").replaceChildren(...[p.intent, ...(p.candidates || []).map(c => c.intent)]
      .filter(Boolean).filter((x, i, all) => all.indexOf(x) === i).map(x => el("option", { value: x }, named(x))));
    const firstUser = (p.transcript || []).find(m => m.role === "user");
    $("t-problem").textContent = firstUser ? `“${firstUser.text.slice(0, 200)}”` : (p.reason || "");
    if (detail.contact_email)
      rows.push(el("p", { class: "contact-email" }, el("strong", {}, "E-mail left by the user: "), detail.contact_email));
    for (const n of p.transfer_notes || [])
      rows.push(el("div", { class: "notice transfer-note" }, el("strong", {}, `Note from ${n.by}: `), n.note));
    if (p.suggested_reply) {
      rows.push(el("h4", {}, "Suggested reply"));
      rows.push(el("div", { class: "notice", id: "suggestion" }, p.suggested_reply));
      rows.push(el("button", { type: "button", id: "use-suggestion",
                               onclick: () => { $("reply").value = p.suggested_reply; $("reply").focus(); } }, "Use suggestion"));
    }
    rows.push(el("p", {}, el("strong", {}, "Why a person: "), p.reason || "—"));
    if (p.intent) rows.push(el("p", {}, el("strong", {}, "Topic: "), named(p.intent)));
    rows.push(el("p", {}, el("strong", {}, "Predicted priority: "), p.predicted_priority ? `${p.predicted_priority}, ${
      PRIORITY_WORDS[p.predicted_priority] || ""}` : "—"));
    for (const r of p.priority_reasons || []) rows.push(el("p", { class: "muted" }, r));
    const more = el("details", { id: "bot-tried" }, el("summary", {}, "What the bot tried"));
    if ((p.candidates || []).length) {
      more.append(el("h4", {}, "Candidates"), el("table", {}, el("tr", {}, el("th", {}, "topic"), el("th", {}, "confidence")),
        p.candidates.map(c => el("tr", {}, el("td", {}, named(c.intent)), el("td", {}, (c.confidence ?? 0).toFixed(2))))));
    }
    more.append((p.tried || []).length ? el("ul", {}, p.tried.map(x => el("li", {}, tried(x))))
                                       : el("p", { class: "muted" }, "Nothing: it went straight to a person."));
    rows.push(more);
    $("packet").replaceChildren(...rows);
  }

  function follow() {
    stream?.stop();
    stream = listen(() => `/agent/events?after=${lastSeq}` + (current ? `&ticket=${current.id}` : ""), (name, data) => {
      if (name === "board") {
        board = data; offset = data.now - Date.now() / 1000; renderBoard(); loadIncidents();
        if (current && !data.mine.some(t => t.id === current.id)) closeDetail();
      }
      if (name === "message" && current) msg(data);
    }, { onState: state => { $("live").textContent = state === "live" ? "live" : "reconnecting…";
                             $("live").classList.toggle("late", state !== "live"); } });
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
    current = null; previewing = null;
    $("ticket").classList.add("hidden"); $("preview-bar").classList.add("hidden");
    $("placeholder").classList.remove("hidden");
    follow();
  }

  const titles = {};
  function show(d) {
    Object.assign(titles, d.titles || {});
    $("placeholder").classList.add("hidden"); $("ticket").classList.remove("hidden");
    $("t-prio").className = `badge ${d.priority}`; $("t-prio").textContent = d.priority;
    $("t-title").textContent = label({ ...d, intent: d.packet.intent || d.intent });
    $("t-meta").textContent = `${d.language || "?"} · team ${d.team}`;
    $("t-due").replaceChildren(countdown(d));
    $("transcript").replaceChildren(); seen.clear(); lastSeq = 0; d.transcript.forEach(msg);
    packet(d.packet || {}, d);
    $("action-error").classList.add("hidden");
  }

  // A queue ticket opens as a preview: read it before claiming it.
  let previewing = null;
  async function preview(id) {
    await act(async () => {
      const d = await api(`/agent/tickets/${id}`);
      current = null; previewing = d;
      show(d);
      $("reply-form").classList.add("hidden");
      $("preview-bar").classList.remove("hidden");
      $("claim-this").focus();
      renderBoard();
    });
  }
  $("claim-this").addEventListener("click", () => previewing && claim(previewing.id));

  async function open(id) {
    const d = await api(`/agent/tickets/${id}`);
    current = d; previewing = null;
    show(d);
    $("reply-form").classList.remove("hidden");
    $("preview-bar").classList.add("hidden");
    renderBoard(); follow();
    $("reply").focus();
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

  // Search tickets by text, id or intent.
  $("search-form").addEventListener("submit", ev => {
    ev.preventDefault();
    const q = $("search").value.trim();
    if (!q) { $("search-results").replaceChildren(); return; }
    act(async () => {
      const res = await api(`/agent/search?q=${encodeURIComponent(q)}`);
      $("search-results").replaceChildren(el("h2", { class: "side" }, `Found ${res.count}`),
        ...res.data.map(t => el("button", { type: "button", class: `ticket prio-${t.priority}`, "data-found": t.id,
          onclick: () => (t.agent === me.name && t.status === "claimed") ? open(t.id) : preview(t.id) },
          el("span", { class: "row" }, el("span", { class: `badge ${t.priority}` }, t.priority), el("span", {}, label(t))),
          el("span", { class: "meta" }, `${t.status} · ${t.id.slice(0, 8)} · team ${t.team}`))));
    });
  });

  // Canned replies: "/" at the start of the reply lists them; Enter or a click inserts one.
  let canned = [];
  api("/agent/canned").then(c => { canned = c; }).catch(() => {});
  function cannedMenu() {
    const v = $("reply").value;
    if (!v.startsWith("/") || v.includes("\n")) { $("canned").classList.add("hidden"); return; }
    const q = v.slice(1).toLowerCase();
    const hits = canned.filter(c => c.title.toLowerCase().includes(q) || c.id.includes(q)).slice(0, 8);
    $("canned").replaceChildren(...(hits.length ? hits.map(c => el("button", { type: "button", class: "ticket", role: "option",
      "data-canned": c.id, onclick: () => { $("reply").value = c.text; $("canned").classList.add("hidden"); $("reply").focus(); } },
      el("strong", {}, c.title), el("span", { class: "meta" }, ` ${c.text.slice(0, 80)}`)))
      : [el("p", { class: "muted" }, "No canned reply matches (editors add them in the FAQ editor).")]));
    $("canned").classList.remove("hidden");
  }
  $("reply").addEventListener("input", cannedMenu);

  // Keyboard: Ctrl+Enter sends; Alt+N claims the next ticket; Alt+J goes to the next of my
  // conversations; in the canned menu, Enter takes the first match and Esc closes it.
  $("reply").addEventListener("keydown", ev => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); $("reply-form").requestSubmit(); }
    else if (!$("canned").classList.contains("hidden") && ev.key === "Enter") {
      const first = $("canned").querySelector("[data-canned]");
      if (first) { ev.preventDefault(); first.click(); }
    } else if (ev.key === "Escape") $("canned").classList.add("hidden");
  });
  document.addEventListener("keydown", ev => {
    if (!ev.altKey) return;
    if (ev.key.toLowerCase() === "n") { ev.preventDefault(); claim(null); }
    if (ev.key.toLowerCase() === "j" && board.mine.length) {
      ev.preventDefault();
      const i = board.mine.findIndex(t => current && t.id === current.id);
      open(board.mine[(i + 1) % board.mine.length].id);
    }
  });

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
  $("transfer").addEventListener("click", () => {
    const note = $("transfer-note").value.trim();
    $("transfer-note").value = "";
    finish("transfer", note ? { team: $("team").value, note } : { team: $("team").value });
  });

  renderBoard();
  loadIncidents();
  follow();
})();

// The chat widget: one conversation per browser (kept in localStorage), live agent replies.
"use strict";
(async () => {
  const { api, listen, el } = triage;
  const params = new URLSearchParams(location.search);
  if (params.has("embed")) document.getElementById("chat").classList.add("embed");
  const STORE = "triage.conversation";
  // Embedded in another site, the frame may be refused storage (third-party storage blocking):
  // then the conversation lives as long as the page.
  const memory = new Map();
  const storage = (() => {
    try { localStorage.setItem("triage.probe", "1"); localStorage.removeItem("triage.probe"); return localStorage; }
    catch (e) {
      return { getItem: k => memory.get(k) ?? null, setItem: (k, v) => memory.set(k, v), removeItem: k => memory.delete(k) };
    }
  })();
  const strings = await api("/locales");
  let lang = params.get("lang") || ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en");
  if (!strings[lang]) lang = "en";
  const t = key => (strings[lang] || strings.en)[key] || strings.en[key] || key;

  const log = document.getElementById("log"), input = document.getElementById("text");
  const banner = document.getElementById("banner");
  let conv = JSON.parse(storage.getItem(STORE) || "null");
  let lastSeq = 0, stream = null, userSpoke = false;
  const seen = new Set(), titles = new Map();

  function chrome() {
    document.documentElement.lang = lang;
    document.getElementById("title").textContent = t("widget_title");
    input.placeholder = t("widget_placeholder");
    document.getElementById("send").textContent = t("widget_send");
    document.getElementById("new").textContent = t("widget_new");
  }

  function clearChoices() { log.querySelectorAll(".choices").forEach(n => n.remove()); }

  function render(m) {
    if (seen.has(m.seq)) return;
    seen.add(m.seq);
    lastSeq = Math.max(lastSeq, m.seq);
    for (const b of m.buttons || []) titles.set(b.payload, b.title);
    const text = m.role === "user" && m.text.startsWith("/") ? (titles.get(m.text) || m.text) : m.text;
    if (m.role === "user") { clearChoices(); userSpoke = true; }
    const node = el("div", { class: `msg ${m.role}`, "data-role": m.role },
      m.role === "agent" ? el("span", { class: "who" }, `${t("widget_agent")} · ${m.author || ""}`) : null, text);
    log.append(node);
    if (m.buttons && m.buttons.length) {
      clearChoices();
      log.append(el("div", { class: "choices" },
        m.buttons.map(b => el("button", { type: "button", onclick: () => send(b.payload) }, b.title))));
    }
    log.scrollTop = log.scrollHeight;
  }

  // Satisfaction: once the conversation is resolved, ask for a 1–5 rating (once per
  // conversation; a comment sent afterwards replaces the rating with the same score and the text).
  function askRating() {
    if (!conv || conv.rated || log.querySelector(".csat")) return;
    const box = el("div", { class: "csat", role: "group", "aria-label": t("csat_ask") },
      el("p", {}, t("csat_ask")));
    const rateWith = async (score, comment) => {
      await api(`/conversations/${conv.id}/csat`, { method: "POST", token: conv.token, body: { score, comment } });
      conv.rated = score; storage.setItem(STORE, JSON.stringify(conv));
    };
    const scores = el("div", { class: "choices scores" }, [1, 2, 3, 4, 5].map(score =>
      el("button", { type: "button", "aria-label": t("csat_score").replace("{score}", score), onclick: async () => {
        try { await rateWith(score); } catch (e) { return; }
        const note = el("textarea", { "aria-label": t("csat_comment"), placeholder: t("csat_comment"), rows: "2",
          maxlength: "2000" });
        const thanks = el("p", { class: "thanks", role: "status" }, t("csat_thanks"));
        box.replaceChildren(thanks, note, el("button", { type: "button", onclick: async () => {
          if (!note.value.trim()) return;
          try { await rateWith(score, note.value); note.remove(); } catch (e) { /* the rating itself is kept */ }
        } }, t("csat_send")));
        note.focus();
      } }, String(score))));
    box.append(scores);
    log.append(box);
    log.scrollTop = log.scrollHeight;
  }

  function showState(state) {
    if (state === "resolved") askRating();
    const waiting = state === "queued";
    banner.textContent = waiting ? t("queued") : "";
    banner.classList.toggle("hidden", !waiting);
  }

  function follow() {
    stream?.stop();
    stream = listen(() => `/conversations/${conv.id}/events?after=${lastSeq}`, (name, data) => {
      if (name === "message") render(data);
      if (name === "state") {
        showState(data.state);
        // The conversation's language is the user's: follow it once they have written.
        if (userSpoke && strings[data.language] && data.language !== lang) { lang = data.language; chrome(); }
      }
    }, { token: conv.token });
  }

  async function ensureConversation() {
    if (conv) return;
    conv = await api("/conversations", { method: "POST" });
    storage.setItem(STORE, JSON.stringify(conv));
    follow();
  }

  async function send(text) {
    text = text.trim();
    if (!text) return;
    try {
      await ensureConversation();
      const turn = await api(`/conversations/${conv.id}/messages`, { method: "POST", token: conv.token,
        body: { text, idempotency_key: crypto.randomUUID ? crypto.randomUUID() : String(Date.now() + Math.random()) } });
      render(turn.user_message);
      turn.replies.forEach(render);
      showState(turn.state);
    } catch (e) {
      if (e.status === 401 || e.status === 404) { storage.removeItem(STORE); conv = null; }
      log.append(el("div", { class: "msg system error" }, `${t("widget_error")} (${e.message})`));
    }
  }

  document.getElementById("form").addEventListener("submit", ev => {
    ev.preventDefault();
    const text = input.value;
    input.value = "";
    send(text);
  });
  document.getElementById("new").addEventListener("click", () => {
    stream?.stop(); storage.removeItem(STORE); conv = null; lastSeq = 0; seen.clear(); userSpoke = false;
    log.replaceChildren(el("div", { class: "msg bot" }, t("widget_intro"))); showState(null);
  });

  chrome();
  log.append(el("div", { class: "msg bot" }, t("widget_intro")));
  if (conv) {
    try {
      const tr = await api(`/conversations/${conv.id}/messages`, { token: conv.token });
      if (strings[tr.language] && tr.messages.length) { lang = tr.language; chrome(); }
      tr.messages.forEach(render);
      showState(tr.state);
      follow();
    } catch (e) { storage.removeItem(STORE); conv = null; }
  }
  input.focus();
})();

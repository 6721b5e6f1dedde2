// The chat widget: one conversation per browser (kept in localStorage), live agent replies.
"use strict";
(async () => {
  const { api, listen, el } = triage;
  const params = new URLSearchParams(location.search);
  // Embedded (embed.js): a close button inside, Esc closes, and the host page is told when a
  // reply arrives while the chat is closed (it shows an unread badge).
  const embedded = params.has("embed") && window.parent !== window;
  let visible = !embedded;
  const toHost = type => { if (embedded) window.parent.postMessage({ triage: type }, "*"); };
  if (params.has("embed")) document.getElementById("chat").classList.add("embed");
  if (embedded) {
    document.getElementById("close").classList.remove("hidden");
    document.getElementById("close").addEventListener("click", () => toHost("close"));
    document.addEventListener("keydown", e => { if (e.key === "Escape") toHost("close"); });
    window.addEventListener("message", e => {
      if (e.source !== window.parent || !e.data) return;
      if (e.data.triage === "opened") { visible = true; document.getElementById("text").focus(); }
      if (e.data.triage === "closed") visible = false;
    });
  }
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
    document.getElementById("close").setAttribute("aria-label", t("widget_close"));
    document.getElementById("help-q").placeholder = t("widget_help_search");
    document.getElementById("help-q").setAttribute("aria-label", t("widget_help_search"));
    document.getElementById("help-go").textContent = t("help_search_button");
  }

  function clearChoices() { log.querySelectorAll(".choices").forEach(n => n.remove()); }

  // Each message marks its own language (a Chinese message in an English page reads as Chinese).
  const langOf = text => /[\u3400-\u9fff\uf900-\ufaff]/.test(text) ? "zh" : (lang === "zh" ? "en" : lang);
  const shown = text => text.startsWith("/") ? (titles.get(text) || text) : text;

  function bubble(role, text, author) {
    // Who said it, for screen readers (the log announces each new message).
    const who = role === "user" ? t("widget_you") : role === "agent" ? `${t("widget_agent")} · ${author || ""}`
              : role === "bot" ? t("widget_assistant") : "";
    return el("div", { class: `msg ${role}`, "data-role": role, lang: langOf(text) },
      role === "agent" ? el("span", { class: "who" }, who) : who ? el("span", { class: "sr-only" }, `${who}: `) : null,
      text);
  }

  function render(m) {
    if (seen.has(m.seq)) return;
    seen.add(m.seq);
    lastSeq = Math.max(lastSeq, m.seq);
    for (const b of m.buttons || []) titles.set(b.payload, b.title);
    const text = m.role === "user" ? shown(m.text) : m.text;
    if (m.role === "user") {
      clearChoices(); userSpoke = true;
      // The stored copy of a message shown while it was being sent replaces it.
      const mine = [...log.querySelectorAll(".msg.user.pending")].find(n => n.dataset.text === m.text);
      if (mine) { mine.replaceWith(bubble("user", text)); log.scrollTop = log.scrollHeight; return; }
    }
    const node = bubble(m.role, text, m.author);
    if (m.article) node.append(el("a", { class: "article-link", href: `${m.article}?lang=${lang}`, target: "_blank",
                                         rel: "noopener" }, t("widget_article")));
    log.append(node);
    if (m.buttons && m.buttons.length) {
      clearChoices();
      log.append(el("div", { class: "choices", role: "group", "aria-label": t("widget_options") },
        m.buttons.map(b => el("button", { type: "button", onclick: () => { send(b.payload); input.focus(); } }, b.title))));
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

  // A long wait: offer to leave an e-mail address for the reply (optional).
  function offerContact() {
    if (!conv || conv.contact || log.querySelector(".contact")) return;
    const email = el("input", { type: "email", id: "contact-email", autocomplete: "email", "aria-label": t("contact_label"),
                                placeholder: t("contact_label") });
    const box = el("form", { class: "contact", "aria-label": t("contact_ask") }, el("p", {}, t("contact_ask")),
      el("div", { class: "row" }, email, el("button", { type: "submit" }, t("contact_send"))));
    box.addEventListener("submit", async ev => {
      ev.preventDefault();
      if (!email.value.trim() || !email.checkValidity()) { email.focus(); return; }
      try {
        await api(`/conversations/${conv.id}/contact`, { method: "POST", token: conv.token, body: { email: email.value.trim() } });
        conv.contact = true; storage.setItem(STORE, JSON.stringify(conv));
        box.replaceChildren(el("p", { role: "status" }, t("contact_thanks")));
      } catch (e) { email.setAttribute("aria-invalid", "true"); email.focus(); }
    });
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
      if (name === "message") {
        if (!seen.has(data.seq) && (data.role === "agent" || data.role === "bot") && !visible) toHost("unread");
        render(data);
      }
      if (name === "state") {
        showState(data.state);
        // The conversation's language is the user's: follow it once they have written.
        if (userSpoke && strings[data.language] && data.language !== lang) { lang = data.language; chrome(); }
      }
    }, { token: conv.token });
  }

  async function ensureConversation() {
    if (conv) return;
    let timezone;
    try { timezone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { timezone = undefined; }
    try { conv = await api("/conversations", { method: "POST", body: timezone ? { timezone } : {} }); }
    catch (e) { if (e.status !== 422) throw e; conv = await api("/conversations", { method: "POST" }); }  // unknown zone
    storage.setItem(STORE, JSON.stringify(conv));
    follow();
  }

  const newKey = () => crypto.randomUUID ? crypto.randomUUID() : String(Date.now() + Math.random());
  const typing = document.getElementById("typing"), sendButton = document.getElementById("send");
  let sending = 0;
  function busy(delta) {
    sending += delta;
    sendButton.disabled = sending > 0;
    typing.textContent = sending > 0 ? t("widget_typing") : "";
    typing.classList.toggle("hidden", sending === 0);
  }

  // A message shows at once, marked as sending; the bot's "typing…" shows while it works. One
  // that fails stays in the log, marked, with a retry that reuses its idempotency key (so a
  // send that did reach the server is not stored twice).
  async function send(text, retry = null) {
    text = text.trim();
    if (!text) return;
    const key = retry?.key || newKey();
    let node = retry?.node;
    if (!node) {
      clearChoices();
      node = bubble("user", shown(text));
      node.classList.add("pending");
      node.dataset.text = text;
      log.append(node);
    } else {
      node.classList.remove("failed");
      node.querySelector(".send-status")?.remove();
    }
    log.scrollTop = log.scrollHeight;
    busy(1);
    try {
      await ensureConversation();
      const turn = await api(`/conversations/${conv.id}/messages`, { method: "POST", token: conv.token,
        body: { text, idempotency_key: key } });
      render(turn.user_message);
      turn.replies.forEach(render);
      showState(turn.state);
      if (turn.long_wait) offerContact();
    } catch (e) {
      if (e.status === 401 || e.status === 404) { storage.removeItem(STORE); conv = null; }
      node.classList.add("failed");
      node.append(el("span", { class: "send-status", role: "alert" }, ` ${t("widget_failed")} `,
        el("button", { type: "button", class: "retry", onclick: () => send(text, { key, node }) }, t("widget_retry"))));
    } finally {
      busy(-1);
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

  // Self-service first: search the help center's articles before (or instead of) chatting.
  document.getElementById("help-search").addEventListener("submit", async ev => {
    ev.preventDefault();
    const q = document.getElementById("help-q").value.trim(), out = document.getElementById("help-results");
    if (!q) { out.replaceChildren(); return; }
    try {
      const found = await api(`/help/articles?q=${encodeURIComponent(q)}&lang=${lang}`);
      out.replaceChildren(found.length
        ? el("ul", {}, found.map(a => el("li", {}, el("a", { href: a.url, target: "_blank", rel: "noopener" }, a.title))))
        : el("p", { class: "muted" }, t("widget_help_none")));
    } catch (e) { out.replaceChildren(el("p", { class: "muted" }, t("widget_error"))); }
  });

  chrome();
  log.append(el("div", { class: "msg bot" }, t("widget_intro")));
  if (conv) {
    try {
      const tr = await api(`/conversations/${conv.id}/messages`, { token: conv.token });
      if (strings[tr.language] && tr.messages.length) { lang = tr.language; chrome(); }
      tr.messages.forEach(render);
      showState(tr.state);
      if (tr.long_wait && !tr.contact_left) offerContact();
      follow();
    } catch (e) { storage.removeItem(STORE); conv = null; }
  }
  input.focus();
  toHost("ready");
})();

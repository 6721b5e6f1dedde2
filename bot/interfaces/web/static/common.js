// Shared helpers for the triage pages: API calls, live event streams, small DOM helpers.
"use strict";

const triage = (() => {
  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.detail && (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail))) || `HTTP ${status}`);
      this.status = status; this.body = body;
    }
  }

  // JSON API call. Staff pages authenticate with the session cookie (plus the CSRF header);
  // the chat widget passes its conversation token.
  async function api(path, { method = "GET", body, token, redirect = true } = {}) {
    const headers = { "X-Triage-CSRF": "1" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers["Authorization"] = `Bearer ${token}`;
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                                    credentials: "same-origin" });
    if (res.status === 204) return null;
    const data = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
    if (!res.ok) {
      if (res.status === 401 && !token && redirect) location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
      throw new ApiError(res.status, data);
    }
    return data;
  }

  // Server-sent events read with fetch (so an Authorization header can be sent); reconnects
  // whenever the server ends a stream. `url()` is called anew for each connection; `onState`
  // hears "live" when a stream is open and "reconnecting" when one failed.
  function listen(url, onEvent, { token, onState } = {}) {
    let stopped = false, controller = null;
    (async () => {
      while (!stopped) {
        controller = new AbortController();
        try {
          const headers = token ? { Authorization: `Bearer ${token}` } : {};
          const res = await fetch(url(), { headers, signal: controller.signal, credentials: "same-origin" });
          if (!res.ok) throw new Error(`events: HTTP ${res.status}`);
          onState?.("live");
          const reader = res.body.getReader();
          const decoder = new TextDecoder();
          let buf = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += decoder.decode(value, { stream: true });
            let cut;
            while ((cut = buf.indexOf("\n\n")) >= 0) {
              const chunk = buf.slice(0, cut); buf = buf.slice(cut + 2);
              let name = "message", data = "";
              for (const line of chunk.split("\n")) {
                if (line.startsWith("event: ")) name = line.slice(7);
                else if (line.startsWith("data: ")) data += line.slice(6);
              }
              if (data) onEvent(name, JSON.parse(data));
            }
          }
        } catch (e) {
          if (stopped) return;
          onState?.("reconnecting");
          await new Promise(r => setTimeout(r, 1500));
        }
      }
    })();
    return { stop() { stopped = true; controller?.abort(); } };
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "class") node.className = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    return node;
  }

  function duration(seconds) {
    const s = Math.abs(Math.round(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const text = h ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m ${String(r).padStart(2, "0")}s`;
    return seconds < 0 ? `overdue ${text}` : text;
  }

  async function whoami() {
    try { return await api("/auth/me", { redirect: false }); } catch (e) { return null; }
  }

  async function signOut() {
    await api("/auth/logout", { method: "POST" });
    location.href = "/login";
  }

  function header(node, me) {
    if (!me) return;
    const links = [["agent", "Agent console"], ["editor", "FAQ editor"], ["dashboard", "Dashboard"]]
      .filter(([p]) => p === "dashboard" || me.roles.includes(p) || me.roles.includes("admin"));
    node.replaceChildren(...links.map(([p, t]) => el("a", { href: `/${p}` }, t)),
      el("span", { class: "muted" }, `${me.name} (${me.roles.join(", ")})`),
      el("button", { onclick: signOut }, "Sign out"));
  }

  return { api, listen, el, duration, whoami, header, ApiError };
})();

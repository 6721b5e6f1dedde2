// Embed the triage chat widget in any page:
//   <script src="https://support.example.com/static/embed.js" data-lang="en" async></script>
// A button in the corner opens the widget (served by the triage server) in a frame: a panel on
// wide screens, the whole screen on phones. The frame has its own close button; Esc closes it;
// focus moves into the frame when it opens and back to the button when it closes; the button
// says whether the chat is open (aria-expanded) and shows a badge when a reply arrives while the
// chat is closed.
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = new URL(script.src).origin;
  var lang = script.getAttribute("data-lang") || "";
  var label = script.getAttribute("data-label") || (lang === "zh" ? "在线客服" : "Chat with us");
  var unreadLabel = lang === "zh" ? "条新回复" : "new replies";
  var frame = document.createElement("iframe");
  frame.src = origin + "/chat?embed=1" + (lang ? "&lang=" + encodeURIComponent(lang) : "");
  frame.title = label;
  frame.id = "triage-chat-frame";
  var style = document.createElement("style");
  style.textContent =
    "#triage-chat-frame{position:fixed;right:20px;bottom:80px;width:380px;height:560px;max-height:80vh;" +
    "border:1px solid #dde1e6;border-radius:10px;box-shadow:0 8px 30px rgba(0,0,0,.18);z-index:2147483646;" +
    "display:none;background:#fff}" +
    "@media (max-width:600px){#triage-chat-frame{inset:0;right:0;bottom:0;width:100%;height:100%;max-height:none;" +
    "border:0;border-radius:0}}" +
    "#triage-chat-button{position:fixed;right:20px;bottom:20px;z-index:2147483647;padding:12px 18px;border:0;" +
    "border-radius:24px;background:#1565c0;color:#fff;font:600 15px system-ui,sans-serif;cursor:pointer}" +
    "#triage-chat-button:focus-visible{outline:3px solid #0b3d91;outline-offset:2px}" +
    "#triage-chat-button .triage-badge{display:inline-block;min-width:1.3em;margin-left:.5em;padding:0 .35em;" +
    "border-radius:1em;background:#c62828;color:#fff;font-size:13px;line-height:1.3em;text-align:center}" +
    "@media (max-width:600px){#triage-chat-button[aria-expanded=true]{display:none}}";
  var button = document.createElement("button");
  button.type = "button";
  button.id = "triage-chat-button";
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", frame.id);
  var text = document.createElement("span");
  text.textContent = label;
  var badge = document.createElement("span");
  badge.className = "triage-badge";
  badge.hidden = true;
  button.appendChild(text);
  button.appendChild(badge);
  var unread = 0;

  function tell(type) {
    if (frame.contentWindow) frame.contentWindow.postMessage({ triage: type }, origin);
  }
  function setUnread(n) {
    unread = n;
    badge.hidden = n === 0;
    badge.textContent = n > 9 ? "9+" : String(n);
    badge.setAttribute("aria-label", n + " " + unreadLabel);
  }
  function open() {
    frame.style.display = "block";
    button.setAttribute("aria-expanded", "true");
    setUnread(0);
    tell("opened");
    frame.focus();
  }
  function close() {
    frame.style.display = "none";
    button.setAttribute("aria-expanded", "false");
    tell("closed");
    button.focus();
  }
  button.addEventListener("click", function () {
    if (frame.style.display === "none" || !frame.style.display) open(); else close();
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && frame.style.display === "block") close();
  });
  window.addEventListener("message", function (e) {
    if (e.origin !== origin || e.source !== frame.contentWindow || !e.data) return;
    if (e.data.triage === "close") close();
    else if (e.data.triage === "unread" && frame.style.display !== "block") setUnread(unread + 1);
    else if (e.data.triage === "ready") tell(frame.style.display === "block" ? "opened" : "closed");
  });
  document.head.appendChild(style);
  document.body.appendChild(frame);
  document.body.appendChild(button);
})();

// Embed the triage chat widget in any page:
//   <script src="https://support.example.com/static/embed.js" data-lang="en" async></script>
// A button in the corner opens the widget (served by the triage server) in a frame.
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = new URL(script.src).origin;
  var lang = script.getAttribute("data-lang") || "";
  var label = script.getAttribute("data-label") || (lang === "zh" ? "在线客服" : "Chat with us");
  var frame = document.createElement("iframe");
  frame.src = origin + "/chat?embed=1" + (lang ? "&lang=" + encodeURIComponent(lang) : "");
  frame.title = label;
  frame.style.cssText = "position:fixed;right:20px;bottom:80px;width:380px;height:560px;max-height:80vh;" +
    "border:1px solid #dde1e6;border-radius:10px;box-shadow:0 8px 30px rgba(0,0,0,.18);z-index:2147483646;" +
    "display:none;background:#fff";
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.style.cssText = "position:fixed;right:20px;bottom:20px;z-index:2147483647;padding:12px 18px;" +
    "border:0;border-radius:24px;background:#1565c0;color:#fff;font:600 15px system-ui,sans-serif;cursor:pointer";
  button.addEventListener("click", function () {
    frame.style.display = frame.style.display === "none" ? "block" : "none";
  });
  document.body.appendChild(frame);
  document.body.appendChild(button);
})();

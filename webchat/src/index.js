// Entry point of kefu-widget.js. Embedding:
//   <script src="https://shop.example/widget/kefu-widget.js" data-server="https://rasa.example"
//           data-console="https://console.example" data-lang="auto"></script>
// Optional, before the script: window.KefuWidgetConfig = {title, avatar, colors, greeting, language, position, userToken}
import { KefuWidget } from "./widget.js";

(function boot() {
  if (window.KefuWidget && window.KefuWidget.instance) return; // loaded twice: keep the first
  const script =
    document.currentScript || Array.from(document.scripts).find((s) => /kefu-widget(\.min)?\.js/.test(s.src || ""));
  const data = (script && script.dataset) || {};
  const config = Object.assign({}, window.KefuWidgetConfig || {});
  const widget = new KefuWidget({
    server: config.server || data.server,
    console: config.console || data.console,
    socketPath: config.socketPath || data.socketPath,
    lang: data.lang,
    userToken: data.userToken,
    config,
  });
  window.KefuWidget = {
    instance: widget,
    open: () => widget.setOpen(true),
    close: () => widget.setOpen(false),
    send: (text) => widget.send(String(text)),
    setUserToken: (token) => widget.setUserToken(token),
    get sessionId() {
      return widget.sessionId;
    },
    get language() {
      return widget.language;
    },
  };
  const start = () => widget.start();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

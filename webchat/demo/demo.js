// Demo shop: embed the Kefu widget with one script tag, the way a seller would.
// The Rasa server defaults to this host on port 5005 and the console to this origin;
// ?server=...&console=...&lang=... override them (the browser tests use that).
(function () {
  var params = new URLSearchParams(window.location.search);
  var server = params.get("server") || window.location.protocol + "//" + window.location.hostname + ":5005";
  var consoleUrl = params.get("console") || window.location.origin;
  window.KefuWidgetConfig = {
    title: "优选生活客服",
    greeting: {
      "zh-Hans": "您好，欢迎光临优选生活！可以问我订单、库存、退换货等问题。",
      "zh-Hant": "您好，歡迎光臨優選生活！可以問我訂單、庫存、退換貨等問題。",
      en: "Welcome to Youxuan Life! Ask me about orders, stock, returns and more.",
    },
    colors: { primary: "#d0312d" },
    position: "right",
  };
  if (params.get("token")) window.KefuWidgetConfig.userToken = params.get("token");
  var script = document.createElement("script");
  script.src = "/widget/kefu-widget.js";
  script.setAttribute("data-server", server);
  script.setAttribute("data-console", consoleUrl);
  script.setAttribute("data-lang", params.get("lang") || "auto");
  document.body.appendChild(script);
})();

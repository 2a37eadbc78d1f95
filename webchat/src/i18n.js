// UI strings of the widget in Kefu's three languages, and the language choice.
// Server text (bot, agent, customer) is never translated here: only the chrome.

export const LANGUAGES = ["zh-Hans", "zh-Hant", "en"];

const STRINGS = {
  "zh-Hans": {
    title: "在线客服",
    open: "打开在线客服",
    close: "收起聊天窗口",
    greeting: "您好！我是智能客服，可以帮您查订单、查库存、解答常见问题。",
    placeholder: "输入消息…",
    send: "发送",
    input_label: "给客服发消息",
    log_label: "聊天记录",
    unread: (n) => `${n} 条未读消息`,
    typing: "对方正在输入…",
    you: "我",
    bot: "智能客服",
    agent_label: (name) => `${name} · 人工客服`,
    agent_default: "人工客服",
    status_bot: "智能客服在线",
    status_queued: "正在为您转接人工客服…",
    status_agent: (name) => `已转接人工客服 · ${name}`,
    banner_queued: (pos, eta) =>
      `已为您排队转人工${pos ? `，您排在第 ${pos} 位` : ""}${eta ? `，预计等待约 ${eta} 分钟` : ""}`,
    banner_offline: (when) => `现在是非工作时间，客服将于 ${when} 回复您`,
    banner_agent_joined: (name) => `已转接人工客服 · ${name}`,
    banner_transferred: (team) => `已为您转给${team ? ` ${team} ` : ""}团队，请稍候`,
    banner_closed: "人工服务已结束",
    banner_returned: "已回到智能客服",
    csat_question: "请为本次人工服务评分",
    csat_star: (n) => `${n} 星`,
    csat_thanks: (n) => `感谢您的评价：${n} 星`,
    csat_sent_text: (n) => `评分：${"★".repeat(n)}${"☆".repeat(5 - n)}`,
    sending: "发送中",
    sent: "已发送",
    queued_offline: "网络断开，恢复后自动发送",
    failed: "发送失败",
    offline: "网络已断开，正在重新连接…",
    reconnected: "已重新连接",
    error_too_long: "消息太长了，请分几条发送",
    error_rate: "发送太频繁了，稍后会自动重试",
    error_generic: "消息未能送达",
    card_order: "订单状态",
    card_stock: "库存",
    card_coupons: "优惠券",
    card_orders: "我的订单",
    card_card: "信息",
    order_id: "订单号",
    status: "状态",
    items: "商品",
    quantity: "数量",
    total: "实付",
    shipping: "物流",
    tracking: "运单号",
    expected: "预计送达",
    recipient: "收件人",
    address: "地址",
    store: "门店",
    next_step: "下一步",
    product: "商品",
    price: "价格",
    online: "网店",
    in_stock: "有货",
    out_of_stock: "无货",
    stores: "门店库存",
    history_failed: "聊天记录暂时无法加载",
  },
  "zh-Hant": {
    title: "線上客服",
    open: "打開線上客服",
    close: "收起聊天視窗",
    greeting: "您好！我是智能客服，可以幫您查訂單、查庫存、解答常見問題。",
    placeholder: "輸入訊息…",
    send: "傳送",
    input_label: "給客服發訊息",
    log_label: "聊天記錄",
    unread: (n) => `${n} 則未讀訊息`,
    typing: "對方正在輸入…",
    you: "我",
    bot: "智能客服",
    agent_label: (name) => `${name} · 人工客服`,
    agent_default: "人工客服",
    status_bot: "智能客服在線",
    status_queued: "正在為您轉接人工客服…",
    status_agent: (name) => `已轉接人工客服 · ${name}`,
    banner_queued: (pos, eta) =>
      `已為您排隊轉人工${pos ? `，您排在第 ${pos} 位` : ""}${eta ? `，預計等待約 ${eta} 分鐘` : ""}`,
    banner_offline: (when) => `現在是非工作時間，客服將於 ${when} 回覆您`,
    banner_agent_joined: (name) => `已轉接人工客服 · ${name}`,
    banner_transferred: (team) => `已為您轉給${team ? ` ${team} ` : ""}團隊，請稍候`,
    banner_closed: "人工服務已結束",
    banner_returned: "已回到智能客服",
    csat_question: "請為本次人工服務評分",
    csat_star: (n) => `${n} 星`,
    csat_thanks: (n) => `感謝您的評價：${n} 星`,
    csat_sent_text: (n) => `評分：${"★".repeat(n)}${"☆".repeat(5 - n)}`,
    sending: "傳送中",
    sent: "已傳送",
    queued_offline: "網路中斷，恢復後自動傳送",
    failed: "傳送失敗",
    offline: "網路已中斷，正在重新連線…",
    reconnected: "已重新連線",
    error_too_long: "訊息太長了，請分幾則傳送",
    error_rate: "傳送太頻繁了，稍後會自動重試",
    error_generic: "訊息未能送達",
    card_order: "訂單狀態",
    card_stock: "庫存",
    card_coupons: "優惠券",
    card_orders: "我的訂單",
    card_card: "資訊",
    order_id: "訂單號",
    status: "狀態",
    items: "商品",
    quantity: "數量",
    total: "實付",
    shipping: "物流",
    tracking: "運單號",
    expected: "預計送達",
    recipient: "收件人",
    address: "地址",
    store: "門市",
    next_step: "下一步",
    product: "商品",
    price: "價格",
    online: "網店",
    in_stock: "有貨",
    out_of_stock: "無貨",
    stores: "門市庫存",
    history_failed: "聊天記錄暫時無法載入",
  },
  en: {
    title: "Customer service",
    open: "Open chat",
    close: "Minimise chat",
    greeting: "Hi! I'm the shop assistant. I can track orders, check stock and answer common questions.",
    placeholder: "Type a message…",
    send: "Send",
    input_label: "Message to customer service",
    log_label: "Conversation",
    unread: (n) => `${n} unread message${n === 1 ? "" : "s"}`,
    typing: "Typing…",
    you: "You",
    bot: "Assistant",
    agent_label: (name) => `${name} (agent)`,
    agent_default: "Agent",
    status_bot: "Assistant online",
    status_queued: "Connecting you to an agent…",
    status_agent: (name) => `Connected to ${name} (agent)`,
    banner_queued: (pos, eta) =>
      `You're in the queue for an agent${pos ? `, position ${pos}` : ""}${eta ? `, about ${eta} min` : ""}`,
    banner_offline: (when) => `We're outside staffed hours; an agent will answer from ${when}`,
    banner_agent_joined: (name) => `Connected to ${name} (agent)`,
    banner_transferred: (team) => `Transferred to the ${team ? `${team} ` : ""}team, please wait`,
    banner_closed: "The agent has closed the conversation",
    banner_returned: "You're back with the assistant",
    csat_question: "How would you rate the agent's help?",
    csat_star: (n) => `${n} star${n === 1 ? "" : "s"}`,
    csat_thanks: (n) => `Thanks for your rating: ${n} star${n === 1 ? "" : "s"}`,
    csat_sent_text: (n) => `Rating: ${"★".repeat(n)}${"☆".repeat(5 - n)}`,
    sending: "Sending",
    sent: "Sent",
    queued_offline: "Offline: will be sent when the connection is back",
    failed: "Not sent",
    offline: "Connection lost, reconnecting…",
    reconnected: "Reconnected",
    error_too_long: "That message is too long; please split it up",
    error_rate: "Too many messages; retrying shortly",
    error_generic: "The message could not be delivered",
    card_order: "Order status",
    card_stock: "Stock",
    card_coupons: "Coupons",
    card_orders: "My orders",
    card_card: "Details",
    order_id: "Order",
    status: "Status",
    items: "Items",
    quantity: "Qty",
    total: "Total",
    shipping: "Shipping",
    tracking: "Tracking no.",
    expected: "Expected",
    recipient: "Recipient",
    address: "Address",
    store: "Store",
    next_step: "Next step",
    product: "Product",
    price: "Price",
    online: "Online shop",
    in_stock: "In stock",
    out_of_stock: "Out of stock",
    stores: "Stores",
    history_failed: "The conversation history could not be loaded",
  },
};

const TRADITIONAL_REGIONS = ["tw", "hk", "mo", "hant"];

/** Map a BCP-47 tag ("zh-TW", "zh-Hant-HK", "en-GB", "zh") to a Kefu language, or null. */
export function normaliseLanguage(tag) {
  if (!tag || typeof tag !== "string") return null;
  const lower = tag.trim().toLowerCase().replace(/_/g, "-");
  if (LANGUAGES.map((l) => l.toLowerCase()).includes(lower)) {
    return LANGUAGES.find((l) => l.toLowerCase() === lower);
  }
  const parts = lower.split("-");
  if (parts[0] === "zh") {
    return parts.slice(1).some((p) => TRADITIONAL_REGIONS.includes(p)) ? "zh-Hant" : "zh-Hans";
  }
  if (parts[0] === "en") return "en";
  return null;
}

/** The UI language: explicit config, else the browser's preferences, else Simplified Chinese. */
export function pickLanguage(configured, browserLanguages) {
  const explicit = configured && configured !== "auto" ? normaliseLanguage(configured) : null;
  if (explicit) return explicit;
  for (const tag of browserLanguages || []) {
    const lang = normaliseLanguage(tag);
    if (lang) return lang;
  }
  return "zh-Hans";
}

export function strings(language) {
  return STRINGS[language] || STRINGS["zh-Hans"];
}

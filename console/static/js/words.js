// Words for the codes the bot and the console store (slot names and values, channels, languages, tiers,
// who did what in the ticket history): the agent reads words, never codes. Translated here, at the edge
// where they are shown; the stored data keeps its codes. An unknown code is shown as it is.
import { getLang } from "./i18n.js";

const INDEX = { "zh-Hans": 0, "zh-Hant": 1, en: 2 };

const PRODUCT_LINES = {  // the demo catalogue's categories (actions/store/demo/catalogue.yml)
  cups_bottles: ["杯壶", "杯壺", "Cups & bottles"],
  electronics: ["数码电子", "數碼電子", "Electronics"],
  clothing: ["服饰", "服飾", "Clothing"],
  home: ["家居", "家居", "Home"],
  small_appliances: ["小家电", "小家電", "Small appliances"],
  "": ["未分类", "未分類", "Unclassified"],
};

/** A presales lead's product line (the catalogue category) in words. */
export function productLineWord(code, lang = getLang()) {
  const row = PRODUCT_LINES[code ?? ""];
  return row ? row[INDEX[lang] ?? 0] : String(code);
}

const SLOT_NAMES = {
  order_id: ["订单号", "訂單號", "Order"],
  order_number: ["订单号", "訂單號", "Order"],
  phone_suffix: ["手机尾号", "手機末碼", "Phone ending"],
  order_verified: ["订单已验证", "訂單已驗證", "Order verified"],
  order_verify_failures: ["验证失败次数", "驗證失敗次數", "Failed checks"],
  order_lookup_locked: ["查询已锁定", "查詢已鎖定", "Lookup locked"],
  order_check_blocked: ["查询受限", "查詢受限", "Lookup blocked"],
  order_store_error: ["订单系统故障", "訂單系統故障", "Order system error"],
  identity_locked: ["身份验证已锁定", "身分驗證已鎖定", "Identity check locked"],
  verified_customer_id: ["已验证顾客", "已驗證顧客", "Verified customer"],
  verified_via: ["验证方式", "驗證方式", "Verified by"],
  verified_at: ["验证时间", "驗證時間", "Verified at"],
  verified_conversation: ["验证会话", "驗證會話", "Verified in"],
  customer_id: ["顾客编号", "顧客編號", "Customer"],
  language: ["顾客语言", "顧客語言", "Customer's language"],
  stock_product: ["查询商品", "查詢商品", "Product asked"],
  stock_variant: ["规格", "規格", "Variant"],
  stock_sku: ["规格编码", "規格編碼", "SKU"],
  stock_last_sku: ["上次查询的规格", "上次查詢的規格", "Last SKU checked"],
  stock_city: ["城市", "城市", "City"],
  stock_hints: ["规格线索", "規格線索", "Variant hints"],
  stock_query: ["查询内容", "查詢內容", "Query"],
  stock_outcome: ["库存查询结果", "庫存查詢結果", "Stock check"],
  faq_outcome: ["问答结果", "問答結果", "FAQ outcome"],
  faq_id: ["问答条目", "問答條目", "FAQ entry"],
  human_offered: ["已提议转人工", "已提議轉真人", "Person offered"],
  handoff_ticket: ["工单", "工單", "Ticket"],
  csat_ticket: ["评价工单", "評價工單", "Rated ticket"],
  product: ["商品", "商品", "Product"],
  city: ["城市", "城市", "City"],
};

const VALUES = {
  // cities (actions/stock/matching.py CITY_WORDS)
  shanghai: ["上海", "上海", "Shanghai"],
  beijing: ["北京", "北京", "Beijing"],
  shenzhen: ["深圳", "深圳", "Shenzhen"],
  guangzhou: ["广州", "廣州", "Guangzhou"],
  online: ["网上", "網路", "Online"],
  // colours (actions/stock/matching.py COLOR_WORDS)
  black: ["黑色", "黑色", "black"],
  white: ["白色", "白色", "white"],
  blue: ["蓝色", "藍色", "blue"],
  pink: ["粉色", "粉色", "pink"],
  grey: ["灰色", "灰色", "grey"],
  green: ["绿色", "綠色", "green"],
  red: ["红色", "紅色", "red"],
  beige: ["米色", "米色", "beige"],
  silver: ["银色", "銀色", "silver"],
  clear: ["透明", "透明", "clear"],
  gold: ["金色", "金色", "gold"],
  // languages
  "zh-Hans": ["简体中文", "簡體中文", "Simplified Chinese"],
  "zh-Hant": ["繁体中文", "繁體中文", "Traditional Chinese"],
  en: ["英文", "英文", "English"],
  // outcomes
  answered: ["已回答", "已回答", "answered"],
  clarify: ["请顾客选择", "請顧客選擇", "asked to choose"],
  no_answer: ["未能回答", "未能回答", "no answer"],
  not_found: ["未找到", "未找到", "not found"],
  store_error: ["系统故障", "系統故障", "system error"],
  // identity methods
  phone_suffix: ["手机尾号", "手機末碼", "phone ending"],
  wechat: ["微信", "微信", "WeChat"],
  token: ["登录账号", "登入帳號", "signed-in account"],
};

const TIERS = {
  regular: ["普通会员", "一般會員", "Regular"],
  silver: ["银卡会员", "銀卡會員", "Silver"],
  gold: ["金卡会员", "金卡會員", "Gold"],
  platinum: ["白金会员", "白金會員", "Platinum"],
  vip: ["VIP 会员", "VIP 會員", "VIP"],
  svip: ["SVIP 会员", "SVIP 會員", "SVIP"],
};

const CHANNELS = {
  socketio: ["网页聊天", "網頁聊天", "Web chat"],
  web: ["网页聊天", "網頁聊天", "Web chat"],
  rest: ["接口（REST）", "介面（REST）", "API (REST)"],
  wechat: ["微信公众号", "微信公眾號", "WeChat Official Account"],
  wecom: ["企业微信", "企業微信", "WeCom"],
  latest: ["最近使用的渠道", "最近使用的渠道", "Latest channel"],
};

const ACTIONS = {
  escalate: ["转人工", "轉真人", "handed over"],
  claim: ["认领", "認領", "claimed"],
  assign: ["分配", "分配", "assigned"],
  reply: ["回复", "回覆", "replied"],
  transfer: ["转接", "轉接", "transferred"],
  close: ["结束", "結束", "closed"],
  return: ["交回机器人", "交回機器人", "returned to the bot"],
  reopen: ["重新打开", "重新打開", "reopened"],
};

const ACTORS = {
  bot: ["机器人", "機器人", "the bot"],
  system: ["系统", "系統", "the system"],
  customer: ["顾客", "顧客", "the customer"],
};

const BOOL = { true: ["是", "是", "yes"], false: ["否", "否", "no"] };

function pickRow(row, lang) {
  return row ? row[INDEX[lang] ?? 0] : null;
}

/** "stock_city" -> "城市". */
export function slotName(name, lang = getLang()) {
  return pickRow(SLOT_NAMES[name], lang) ?? String(name ?? "");
}

/** "shanghai" -> "上海", "gold" -> "金卡会员", "zh-Hans" -> "简体中文", true -> "是"; lists word by word. */
export function valueWord(value, lang = getLang()) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map((v) => valueWord(v, lang)).join("、");
  if (typeof value === "boolean") return pickRow(BOOL[String(value)], lang);
  if (typeof value === "object") return JSON.stringify(value);
  const text = String(value);
  return pickRow(VALUES[text] ?? VALUES[text.toLowerCase()], lang) ?? text;
}

/** A customer tier: "gold" -> "金卡会员". */
export function tierWord(tier, lang = getLang()) {
  return pickRow(TIERS[String(tier ?? "").toLowerCase()], lang) ?? String(tier ?? "");
}

/** "socketio" -> "网页聊天". */
export function channelName(channel, lang = getLang()) {
  return pickRow(CHANNELS[channel], lang) ?? String(channel ?? "");
}

/** "zh-Hans" -> "简体中文". */
export function languageName(code, lang = getLang()) {
  return valueWord(code, lang);
}

/** A ticket history entry's action: "escalate" -> "转人工". */
export function actionWord(action, lang = getLang()) {
  return pickRow(ACTIONS[action], lang) ?? String(action ?? "");
}

/** Who did it: "bot" -> "机器人", "agent:wang" -> "wang". */
export function actorWord(actor, lang = getLang()) {
  const text = String(actor ?? "");
  if (text.startsWith("agent:")) return text.slice("agent:".length);
  return pickRow(ACTORS[text], lang) ?? text;
}

/** An FAQ candidate as the agent reads it: its question in the UI language, else its title, else its id. */
export function faqTitle(candidate, lang = getLang()) {
  if (candidate === null || typeof candidate !== "object") return String(candidate ?? "");
  const titles = candidate.titles && typeof candidate.titles === "object" ? candidate.titles : null;
  return String((titles && (titles[lang] || titles["zh-Hans"] || titles.en))
    ?? candidate.question ?? candidate.title ?? candidate.id ?? "");
}

// UI strings in Simplified Chinese, Traditional Chinese and English, and the language toggle.
// Elements carry data-i18n="key" (textContent), data-i18n-placeholder, data-i18n-aria-label or data-i18n-title.

export const LANGUAGES = ["zh-Hans", "zh-Hant", "en"];
export const LANGUAGE_NAMES = { "zh-Hans": "简体中文", "zh-Hant": "繁體中文", en: "English" };
const STORAGE_KEY = "kefu.console.lang";

const S = {
  app_name: ["客服工作台", "客服工作台", "Kefu console"],
  dashboard_title: ["主管看板", "主管看板", "Supervisor dashboard"],
  language: ["界面语言", "介面語言", "Language"],
  skip_to_main: ["跳到主要内容", "跳到主要內容", "Skip to main content"],
  // login
  login_title: ["登录客服工作台", "登入客服工作台", "Sign in to the Kefu console"],
  username: ["用户名", "使用者名稱", "Username"],
  password: ["密码", "密碼", "Password"],
  sign_in: ["登录", "登入", "Sign in"],
  signing_in: ["正在登录…", "正在登入…", "Signing in…"],
  login_failed: ["用户名或密码错误", "使用者名稱或密碼錯誤", "Wrong username or password"],
  login_hint: ["演示账号见 docs/console.md", "示範帳號見 docs/console.md", "Demo accounts: see docs/console.md"],
  logout: ["退出", "登出", "Sign out"],
  nav_console: ["工作台", "工作台", "Inbox"],
  nav_dashboard: ["看板", "看板", "Dashboard"],
  // connection
  live: ["实时", "即時", "Live"],
  reconnecting: ["正在重连…", "正在重新連線…", "Reconnecting…"],
  // queue
  queue: ["队列", "佇列", "Queue"],
  filter_open: ["进行中", "進行中", "Open"],
  filter_mine: ["我的", "我的", "Mine"],
  filter_queued: ["排队中", "排隊中", "Waiting"],
  filter_closed: ["已结束", "已結束", "Closed"],
  queue_empty: ["队列为空，暂时没有需要人工处理的会话。", "佇列為空，暫時沒有需要人工處理的會話。", "Nothing waiting. No conversation needs a person right now."],
  queue_count: ["{n} 个会话", "{n} 個會話", "{n} conversations"],
  waiting_for: ["等待 {t}", "等待 {t}", "waiting {t}"],
  priority_short: ["优先级 {n}", "優先級 {n}", "priority {n}"],
  unknown_customer: ["访客", "訪客", "Visitor"],
  // states
  state_bot: ["机器人", "機器人", "Bot"],
  state_queued: ["排队中", "排隊中", "Queued"],
  state_assigned: ["处理中", "處理中", "Assigned"],
  state_closed: ["已结束", "已結束", "Closed"],
  state_returned_to_bot: ["已交回机器人", "已交回機器人", "Back with bot"],
  // categories & reasons
  category_presales: ["售前", "售前", "Presales"],
  category_complaint: ["投诉", "投訴", "Complaint"],
  category_after_sales: ["售后", "售後", "After-sales"],
  category_other: ["其他", "其他", "Other"],
  reason_explicit_request: ["主动要求人工", "主動要求真人", "Asked for a person"],
  reason_complaint: ["投诉", "投訴", "Complaint"],
  reason_presales: ["售前需人工", "售前需真人", "Presales case"],
  reason_repeated_misses: ["连续未能回答", "連續未能回答", "Repeated misses"],
  reason_negative_sentiment: ["情绪强烈", "情緒強烈", "Strong negative sentiment"],
  reason_identity: ["身份验证失败", "身分驗證失敗", "Failed identity check"],
  // ticket view
  select_ticket: ["从左侧队列选择一个会话。", "從左側佇列選擇一個會話。", "Pick a conversation from the queue."],
  ticket_title: ["会话 #{id}", "會話 #{id}", "Conversation #{id}"],
  claim: ["接入", "接入", "Claim"],
  claimed_by: ["由 {name} 处理", "由 {name} 處理", "With {name}"],
  mine_pinned: ["我的", "我的", "Mine"],
  unread_count: ["{n} 条未读", "{n} 則未讀", "{n} unread"],
  unread_title: ["{n} 条新消息", "{n} 則新訊息", "{n} new"],
  notify_on: ["提醒：开", "提醒：開", "Alerts: on"],
  notify_off: ["提醒：关", "提醒：關", "Alerts: off"],
  notify_hint: ["我的会话有新消息时，桌面通知并响铃", "我的會話有新訊息時，桌面通知並響鈴",
    "A desktop notification and a sound when a customer writes on one of my conversations"],
  notify_denied: ["浏览器没有允许通知：请在网站设置里允许。", "瀏覽器沒有允許通知：請在網站設定裡允許。",
    "The browser does not allow notifications: allow them in the site settings."],
  notify_title: ["{name} 发来新消息", "{name} 傳來新訊息", "New message from {name}"],
  transfer: ["转接", "轉接", "Transfer"],
  transfer_to: ["转接到团队", "轉接到團隊", "Transfer to team"],
  hand_back: ["交回机器人", "交回機器人", "Hand back to bot"],
  hand_back_confirm: ["把会话交回机器人？顾客会收到通知。", "把會話交回機器人？顧客會收到通知。", "Hand this conversation back to the bot? The customer is told."],
  close: ["结束会话", "結束會話", "Close"],
  resolution: ["处理结果", "處理結果", "Resolution"],
  close_confirm: ["以“{r}”结束会话？顾客会被邀请评分。", "以「{r}」結束會話？顧客會被邀請評分。", "Close as “{r}”? The customer is asked for a rating."],
  read_only: ["该会话已结束，只能查看。", "該會話已結束，只能查看。", "This conversation is over; read only."],
  not_yours: ["该会话由 {name} 处理。", "該會話由 {name} 處理。", "{name} is handling this conversation."],
  claim_to_reply: ["接入后才能回复顾客。", "接入後才能回覆顧客。", "Claim the conversation to reply."],
  // transcript
  transcript: ["对话记录", "對話記錄", "Transcript"],
  author_customer: ["顾客", "顧客", "Customer"],
  author_bot: ["机器人", "機器人", "Bot"],
  author_agent: ["客服", "客服", "Agent"],
  author_system: ["系统", "系統", "System"],
  internal_note: ["内部备注 · 顾客不可见", "內部備註 · 顧客不可見", "Internal note · the customer never sees this"],
  before_handoff: ["转人工之前的对话", "轉真人之前的對話", "Before the handoff"],
  buttons_offered: ["提供的按钮：", "提供的按鈕：", "Buttons offered: "],
  card_order_status: ["订单卡片", "訂單卡片", "Order card"],
  card_stock: ["库存卡片", "庫存卡片", "Stock card"],
  card_order_list: ["订单列表", "訂單列表", "Order list"],
  card_other: ["卡片", "卡片", "Card"],
  new_messages: ["有新消息", "有新訊息", "New messages"],
  // composer
  reply: ["回复顾客", "回覆顧客", "Reply"],
  note: ["内部备注", "內部備註", "Internal note"],
  reply_placeholder: ["输入回复，Ctrl+Enter 发送", "輸入回覆，Ctrl+Enter 發送", "Type a reply. Ctrl+Enter sends"],
  note_placeholder: ["写一条内部备注（顾客看不到），Ctrl+Enter 保存", "寫一條內部備註（顧客看不到），Ctrl+Enter 儲存", "Write an internal note (the customer never sees it). Ctrl+Enter saves"],
  send: ["发送", "發送", "Send"],
  save_note: ["保存备注", "儲存備註", "Save note"],
  canned: ["快捷回复", "快捷回覆", "Canned responses"],
  canned_pick: ["插入快捷回复…", "插入快捷回覆…", "Insert a canned response…"],
  chars_left: ["还可输入 {n} 字", "還可輸入 {n} 字", "{n} characters left"],
  too_long: ["超过 {n} 字上限", "超過 {n} 字上限", "Over the {n}-character limit"],
  // confirm dialog
  cancel: ["取消", "取消", "Cancel"],
  ok: ["确定", "確定", "OK"],
  // presales on the dashboard
  presales_leads: ["售前线索", "售前線索", "Presales leads"],
  presales_with_lead: ["{m} 个售前会话中 {n} 个带线索", "{m} 個售前會話中 {n} 個帶線索", "{n} of {m} presales conversations came with a lead"],
  median_first_contact: ["首次联系用时（中位数）", "首次聯繫用時（中位數）", "Time to first contact (median)"],
  median_time_to_quote: ["报价用时（中位数）", "報價用時（中位數）", "Time to quote (median)"],
  leads_won_lost: ["成交 / 未成交", "成交 / 未成交", "Won / lost"],
  leads_won_lost_help: ["统计区间内创建的线索", "統計區間內建立的線索", "Leads created in the window"],
  qualification_rate: ["线索转化率", "線索轉化率", "Qualification rate"],
  qualification_help: ["另有 {n} 个需求未达企业采购标准，已引导直接下单", "另有 {n} 個需求未達企業採購標準，已引導直接下單", "{n} more were below the bulk threshold and pointed to checkout"],
  leads_by_product_line: ["线索：按产品线", "線索：按產品線", "Leads by product line"],
  leads_by_channel: ["线索：按渠道", "線索：按渠道", "Leads by channel"],
  // the lead card (presales)
  lead_card: ["报价线索", "報價線索", "Presales lead"],
  lead_type_quote: ["询价", "詢價", "Quote request"],
  lead_type_sample: ["索取样品", "索取樣品", "Sample request"],
  lead_priority_hot: ["热", "熱", "Hot"],
  lead_priority_warm: ["温", "溫", "Warm"],
  lead_status_new: ["新线索", "新線索", "New"],
  lead_status_contacted: ["已联系", "已聯繫", "Contacted"],
  lead_status_quoted: ["已报价", "已報價", "Quoted"],
  lead_status_won: ["已成交", "已成交", "Won"],
  lead_status_lost: ["未成交", "未成交", "Lost"],
  lead_move_contacted: ["标记为已联系", "標記為已聯繫", "Mark contacted"],
  lead_move_quoted: ["标记为已报价", "標記為已報價", "Mark quoted"],
  lead_move_won: ["成交", "成交", "Won"],
  lead_move_lost: ["未成交", "未成交", "Lost"],
  lead_moved: ["线索状态：{status}", "線索狀態：{status}", "Lead status: {status}"],
  lead_product: ["商品", "商品", "Product"],
  lead_product_line: ["产品线", "產品線", "Product line"],
  lead_quantity: ["数量", "數量", "Quantity"],
  lead_value: ["按标价估算", "按標價估算", "At list price"],
  lead_customisation: ["定制要求", "客製要求", "Customisation"],
  lead_cities: ["收货城市", "收貨城市", "Cities"],
  lead_region: ["区域", "區域", "Region"],
  lead_needed_by: ["需要日期", "需要日期", "Needed by"],
  lead_quote_due: ["报价期限", "報價期限", "Quote due"],
  lead_quote_overdue: ["报价已逾期", "報價已逾期", "Quote overdue"],
  lead_company: ["公司", "公司", "Company"],
  lead_contact_name: ["联系人", "聯絡人", "Contact"],
  lead_phone: ["电话", "電話", "Phone"],
  lead_email: ["邮箱", "電子郵件", "E-mail"],
  lead_wechat: ["微信", "微信", "WeChat"],
  lead_priority: ["优先级", "優先級", "Priority"],
  lead_type: ["类型", "類型", "Type"],
  lead_stock: ["库存说明", "庫存說明", "Stock note"],
  lead_note: ["客服备注", "客服備註", "Agent's note"],
  lead_notes: ["顾客原话（{n} 条）", "顧客原話（{n} 則）", "The customer's own words ({n})"],
  lead_owner: ["负责人", "負責人", "Owner"],
  lead_preferred: ["之前跟进", "之前跟進", "Dealt with before by"],
  preferred_agent: ["曾由 {name} 跟进", "曾由 {name} 跟進", "Previously with {name}"],
  lead_edit: ["编辑线索", "編輯線索", "Edit lead"],
  lead_save: ["保存线索", "儲存線索", "Save lead"],
  lead_saved: ["线索已保存", "線索已儲存", "Lead saved"],
  // context panel
  context: ["上下文", "上下文", "Context"],
  customer: ["顾客", "顧客", "Customer"],
  name: ["姓名", "姓名", "Name"],
  tier: ["等级", "等級", "Tier"],
  verified: ["已验证", "已驗證", "Verified"],
  not_verified: ["未验证", "未驗證", "Not verified"],
  customer_id: ["顾客编号", "顧客編號", "Customer id"],
  // customer record (one customer across channels)
  customer_record: ["顾客档案", "顧客檔案", "Customer record"],
  record_tickets: ["以往工单", "以往工單", "Earlier tickets"],
  record_conversations: ["各渠道会话", "各渠道會話", "Conversations on every channel"],
  record_orders: ["最近订单", "最近訂單", "Recent orders"],
  record_leads: ["进行中的报价线索", "進行中的報價線索", "Open leads"],
  record_channels: ["渠道数", "渠道數", "Channels"],
  record_none: ["暂无", "暫無", "None yet"],
  record_unverified: ["顾客未验证：只显示本会话的记录", "顧客未驗證：只顯示本會話的記錄", "Customer not verified: this conversation only"],
  record_this_ticket: ["当前工单", "目前工單", "this ticket"],
  record_this_conversation: ["当前会话", "目前會話", "this conversation"],
  record_other_team: ["其他团队的工单", "其他團隊的工單", "another team's ticket"],
  record_messages: ["{n} 条消息", "{n} 則訊息", "{n} messages"],
  record_no_csat: ["未评分", "未評分", "not rated"],
  record_seen: ["机器人展示于", "機器人展示於", "Shown by the bot"],
  record_transcript: ["会话记录（只读）", "會話記錄（唯讀）", "Transcript (read-only)"],
  record_transcript_error: ["读取会话失败：{reason}", "讀取會話失敗：{reason}", "Could not read the conversation: {reason}"],
  record_loading: ["正在读取…", "正在讀取…", "Loading…"],
  via_phone: ["手机尾号验证", "手機尾號驗證", "verified by phone digits"],
  via_wechat: ["微信绑定验证", "微信綁定驗證", "verified by bound WeChat"],
  via_wecom: ["企业微信绑定验证", "企業微信綁定驗證", "verified by bound WeCom"],
  via_web_token: ["网站登录验证", "網站登入驗證", "verified by website sign-in"],
  repeat_flag: ["7 天内重复来访", "7 天內重複來訪", "Repeat contact within 7 days"],
  repeat_of: ["上次工单 #{id}", "上次工單 #{id}", "earlier ticket #{id}"],
  repeat_short: ["重复来访", "重複來訪", "Repeat"],
  channel: ["渠道", "渠道", "Channel"],
  sender: ["会话标识", "會話標識", "Sender id"],
  ui_language: ["语言", "語言", "Language"],
  reason: ["原因", "原因", "Reason"],
  category: ["类别", "類別", "Category"],
  team: ["团队", "團隊", "Team"],
  priority: ["优先级", "優先級", "Priority"],
  trigger: ["触发", "觸發", "Trigger"],
  sentiment: ["情绪", "情緒", "Sentiment"],
  summary: ["摘要", "摘要", "Summary"],
  intents: ["意图与置信度", "意圖與置信度", "Intents and confidence"],
  slots: ["槽位", "槽位", "Slots"],
  facts: ["已查询的订单与库存", "已查詢的訂單與庫存", "Order and stock facts"],
  faq_candidates: ["机器人提供过的 FAQ", "機器人提供過的 FAQ", "FAQ candidates offered"],
  history: ["状态记录", "狀態記錄", "State history"],
  none: ["无", "無", "none"],
  sla: ["服务时限", "服務時限", "SLA"],
  sla_first_response: ["首次响应", "首次回應", "First response"],
  sla_resolve: ["投诉结案", "投訴結案", "Complaint resolution"],
  sla_left: ["剩余 {t}", "剩餘 {t}", "{t} left"],
  sla_overdue: ["已超时 {t}", "已逾時 {t}", "overdue by {t}"],
  sla_met: ["已达成", "已達成", "met"],
  csat: ["满意度", "滿意度", "CSAT"],
  csat_value: ["{n} / 5", "{n} / 5", "{n} / 5"],
  order: ["订单", "訂單", "Order"],
  status: ["状态", "狀態", "Status"],
  items: ["商品", "商品", "Items"],
  total: ["合计", "合計", "Total"],
  shipping: ["物流", "物流", "Shipping"],
  expected_delivery: ["预计送达", "預計送達", "Expected delivery"],
  next_step: ["下一步", "下一步", "Next step"],
  deliver_to: ["收货地址", "收貨地址", "Deliver to"],
  progress: ["进度", "進度", "Progress"],
  product: ["商品", "商品", "Product"],
  online_stock: ["线上库存", "線上庫存", "Online stock"],
  stores: ["门店", "門店", "Stores"],
  sentiment_strongly_negative: ["非常负面", "非常負面", "strongly negative"],
  sentiment_negative: ["负面", "負面", "negative"],
  sentiment_neutral: ["中性", "中性", "neutral"],
  sentiment_positive: ["正面", "正面", "positive"],
  // notices
  claimed_ok: ["已接入，顾客已收到通知。", "已接入，顧客已收到通知。", "Claimed. The customer has been told."],
  sent_ok: ["已发送", "已發送", "Sent"],
  note_ok: ["备注已保存", "備註已儲存", "Note saved"],
  undelivered: ["未送达：{reason}", "未送達：{reason}", "Not delivered: {reason}"],
  undelivered_toast: ["已保存，但顾客没有收到：{reason}", "已儲存，但顧客沒有收到：{reason}", "Saved, but the customer did not get it: {reason}"],
  undelivered_45015: ["顾客 48 小时内没有发消息，微信不允许主动回复", "顧客 48 小時內沒有發訊息，微信不允許主動回覆", "the customer has not written in the last 48 hours (WeChat's reply window is closed)"],
  undelivered_45047: ["顾客上次发消息后回复过多，微信已限制", "顧客上次發訊息後回覆過多，微信已限制", "too many messages since the customer last wrote (WeChat's limit)"],
  undelivered_43004: ["顾客已取消关注", "顧客已取消關注", "the customer has unfollowed the account"],
  undelivered_43019: ["顾客已拉黑公众号", "顧客已封鎖公眾號", "the customer has blocked the account"],
  undelivered_other: ["渠道拒绝投递（错误码 {code}）", "渠道拒絕投遞（錯誤碼 {code}）", "the channel refused delivery (errcode {code})"],
  session_ended: ["登录已失效，请重新登录", "登入已失效，請重新登入", "Your session has ended; please log in again"],
  transferred_ok: ["已转接到 {team}", "已轉接到 {team}", "Transferred to {team}"],
  transfer_pick: ["转接到…", "轉接到…", "Transfer to…"],
  transfer_confirm: ["把会话转给「{team}」？它会回到该团队的队列。", "把會話轉給「{team}」？它會回到該團隊的佇列。", "Transfer this conversation to {team}? It goes back to that team's queue."],
  transfer_note: ["给接手同事的备注（可选）", "給接手同事的備註（可選）", "A note for whoever takes it (optional)"],
  closed_ok: ["会话已结束，已邀请顾客评分。", "會話已結束，已邀請顧客評分。", "Closed. The customer was asked for a rating."],
  returned_ok: ["已交回机器人", "已交回機器人", "Handed back to the bot"],
  error_rasa: ["消息未能送达顾客（机器人服务不可用），没有任何改动，请重试。", "訊息未能送達顧客（機器人服務不可用），沒有任何改動，請重試。", "The customer could not be reached (the bot server is down). Nothing changed; please retry."],
  error_conflict: ["操作未完成：{m}", "操作未完成：{m}", "Not done: {m}"],
  error_generic: ["出错了：{m}", "出錯了：{m}", "Something went wrong: {m}"],
  error_forbidden: ["没有权限：{m}", "沒有權限：{m}", "Not allowed: {m}"],
  ticket_gone: ["该会话已转出你的团队。", "該會話已轉出你的團隊。", "This conversation moved out of your teams."],
  new_ticket_notice: ["新会话 #{id} 进入队列", "新會話 #{id} 進入佇列", "New conversation #{id} in the queue"],
  // dashboard
  window_days: ["统计区间", "統計區間", "Window"],
  days_n: ["最近 {n} 天", "最近 {n} 天", "last {n} days"],
  refresh: ["刷新", "重新整理", "Refresh"],
  conversations: ["会话数", "會話數", "Conversations"],
  handed_off: ["转人工", "轉真人", "Handed off"],
  containment_rate: ["机器人自助解决率", "機器人自助解決率", "Containment rate"],
  containment_help: ["没有转人工的会话占比", "沒有轉真人的會話佔比", "Share of conversations resolved without a person"],
  handoff_by_reason: ["按原因的转人工率", "按原因的轉真人率", "Handoff rate by reason"],
  faq_answer_rate: ["FAQ 回答率", "FAQ 回答率", "FAQ answer rate"],
  faq_answered: ["已回答", "已回答", "answered"],
  faq_clarify: ["追问确认", "追問確認", "asked to clarify"],
  faq_no_answer: ["无答案", "無答案", "no answer"],
  median_first_response: ["首次响应中位数", "首次回應中位數", "Median first response"],
  median_handle: ["处理时长中位数", "處理時長中位數", "Median handle time"],
  csat_average: ["满意度均分", "滿意度均分", "CSAT average"],
  csat_distribution: ["满意度分布", "滿意度分佈", "CSAT distribution"],
  ratings_n: ["{n} 个评分", "{n} 個評分", "{n} ratings"],
  samples_n: ["{n} 个样本", "{n} 個樣本", "{n} samples"],
  // dashboard: service measures (issue 23)
  range_custom: ["自定义日期", "自訂日期", "Custom dates"],
  date_from: ["开始日期", "開始日期", "From"],
  date_to: ["结束日期", "結束日期", "To"],
  breakdown_by: ["细分", "細分", "Break down by"],
  by_channel: ["按渠道", "按渠道", "By channel"],
  by_language: ["按语言", "按語言", "By language"],
  export_csv: ["导出 CSV", "匯出 CSV", "Export CSV"],
  range_days: ["{a} 至 {b}（UTC，{n} 天）", "{a} 至 {b}（UTC，{n} 天）", "{a} to {b} (UTC, {n} days)"],
  fcr_rate: ["首次联系解决率", "首次聯繫解決率", "First-contact resolution"],
  fcr_help: ["已结束工单 {m} 个，一次解决 {n} 个", "已結束工單 {m} 張，一次解決 {n} 張", "{n} of {m} finished tickets"],
  repeat_rate: ["7 天内重复联系率", "7 天內重複聯繫率", "Repeat contacts within 7 days"],
  repeat_help: ["{m} 次联系中 {n} 次在 7 天内再次联系", "{m} 次聯繫中 {n} 次在 7 天內再次聯繫", "{n} of {m} contacts came back within 7 days"],
  answer_helpful: ["答案有帮助（👍）", "答案有幫助（👍）", "Helpful answers (👍)"],
  votes_n: ["{n} 次评价", "{n} 次評價", "{n} votes"],
  bot_csat: ["机器人满意度", "機器人滿意度", "Bot CSAT"],
  agent_csat: ["人工满意度", "真人滿意度", "Agent CSAT"],
  ces_average: ["客户费力度（CES）", "客戶費力度（CES）", "Customer effort (CES)"],
  ces_help: ["1 很容易 … 5 很费力 · {n} 个评分", "1 很容易 … 5 很費力 · {n} 個評分", "1 very easy … 5 very hard · {n} ratings"],
  follow_ups: ["低分回访", "低分回訪", "Follow-ups"],
  follow_ups_help: ["人工满意度低分的工单", "真人滿意度低分的工單", "Tickets rated low"],
  breakdown_title: ["各渠道 / 语言的服务指标", "各渠道 / 語言的服務指標", "Service measures by channel / language"],
  value_unknown: ["未知", "未知", "Unknown"],
  followups_title: ["待主管跟进的低分工单", "待主管跟進的低分工單", "Low ratings for a supervisor to follow up"],
  followups_none: ["没有待跟进的低分工单", "沒有待跟進的低分工單", "No low ratings waiting"],
  followup_ticket: ["工单 #{id}", "工單 #{id}", "Ticket #{id}"],
  followup_rated: ["{n} 星 · {agent} · {t}", "{n} 星 · {agent} · {t}", "{n}★ · {agent} · {t}"],
  followup_note: ["处理说明", "處理說明", "What was done"],
  followup_done: ["标记已跟进", "標記已跟進", "Mark done"],
  followup_done_ok: ["已标记为已跟进", "已標記為已跟進", "Marked as followed up"],
  followup_write_note: ["请先写下处理说明", "請先寫下處理說明", "Write what was done first"],
  daily: ["每日会话与转人工", "每日會話與轉真人", "Daily conversations and handoffs"],
  queue_now: ["当前队列", "目前佇列", "Queue now"],
  queued_n: ["排队 {n}", "排隊 {n}", "{n} waiting"],
  assigned_n: ["处理中 {n}", "處理中 {n}", "{n} assigned"],
  oldest_wait: ["最长等待 {t}", "最長等待 {t}", "oldest wait {t}"],
  unanswered: ["知识库未回答的问题", "知識庫未回答的問題", "Unanswered questions (knowledge base)"],
  unanswered_unavailable: ["未回答问题记录暂不可用：{m}", "未回答問題記錄暫不可用：{m}", "The unanswered-questions log is not available: {m}"],
  unanswered_none: ["这段时间没有未回答的问题。", "這段時間沒有未回答的問題。", "No unanswered questions in this window."],
  question: ["问题", "問題", "Question"],
  count: ["次数", "次數", "Count"],
  examples: ["示例", "示例", "Examples"],
  last_seen: ["最近一次", "最近一次", "Last seen"],
  // the learning loop (unanswered questions -> knowledge base)
  review: ["处理", "處理", "Review"],
  link_to_entry: ["归入已有条目", "歸入既有條目", "Link to an entry"],
  link: ["归入", "歸入", "Link"],
  new_entry: ["新建条目", "新建條目", "New entry"],
  dismiss: ["忽略", "忽略", "Dismiss"],
  answer_text: ["答案", "答案", "Answer"],
  answer_language: ["答案语言", "答案語言", "Answer language"],
  entry_id_optional: ["条目 ID（可选）", "條目 ID（選填）", "Entry id (optional)"],
  create_entry: ["创建并上线", "建立並上線", "Create and publish"],
  choose_entry: ["请先选择一个条目", "請先選擇一個條目", "Choose an entry first"],
  write_answer: ["请先填写答案", "請先填寫答案", "Write the answer first"],
  learn_linked: ["已归入 {id}：新增 {n} 个问法", "已歸入 {id}：新增 {n} 個問法", "Linked to {id}: {n} new phrasings"],
  learn_drafted: ["已创建条目 {id}", "已建立條目 {id}", "Entry {id} created"],
  learn_dismissed: ["已忽略 {n} 个问题", "已忽略 {n} 個問題", "{n} questions dismissed"],
  learn_removed: ["已撤销", "已撤銷", "Undone"],
  kb_building: ["知识库更新中…", "知識庫更新中…", "Updating the knowledge base…"],
  kb_updated: ["知识库已更新（{t}，{n} 个条目）", "知識庫已更新（{t}，{n} 個條目）", "Knowledge base updated ({t}, {n} entries)"],
  kb_failed: ["知识库更新失败，仍在使用上一版：{m}", "知識庫更新失敗，仍在使用上一版：{m}", "Knowledge base update failed; the previous version still answers: {m}"],
  learned_recent: ["最近学到的", "最近學到的", "Recently learned"],
  learned_none: ["还没有从未回答问题中学到内容。", "還沒有從未回答問題中學到內容。", "Nothing learned from unanswered questions yet."],
  undo: ["撤销", "撤銷", "Undo"],
  no_data: ["暂无数据", "暫無資料", "no data yet"],
  agents: ["客服在线情况", "客服在線情況", "Agents"],
  online: ["在线", "在線", "online"],
  offline: ["离线", "離線", "offline"],
  open_tickets_n: ["{n} 个处理中", "{n} 個處理中", "{n} open"],
  supervisors_only: ["看板仅对主管开放。", "看板僅對主管開放。", "The dashboard is for supervisors."],
  chart_desc_bar: ["{label}：{value}", "{label}：{value}", "{label}: {value}"],
  role_agent: ["客服", "客服", "agent"],
  role_supervisor: ["主管", "主管", "supervisor"],
};

const INDEX = { "zh-Hans": 0, "zh-Hant": 1, en: 2 };

export function normaliseLang(raw) {
  if (!raw) return null;
  const v = String(raw).toLowerCase();
  if (v === "en" || v.startsWith("en-")) return "en";
  if (v.includes("hant") || v === "zh-tw" || v === "zh-hk" || v === "zh-mo") return "zh-Hant";
  if (v.startsWith("zh")) return "zh-Hans";
  return null;
}

export function getLang() {
  let stored = null;
  try { stored = localStorage.getItem(STORAGE_KEY); } catch (_) { /* storage blocked */ }
  if (LANGUAGES.includes(stored)) return stored;
  for (const l of navigator.languages || [navigator.language]) {
    const n = normaliseLang(l);
    if (n) return n;
  }
  return "zh-Hans";
}

export function setLang(lang) {
  if (!LANGUAGES.includes(lang)) return;
  try { localStorage.setItem(STORAGE_KEY, lang); } catch (_) { /* storage blocked */ }
  document.documentElement.lang = lang;
  applyI18n(document);
  document.dispatchEvent(new CustomEvent("kefu:lang", { detail: lang }));
}

/** t("queue_count", {n: 3}) in the current UI language; unknown keys come back as the key. */
export function t(key, vars = {}, lang = getLang()) {
  const row = S[key];
  let text = row ? row[INDEX[lang] ?? 0] : key;
  for (const [k, v] of Object.entries(vars)) text = text.split(`{${k}}`).join(String(v));
  return text;
}

export function hasKey(key) {
  return Object.prototype.hasOwnProperty.call(S, key);
}

/** A {zh-Hans, zh-Hant, en} object from the server in the UI language. */
export function pick(names, lang = getLang()) {
  if (!names || typeof names !== "object") return names == null ? "" : String(names);
  return names[lang] || names["zh-Hans"] || names.en || Object.values(names)[0] || "";
}

export function applyI18n(root) {
  document.documentElement.lang = getLang();
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of root.querySelectorAll("[data-i18n-aria-label]")) node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
  for (const node of root.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
}

/** Fill a <select> with the three languages and keep it in sync. */
export function bindLanguageSelect(select) {
  for (const lang of LANGUAGES) {
    const option = document.createElement("option");
    option.value = lang;
    option.textContent = LANGUAGE_NAMES[lang];
    select.appendChild(option);
  }
  select.value = getLang();
  select.addEventListener("change", () => setLang(select.value));
}

// The widget's CSS, scoped inside its shadow root so the shop's styles never leak in or out.
export function css(colors) {
  const primary = colors.primary || "#d0312d";
  const onPrimary = colors.onPrimary || "#ffffff";
  const bot = colors.botBubble || "#f1f3f5";
  const user = colors.userBubble || primary;
  const onUser = colors.onUserBubble || onPrimary;
  const agent = colors.agentBubble || "#e8f3ff";
  return `
:host { all: initial; }
* { box-sizing: border-box; }
.kefu { position: fixed; bottom: 20px; z-index: 2147483000; font: 14px/1.5 -apple-system, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "Noto Sans CJK SC", "Noto Sans", Arial, sans-serif; color: #1f2328; }
.kefu.right { right: 20px; } .kefu.left { left: 20px; }
.launcher { width: 60px; height: 60px; border-radius: 50%; border: none; background: ${primary}; color: ${onPrimary}; cursor: pointer; box-shadow: 0 6px 20px rgba(0,0,0,.25); display: flex; align-items: center; justify-content: center; position: relative; }
.launcher:focus-visible, button:focus-visible, textarea:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
.launcher svg { width: 28px; height: 28px; fill: currentColor; }
.badge { position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px; border-radius: 11px; background: #1a73e8; color: #fff; font-size: 12px; font-weight: 700; line-height: 22px; text-align: center; border: 2px solid #fff; }
.badge[hidden] { display: none; }
.panel { position: absolute; bottom: 76px; width: 380px; height: min(640px, calc(100vh - 120px)); background: #fff; border-radius: 14px; box-shadow: 0 12px 40px rgba(0,0,0,.28); display: flex; flex-direction: column; overflow: hidden; }
.kefu.right .panel { right: 0; } .kefu.left .panel { left: 0; }
.panel[hidden] { display: none; }
header { background: ${primary}; color: ${onPrimary}; padding: 12px 14px; display: flex; align-items: center; gap: 10px; }
header img.avatar, header .avatar { width: 36px; height: 36px; border-radius: 50%; background: rgba(255,255,255,.25); object-fit: cover; flex: none; display: flex; align-items: center; justify-content: center; font-weight: 700; }
header .titles { flex: 1; min-width: 0; }
header h2 { margin: 0; font-size: 16px; font-weight: 600; }
header .status { font-size: 12px; opacity: .92; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
header .status.agent::before { content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: #3ddc84; margin-right: 6px; }
header button.close { background: transparent; border: none; color: inherit; font-size: 24px; line-height: 1; width: 44px; height: 44px; cursor: pointer; border-radius: 8px; }
.netbar { background: #fff4e5; color: #7a4b00; font-size: 12px; padding: 6px 12px; text-align: center; }
.netbar[hidden] { display: none; }
.log { flex: 1; overflow-y: auto; padding: 14px 12px; display: flex; flex-direction: column; gap: 8px; background: #fff; overscroll-behavior: contain; }
.row { display: flex; flex-direction: column; max-width: 86%; }
.row.user { align-self: flex-end; align-items: flex-end; }
.row.bot, .row.agent { align-self: flex-start; align-items: flex-start; }
.who { font-size: 11px; color: #57606a; margin: 0 4px 2px; }
.row.agent .who { color: #0b57d0; font-weight: 600; }
.bubble { padding: 8px 12px; border-radius: 14px; white-space: pre-wrap; word-break: break-word; overflow-wrap: anywhere; }
.row.bot .bubble { background: ${bot}; border-top-left-radius: 4px; }
.row.agent .bubble { background: ${agent}; border: 1px solid #b6d4fe; border-top-left-radius: 4px; }
.row.user .bubble { background: ${user}; color: ${onUser}; border-top-right-radius: 4px; }
.meta { font-size: 11px; color: #6e7781; margin: 2px 4px 0; }
.row.user.failed .bubble { opacity: .7; }
.row.user.failed .meta { color: #cf222e; }
.notice { align-self: center; max-width: 92%; text-align: center; font-size: 12px; color: #57606a; background: #f6f8fa; border-radius: 12px; padding: 4px 12px; }
.notice.handoff { background: #e8f3ff; color: #0b57d0; font-weight: 600; }
.notice.error { background: #ffebe9; color: #a40e26; }
.replies { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 6px; }
.replies button { border: 1px solid ${primary}; color: ${primary}; background: #fff; border-radius: 16px; padding: 6px 12px; font: inherit; font-size: 13px; cursor: pointer; min-height: 32px; }
.replies button:hover { background: ${primary}; color: ${onPrimary}; }
.replies button:disabled { opacity: .5; cursor: default; background: #fff; color: ${primary}; }
.card { margin-top: 6px; border: 1px solid #d0d7de; border-radius: 12px; padding: 10px 12px; background: #fff; min-width: 220px; max-width: 100%; }
.card h3 { margin: 0 0 6px; font-size: 14px; display: flex; justify-content: space-between; gap: 8px; }
.card .pill { font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 10px; background: #ddf4ff; color: #0969da; white-space: nowrap; }
.card dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; margin: 0; font-size: 13px; }
.card dt { color: #57606a; } .card dd { margin: 0; word-break: break-word; }
.card ul { margin: 4px 0; padding-left: 18px; font-size: 13px; }
.card .ok { color: #1a7f37; font-weight: 600; } .card .no { color: #cf222e; font-weight: 600; }
.card .timeline li { color: #57606a; }
.card .stores-title { margin-top: 6px; font-size: 13px; color: #57606a; }
.csat { display: flex; flex-direction: column; align-items: center; gap: 4px; align-self: center; background: #fffbe6; border: 1px solid #f5d90a; border-radius: 12px; padding: 8px 12px; }
.csat .stars { display: flex; gap: 2px; }
.csat button { background: none; border: none; font-size: 28px; line-height: 1; color: #d0d7de; cursor: pointer; padding: 4px; min-width: 40px; min-height: 40px; }
.csat button.on { color: #f5a623; }
.csat button:disabled { cursor: default; }
.thumbs { display: flex; align-items: center; gap: 2px; margin-top: 2px; font-size: 12px; color: #57606a; }
.thumbs-label { margin-right: 4px; }
.thumbs button { background: none; border: 1px solid transparent; border-radius: 12px; font-size: 15px; line-height: 1; cursor: pointer; padding: 4px 6px; min-width: 32px; min-height: 32px; filter: grayscale(1); opacity: .7; }
.thumbs button:hover:not(:disabled), .thumbs button:focus-visible { filter: none; opacity: 1; border-color: #d0d7de; }
.thumbs button.on { filter: none; opacity: 1; border-color: #d0d7de; background: #fff; }
.thumbs button:disabled { cursor: default; }
.thumbs button:disabled:not(.on) { opacity: .3; }
.typing { align-self: flex-start; background: ${bot}; border-radius: 14px; padding: 10px 14px; display: flex; gap: 4px; }
.typing[hidden] { display: none; }
.typing span { width: 7px; height: 7px; border-radius: 50%; background: #8c959f; animation: kefu-blink 1.2s infinite ease-in-out; }
.typing span:nth-child(2) { animation-delay: .2s; } .typing span:nth-child(3) { animation-delay: .4s; }
@keyframes kefu-blink { 0%, 80%, 100% { opacity: .3; transform: translateY(0); } 40% { opacity: 1; transform: translateY(-3px); } }
@media (prefers-reduced-motion: reduce) { .typing span { animation: none; } }
form { display: flex; gap: 8px; padding: 10px; border-top: 1px solid #eaeef2; background: #fff; align-items: flex-end; }
textarea { flex: 1; resize: none; border: 1px solid #d0d7de; border-radius: 10px; padding: 9px 10px; font: inherit; max-height: 110px; min-height: 40px; }
form button { background: ${primary}; color: ${onPrimary}; border: none; border-radius: 10px; padding: 0 16px; height: 40px; font: inherit; font-weight: 600; cursor: pointer; }
.stamp { font-size: 11px; color: #6e7781; }
.row .who .stamp { color: #6e7781; font-weight: 400; }
.foot { display: flex; gap: 6px; justify-content: flex-end; align-items: baseline; margin: 2px 4px 0; }
.foot .meta { margin: 0; }
.foot .meta[hidden] { display: none; }
.row.user.attachment .bubble { padding: 4px; background: #fff; border: 1px solid #d0d7de; color: #1f2328; }
.row.user .photo { display: block; max-width: 220px; max-height: 260px; border-radius: 10px; background: #f6f8fa; min-width: 60px; min-height: 40px; }
.file-chip { display: inline-block; padding: 6px 10px; color: #0b57d0; text-decoration: none; }
.missing { opacity: .5; }
form button.attach { background: #fff; color: #57606a; border: 1px solid #d0d7de; padding: 0 10px; font-size: 18px; font-weight: 400; }
.suggestions { display: flex; flex-wrap: wrap; gap: 6px; align-self: flex-start; max-width: 92%; }
.suggestions-title { width: 100%; font-size: 12px; color: #57606a; margin-left: 2px; }
.suggestions .chip { border: 1px solid ${primary}; color: ${primary}; background: #fff; border-radius: 16px; padding: 6px 12px; font: inherit; font-size: 13px; cursor: pointer; min-height: 32px; text-align: left; }
.suggestions .chip:hover { background: ${primary}; color: ${onPrimary}; }
form.contact { display: flex; flex-direction: column; gap: 6px; align-self: stretch; border: 1px solid #b6d4fe; background: #f5f9ff; border-radius: 12px; padding: 10px 12px; border-top: 1px solid #b6d4fe; align-items: stretch; }
.contact-title { font-weight: 600; color: #0b57d0; }
.contact-help { margin: 0; font-size: 12px; color: #57606a; }
form.contact .field { display: grid; grid-template-columns: 64px 1fr; align-items: center; gap: 6px; }
form.contact label { font-size: 13px; color: #57606a; }
form.contact input { border: 1px solid #d0d7de; border-radius: 8px; padding: 6px 8px; font: inherit; min-height: 34px; min-width: 0; }
form.contact input[aria-invalid="true"] { border-color: #cf222e; }
.contact-error { color: #a40e26; font-size: 12px; }
.contact-error[hidden] { display: none; }
.contact-actions { display: flex; gap: 8px; justify-content: flex-end; }
.contact-actions button { height: 34px; padding: 0 12px; }
.contact-actions button.secondary { background: #fff; color: #57606a; border: 1px solid #d0d7de; font-weight: 400; }
.notice.reply-notice { background: #fff8c5; color: #6b4b00; font-weight: 600; }
.csat form.comment { display: flex; flex-direction: column; gap: 4px; border: none; padding: 4px 0 0; background: transparent; align-items: stretch; width: 100%; }
.csat form.comment label { font-size: 12px; color: #57606a; }
.csat form.comment textarea { min-height: 52px; }
.csat form.comment button { height: 32px; align-self: flex-end; font-size: 14px; color: ${onPrimary}; background: ${primary}; border-radius: 10px; min-width: 0; min-height: 0; padding: 0 12px; }
.comment-status { font-size: 12px; color: #a40e26; }
.comment-done { font-size: 12px; color: #1a7f37; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0,0,0,0); white-space: nowrap; border: 0; }
@media (max-width: 480px) {
  .kefu { bottom: 12px; } .kefu.right { right: 12px; } .kefu.left { left: 12px; }
  .kefu.open { inset: 0; bottom: 0; }
  .kefu.open .launcher { display: none; }
  .kefu.open .panel { position: fixed; inset: 0; width: 100vw; height: 100%; border-radius: 0; bottom: 0; }
  .row { max-width: 90%; }
  textarea, form.contact input { font-size: 16px; }
}
`;
}

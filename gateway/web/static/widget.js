/* babelcast embeddable chat widget: <babelcast-chat room="demo" lang="pt" name="Ana">.
 *
 *   <script src="https://gateway.example/widget.js"></script>
 *   <babelcast-chat room="demo"></babelcast-chat>
 *
 * A custom element with its own Shadow DOM: no dependencies, no build step, no external
 * resources. Every piece of text from users or the server is inserted with textContent (never
 * innerHTML), so markup in a comment shows as text. Wire protocol: JSON text frames on
 * /v1/rooms/<room>/ws (docs/protocol.md). Theming and attributes: docs/widget.md.
 */
(function () {
  "use strict";

  if (typeof customElements === "undefined" || customElements.get("babelcast-chat")) return;

  // The gateway this script came from: the default for the `server` attribute.
  const SCRIPT_ORIGIN = (function () {
    try {
      const src = document.currentScript && document.currentScript.src;
      if (src) return new URL(src, location.href).origin;
    } catch (_) { /* fall through */ }
    return location.origin;
  })();

  const LANGUAGES = [
    ["en", "English"], ["pt", "Português"], ["es", "Español"], ["fr", "Français"],
    ["de", "Deutsch"], ["it", "Italiano"], ["ko", "한국어"], ["ja", "日本語"],
    ["zh", "中文"], ["ar", "العربية"], ["hi", "हिन्दी"], ["ru", "Русский"],
    ["id", "Bahasa Indonesia"], ["vi", "Tiếng Việt"], ["th", "ไทย"], ["tr", "Türkçe"],
  ];
  const CLOSE_BAD_HANDSHAKE = 4400;
  const CLOSE_SLOW_CONSUMER = 4408;
  const CLOSE_RATE_LIMITED = 4429;
  const BACKOFF_BASE_MS = 500;
  const BACKOFF_MAX_MS = 15000;
  const PING_EVERY_MS = 25000;
  const SILENCE_LIMIT_MS = 60000;
  const MAX_MESSAGES = 300;
  const ERROR_SHOW_MS = 8000;

  // The widget's own words, in the viewer's reading language (English for the others).
  // Language names come from Intl.DisplayNames in the same language.
  // The comment frame's optional `from` (docs/protocol.md) -> the badge's word.
  const FROM_KEYS = { shop: "fromShop", host: "fromHost", system: "fromSystem" };

  const STRINGS = {
    en: {
      send: "Send", placeholder: "Say something…", message: "Message", language: "Language",
      pinned: "📌 Pinned", pinnedMessage: "Pinned message",
      connecting: "connecting…", reconnecting: "reconnecting…", connected: "connected",
      offline: "offline", retrying: (s) => `offline · retrying in ${s}s`,
      notConnected: "not connected", switching: "switching language…",
      viewers: (n) => `${n} ${n === 1 ? "viewer" : "viewers"}`,
      translating: "translating…", translatedFrom: (l) => `translated from ${l}`,
      fromShop: "Shop", fromHost: "Host", fromSystem: "System",
      showOriginal: "show original", hideOriginal: "hide original",
      unknownLanguage: "an unknown language", empty: "No comments yet — say hi 👋",
      notTranslated: "not translated",
      no_route: (s, t) => `not translated: no model for ${s} → ${t} yet`,
      engine_error: "not translated: the translator failed on this message",
      timeout: "not translated: the translation took too long",
      overloaded: "not translated: the translator is busy right now",
      no_translator: "not translated: no translator is available right now",
      rate_limited: "You are sending too fast. Wait a moment and try again.",
      text_too_long: (n) => `Your message is too long (limit ${n} characters).`,
      empty_text: "Your message is empty.",
      frame_too_large: "Your message is too large.",
      invalid_lang: "That language is not supported.",
      forbidden: "You are not allowed to do that.",
      internal_error: "The server failed on that message; it was not delivered.",
      unavailable: "The chat is temporarily unavailable.",
      invalid_room: "This chat room name is not valid.",
      invalid_name: "This name is not valid.",
      muted: "A host muted you in this room; your message was not sent.",
      unacked: "The connection dropped before your last message was confirmed; check and "
        + "resend.",
      refused: "The server refused to join this room.",
      generic: "Something went wrong.",
    },
    pt: {
      send: "Enviar", placeholder: "Diga algo…", message: "Mensagem", language: "Idioma",
      pinned: "📌 Fixado", pinnedMessage: "Mensagem fixada",
      connecting: "conectando…", reconnecting: "reconectando…", connected: "conectado",
      offline: "offline", retrying: (s) => `offline · nova tentativa em ${s}s`,
      notConnected: "não conectado", switching: "mudando de idioma…",
      viewers: (n) => `${n} ${n === 1 ? "espectador" : "espectadores"}`,
      translating: "traduzindo…", translatedFrom: (l) => `traduzido do ${l}`,
      fromShop: "Loja", fromHost: "Apresentador", fromSystem: "Sistema",
      showOriginal: "ver original", hideOriginal: "ocultar original",
      unknownLanguage: "idioma desconhecido", empty: "Nenhum comentário ainda — diga oi 👋",
      notTranslated: "não traduzido",
      no_route: (s, t) => `não traduzido: ainda não há modelo para ${s} → ${t}`,
      engine_error: "não traduzido: o tradutor falhou nesta mensagem",
      timeout: "não traduzido: a tradução demorou demais",
      overloaded: "não traduzido: o tradutor está ocupado agora",
      no_translator: "não traduzido: nenhum tradutor disponível agora",
      rate_limited: "Você está enviando rápido demais. Espere um pouco e tente de novo.",
      text_too_long: (n) => `Sua mensagem é longa demais (limite de ${n} caracteres).`,
      empty_text: "Sua mensagem está vazia.",
      frame_too_large: "Sua mensagem é grande demais.",
      invalid_lang: "Esse idioma não é suportado.",
      forbidden: "Você não tem permissão para fazer isso.",
      internal_error: "O servidor falhou com essa mensagem; ela não foi entregue.",
      unavailable: "O chat está temporariamente indisponível.",
      invalid_room: "O nome desta sala não é válido.",
      invalid_name: "Este nome não é válido.",
      muted: "Um anfitrião silenciou você nesta sala; sua mensagem não foi enviada.",
      unacked: "A conexão caiu antes de sua última mensagem ser confirmada; confira e envie "
        + "de novo.",
      refused: "O servidor recusou a entrada nesta sala.",
      generic: "Algo deu errado.",
    },
    es: {
      send: "Enviar", placeholder: "Escribe algo…", message: "Mensaje", language: "Idioma",
      pinned: "📌 Fijado", pinnedMessage: "Mensaje fijado",
      connecting: "conectando…", reconnecting: "reconectando…", connected: "conectado",
      offline: "sin conexión", retrying: (s) => `sin conexión · reintento en ${s} s`,
      notConnected: "no conectado", switching: "cambiando de idioma…",
      viewers: (n) => `${n} ${n === 1 ? "espectador" : "espectadores"}`,
      translating: "traduciendo…", translatedFrom: (l) => `traducido del ${l}`,
      fromShop: "Tienda", fromHost: "Presentador", fromSystem: "Sistema",
      showOriginal: "ver original", hideOriginal: "ocultar original",
      unknownLanguage: "idioma desconocido", empty: "Aún no hay comentarios — ¡saluda! 👋",
      notTranslated: "sin traducir",
      no_route: (s, t) => `sin traducir: aún no hay modelo para ${s} → ${t}`,
      engine_error: "sin traducir: el traductor falló con este mensaje",
      timeout: "sin traducir: la traducción tardó demasiado",
      overloaded: "sin traducir: el traductor está ocupado ahora",
      no_translator: "sin traducir: no hay ningún traductor disponible ahora",
      rate_limited: "Estás enviando demasiado rápido. Espera un momento y vuelve a intentarlo.",
      text_too_long: (n) => `Tu mensaje es demasiado largo (límite de ${n} caracteres).`,
      empty_text: "Tu mensaje está vacío.",
      frame_too_large: "Tu mensaje es demasiado grande.",
      invalid_lang: "Ese idioma no está disponible.",
      forbidden: "No tienes permiso para hacer eso.",
      internal_error: "El servidor falló con ese mensaje; no se entregó.",
      unavailable: "El chat no está disponible temporalmente.",
      invalid_room: "El nombre de esta sala no es válido.",
      invalid_name: "Este nombre no es válido.",
      muted: "Un anfitrión te silenció en esta sala; tu mensaje no se envió.",
      unacked: "La conexión se cortó antes de confirmar tu último mensaje; revísalo y "
        + "reenvíalo.",
      refused: "El servidor no permitió entrar en esta sala.",
      generic: "Algo salió mal.",
    },
    ko: {
      send: "보내기", placeholder: "메시지를 입력하세요…", message: "메시지", language: "언어",
      pinned: "📌 고정됨", pinnedMessage: "고정된 메시지",
      connecting: "연결 중…", reconnecting: "다시 연결 중…", connected: "연결됨",
      offline: "오프라인", retrying: (s) => `오프라인 · ${s}초 후 다시 시도`,
      notConnected: "연결되지 않음", switching: "언어 변경 중…",
      viewers: (n) => `시청자 ${n}명`,
      translating: "번역 중…", translatedFrom: (l) => `${l}에서 번역됨`,
      showOriginal: "원문 보기", hideOriginal: "원문 숨기기",
      unknownLanguage: "알 수 없는 언어", empty: "아직 댓글이 없어요 — 인사를 남겨 보세요 👋",
      notTranslated: "번역되지 않음",
      no_route: (s, t) => `번역되지 않음: 아직 ${s} → ${t} 번역 모델이 없습니다`,
      engine_error: "번역되지 않음: 이 메시지를 번역하지 못했습니다",
      timeout: "번역되지 않음: 번역이 너무 오래 걸렸습니다",
      overloaded: "번역되지 않음: 번역기가 지금 바쁩니다",
      no_translator: "번역되지 않음: 지금 사용할 수 있는 번역기가 없습니다",
      rate_limited: "너무 빨리 보내고 있어요. 잠시 후 다시 시도하세요.",
      text_too_long: (n) => `메시지가 너무 깁니다 (최대 ${n}자).`,
      empty_text: "메시지가 비어 있습니다.",
      frame_too_large: "메시지가 너무 큽니다.",
      invalid_lang: "지원하지 않는 언어입니다.",
      forbidden: "이 작업을 할 권한이 없습니다.",
      internal_error: "서버가 이 메시지를 처리하지 못해 전달되지 않았습니다.",
      unavailable: "채팅을 잠시 사용할 수 없습니다.",
      invalid_room: "채팅방 이름이 올바르지 않습니다.",
      invalid_name: "이 이름은 사용할 수 없습니다.",
      muted: "호스트가 이 방에서 회원님을 음소거했습니다. 메시지가 전송되지 않았습니다.",
      unacked: "마지막 메시지가 확인되기 전에 연결이 끊겼습니다. 확인 후 다시 보내세요.",
      refused: "서버가 이 방 입장을 거부했습니다.",
      generic: "문제가 발생했습니다.",
    },
    ja: {
      send: "送信", placeholder: "メッセージを入力…", message: "メッセージ", language: "言語",
      pinned: "📌 固定", pinnedMessage: "固定されたメッセージ",
      connecting: "接続中…", reconnecting: "再接続中…", connected: "接続済み",
      offline: "オフライン", retrying: (s) => `オフライン · ${s}秒後に再試行`,
      notConnected: "未接続", switching: "言語を切り替え中…",
      viewers: (n) => `視聴者 ${n}人`,
      translating: "翻訳中…", translatedFrom: (l) => `${l}から翻訳`,
      showOriginal: "原文を表示", hideOriginal: "原文を隠す",
      unknownLanguage: "不明な言語", empty: "まだコメントはありません — あいさつしてみましょう 👋",
      notTranslated: "未翻訳",
      no_route: (s, t) => `未翻訳: ${s} → ${t} の翻訳モデルはまだありません`,
      engine_error: "未翻訳: このメッセージの翻訳に失敗しました",
      timeout: "未翻訳: 翻訳に時間がかかりすぎました",
      overloaded: "未翻訳: 翻訳エンジンが混み合っています",
      no_translator: "未翻訳: 現在利用できる翻訳エンジンがありません",
      rate_limited: "送信が速すぎます。少し待ってからもう一度お試しください。",
      text_too_long: (n) => `メッセージが長すぎます（上限 ${n} 文字）。`,
      empty_text: "メッセージが空です。",
      frame_too_large: "メッセージが大きすぎます。",
      invalid_lang: "その言語には対応していません。",
      forbidden: "この操作は許可されていません。",
      internal_error: "サーバーでエラーが発生し、メッセージは配信されませんでした。",
      unavailable: "チャットは一時的に利用できません。",
      invalid_room: "チャットルーム名が正しくありません。",
      invalid_name: "この名前は使えません。",
      muted: "ホストによってこのルームでミュートされました。メッセージは送信されていません。",
      unacked: "最後のメッセージが確認される前に接続が切れました。確認して再送信してください。",
      refused: "サーバーがこのルームへの参加を拒否しました。",
      generic: "問題が発生しました。",
    },
    zh: {
      send: "发送", placeholder: "说点什么…", message: "消息", language: "语言",
      pinned: "📌 置顶", pinnedMessage: "置顶消息",
      connecting: "连接中…", reconnecting: "重新连接中…", connected: "已连接",
      offline: "离线", retrying: (s) => `离线 · ${s} 秒后重试`,
      notConnected: "未连接", switching: "正在切换语言…",
      viewers: (n) => `${n} 位观众`,
      translating: "翻译中…", translatedFrom: (l) => `译自${l}`,
      showOriginal: "显示原文", hideOriginal: "隐藏原文",
      unknownLanguage: "未知语言", empty: "还没有评论 — 来打个招呼吧 👋",
      notTranslated: "未翻译",
      no_route: (s, t) => `未翻译：暂时还没有${s} → ${t}的翻译模型`,
      engine_error: "未翻译：这条消息翻译失败",
      timeout: "未翻译：翻译超时",
      overloaded: "未翻译：翻译服务正忙",
      no_translator: "未翻译：目前没有可用的翻译服务",
      rate_limited: "发送太快了，请稍等片刻再试。",
      text_too_long: (n) => `消息太长（最多 ${n} 个字符）。`,
      empty_text: "消息为空。",
      frame_too_large: "消息太大。",
      invalid_lang: "不支持该语言。",
      forbidden: "你无权执行此操作。",
      internal_error: "服务器处理该消息失败，消息未送达。",
      unavailable: "聊天暂时不可用。",
      invalid_room: "聊天室名称无效。",
      invalid_name: "该名称无效。",
      muted: "主播已在此房间将你禁言，消息未发送。",
      unacked: "最后一条消息确认前连接已断开，请检查后重新发送。",
      refused: "服务器拒绝加入此房间。",
      generic: "出错了。",
    },
  };
  const ERROR_CODES = new Set(["rate_limited", "text_too_long", "empty_text", "frame_too_large",
    "invalid_lang", "forbidden", "internal_error", "unavailable", "invalid_room",
    "invalid_name", "muted", "unacked"]);
  const REASONS = new Set(["no_route", "engine_error", "timeout", "overloaded",
    "no_translator"]);

  /** The widget's words in `lang` (English when the widget does not have that language). */
  function uiStrings(lang) {
    return STRINGS[lang] || STRINGS.en;
  }

  const STYLE = `
:host {
  display: block; box-sizing: border-box; height: var(--babelcast-height, 480px);
  min-width: 0; max-width: 100%;
  font-family: var(--babelcast-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  font-size: var(--babelcast-font-size, 14px);
  color: var(--babelcast-fg, #1d1f24);
  background: var(--babelcast-bg, #ffffff);
  border: 1px solid var(--babelcast-border, #d9dce3);
  border-radius: var(--babelcast-radius, 10px);
  overflow: hidden;
}
:host([hidden]) { display: none; }
* { box-sizing: border-box; }
.root { display: flex; flex-direction: column; height: 100%; min-height: 0; }
header {
  display: flex; flex-wrap: wrap; align-items: center; gap: 4px 8px; padding: 6px 10px;
  border-bottom: 1px solid var(--babelcast-border, #d9dce3);
  background: var(--babelcast-header-bg, transparent);
}
.room { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  min-width: 0; flex: 1 1 auto; }
.status { font-size: 0.8em; color: var(--babelcast-muted, #6b7080); }
.status::before { content: "●"; margin-right: 3px; color: #b0b4bf; }
.status[data-state="connected"]::before { color: #21a366; }
.status[data-state="offline"]::before { color: #d64545; }
.status[data-state="connecting"]::before { color: #e0a020; }
select { font: inherit; font-size: 0.9em; max-width: 11em; color: inherit;
  background: var(--babelcast-input-bg, transparent); border: 1px solid var(--babelcast-border, #d9dce3);
  border-radius: 6px; padding: 2px 4px; }
.presence { flex-basis: 100%; font-size: 0.8em; color: var(--babelcast-muted, #6b7080); }
.presence:empty { display: none; }
.pinned { display: flex; flex-wrap: wrap; gap: 2px 6px; padding: 6px 10px; font-size: 0.9em;
  overflow-wrap: anywhere; word-break: break-word;
  border-bottom: 1px solid var(--babelcast-border, #d9dce3);
  background: var(--babelcast-pinned-bg, #f5f6fa); }
.pinned[hidden] { display: none; }
.pinned-label { font-size: 0.8em; font-weight: 600; color: var(--babelcast-muted, #6b7080); }
.pinned.pending .pinned-text { opacity: 0.7; font-style: italic; }
.pinned-meta { font-size: 0.78em; color: var(--babelcast-muted, #6b7080); }
.pinned-meta:empty { display: none; }
ol { list-style: none; margin: 0; padding: 6px 10px; overflow-y: auto; flex: 1 1 auto;
  min-height: 0; overscroll-behavior: contain; }
ol[hidden] { display: none; }
.empty { flex: 1 1 auto; display: flex; align-items: center; justify-content: center;
  margin: 0; padding: 16px; text-align: center; color: var(--babelcast-muted, #6b7080); }
.empty[hidden] { display: none; }
li { padding: 4px 0; overflow-wrap: anywhere; word-break: break-word; }
li.pending .text { opacity: 0.7; font-style: italic; }
.user { font-weight: 600; margin-inline-end: 6px; color: var(--babelcast-accent, #3d5afe); }
li.mine .user { color: var(--babelcast-mine, var(--babelcast-fg, #1d1f24)); }
/* Posted by the platform (the server API's "from": shop, host or system). */
.badge { display: inline-block; margin-inline-end: 6px; padding: 0 6px; border-radius: 8px;
  font-size: 0.75em; font-weight: 600; line-height: 1.5; vertical-align: 1px;
  color: #fff; background: var(--babelcast-badge, var(--babelcast-accent, #3d5afe)); }
.badge[hidden] { display: none; }
li.from-shop, li.from-host, li.from-system {
  background: var(--babelcast-announcement, rgba(61, 90, 254, 0.07)); }
.text { white-space: pre-wrap; }
/* User text is isolated: bidi controls in it (an RLO, an unclosed RLI) cannot reorder what
   follows it on the line (the host's buttons, the meta line). dir=auto alone does not. */
.user, .text, .original { unicode-bidi: isolate; }
.original { display: block; margin-top: 2px; padding-inline-start: 8px; white-space: pre-wrap;
  border-inline-start: 2px solid var(--babelcast-border, #d9dce3);
  color: var(--babelcast-muted, #6b7080); }
.original[hidden], .meta[hidden], .error[hidden] { display: none; }
.meta { display: block; font-size: 0.78em; color: var(--babelcast-muted, #6b7080); }
button.link { font: inherit; background: none; border: 0; padding: 0; cursor: pointer;
  color: var(--babelcast-accent, #3d5afe); text-decoration: underline; }
.error { margin: 0 10px 6px; padding: 6px 8px; border-radius: 6px; font-size: 0.85em;
  background: var(--babelcast-error-bg, #fdecec); color: var(--babelcast-error-fg, #a61b1b); }
form { display: flex; gap: 6px; align-items: flex-end; padding: 8px 10px;
  border-top: 1px solid var(--babelcast-border, #d9dce3); }
.box { flex: 1 1 auto; min-width: 0; display: flex; flex-direction: column; }
textarea { font: inherit; resize: none; width: 100%; min-height: 2.2em; max-height: 8em;
  padding: 6px 8px; color: inherit; background: var(--babelcast-input-bg, transparent);
  border: 1px solid var(--babelcast-border, #d9dce3); border-radius: 6px; }
textarea:focus, select:focus, button:focus-visible {
  outline: 2px solid var(--babelcast-accent, #3d5afe); outline-offset: 1px; }
.count { align-self: flex-end; font-size: 0.75em; color: var(--babelcast-muted, #6b7080); }
.count.near { color: #b26a00; }
.count.over { color: var(--babelcast-error-fg, #a61b1b); font-weight: 600; }
.send { font: inherit; font-weight: 600; padding: 7px 12px; border: 0; border-radius: 6px;
  cursor: pointer; color: var(--babelcast-accent-fg, #ffffff);
  background: var(--babelcast-accent, #3d5afe); }
.send:disabled { opacity: 0.45; cursor: default; }
.like { position: relative; font: inherit; padding: 7px 10px; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--babelcast-border, #d9dce3); background: transparent; color: #e0245e; }
.like[hidden] { display: none; }
.vote { font: inherit; font-size: 0.85em; padding: 1px 6px; margin-left: 6px; border-radius: 4px;
  cursor: pointer; }
.like .float { position: absolute; left: 50%; bottom: 100%; pointer-events: none;
  animation: babelcast-float 0.9s ease-out forwards; }
@keyframes babelcast-float { from { opacity: 1; transform: translate(-50%, 0); }
  to { opacity: 0; transform: translate(-50%, -40px); } }
@media (prefers-reduced-motion: reduce) { .like .float { display: none; } }
`;

  // ---------------------------------------------------------------- helpers

  function cmpId(a, b) {
    if (a.length !== b.length) return a.length - b.length;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function isId(value) {
    return typeof value === "string" && /^\d{1,18}$/.test(value);
  }

  // A provisional id ("~" and digits): a comment shown by its node while Redis was down.
  function isProvisionalId(value) {
    return typeof value === "string" && /^~\d{1,18}$/.test(value);
  }

  function normalizeLang(tag) {
    if (typeof tag !== "string") return null;
    const base = tag.trim().replace("_", "-").split("-")[0].toLowerCase();
    return /^[a-z]{2}$/.test(base) ? base : null;
  }

  const displayNames = new Map(); // UI language -> Intl.DisplayNames (null: unsupported)

  /** The language's name in the UI language `ui` (English by default), for "translated from
   * English" / "traduzido do inglês". */
  function langName(code, ui) {
    const uiLang = STRINGS[ui] ? ui : "en";
    if (!code || code === "und") return uiStrings(uiLang).unknownLanguage;
    if (!displayNames.has(uiLang)) {
      try {
        displayNames.set(uiLang, new Intl.DisplayNames([uiLang], { type: "language" }));
      } catch (_) { displayNames.set(uiLang, null); } // old browser: codes are shown instead
    }
    try {
      const names = displayNames.get(uiLang);
      const name = names && names.of(code);
      if (name && name !== code) return name;
    } catch (_) { /* invalid code */ }
    return code;
  }

  function countChars(text) {
    // eslint-disable-next-line no-control-regex
    const cleaned = text.replace(/[\n\r\t]/g, " ").replace(/[\u0000-\u001f\u007f-\u009f]/g, "");
    return Array.from(cleaned.trim()).length;
  }

  function el(tag, props, text) {
    const node = document.createElement(tag);
    if (props) Object.assign(node, props);
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  /**
   * User text made safe to show inline: every bidi embedding, override or isolate it opens
   * and does not close (an RLO, an RLI without its PDI) is closed at its end. With the CSS
   * isolation of .user/.text/.original, nothing in it can reorder what follows it (the
   * host's buttons): an isolate left open inside would take the element's own closing
   * isolate and run on to the end of the line.
   */
  function bidiClosed(text) {
    const s = String(text);
    if (!/[\u202a-\u202e\u2066-\u2069]/.test(s)) return s;
    const open = [];  // "E" (embedding/override) or "I" (isolate), innermost last
    for (const ch of s) {
      if ("\u202a\u202b\u202d\u202e".includes(ch)) open.push("E");
      else if ("\u2066\u2067\u2068".includes(ch)) open.push("I");
      else if (ch === "\u202c" && open.length && open[open.length - 1] === "E") open.pop();
      else if (ch === "\u2069" && open.includes("I")) {
        while (open.pop() !== "I") { /* a PDI closes the embeddings inside its isolate */ }
      }
    }
    return s + open.reverse().map((k) => (k === "E" ? "\u202c" : "\u2069")).join("");
  }

  function testid(node, id) {
    node.setAttribute("data-testid", id);
    return node;
  }

  function browserLang() {
    return normalizeLang((navigator.languages && navigator.languages[0]) || navigator.language)
      || "en";
  }

  // ---------------------------------------------------------------- the element

  class BabelcastChat extends HTMLElement {
    static get observedAttributes() { return ["room", "lang", "name", "server"]; }

    constructor() {
      super();
      this._s = {
        lang: "en", ws: null, welcomed: false, handshakeError: null, attempt: 0,
        reconnectTimer: null, pingTimer: null, errorTimer: null, lastRx: 0,
        lastId: null, epoch: null, messages: new Map(), myUserIds: new Set(),
        limits: { max_text_chars: 500 }, unacked: new Map(), nextClientId: 1,
        switchingTo: null, stick: true, live: false, held: false, fatal: false,
        pinned: null, presence: null, likes: 0,
      };
      this._built = false;
      // For pages built on the widget (the host console): extra query parameters of the
      // socket URL (the host credential), and a hook that decorates each rendered message.
      this.connectParams = {};
      this.decorateMessage = null;
    }

    // ---- lifecycle

    connectedCallback() {
      if (!this._built) this._build();
      const s = this._s;
      s.lang = normalizeLang(this.getAttribute("lang")) || browserLang();
      this._fillLanguages(s.lang);
      this._applyUiLanguage();
      this._ui.room.textContent = this.room;
      s.live = true;
      s.fatal = false;
      s.attempt = 0;
      this._connect();
    }

    disconnectedCallback() {
      const s = this._s;
      s.live = false;
      clearTimeout(s.reconnectTimer);
      clearInterval(s.pingTimer);
      s.reconnectTimer = null;
      this._disconnect(1000);
    }

    attributeChangedCallback(name, oldValue, newValue) {
      if (!this._s.live || oldValue === newValue) return;
      if (name === "lang") {
        const lang = normalizeLang(newValue);
        if (lang) this._switchLanguage(lang);
        return;
      }
      // Another room, name or server: start over with a fresh connection.
      this._ui.room.textContent = this.room;
      this._restart(true);
    }

    get room() { return (this.getAttribute("room") || "demo").trim() || "demo"; }

    get server() {
      const attr = (this.getAttribute("server") || "").trim();
      if (!attr) return SCRIPT_ORIGIN;
      try { return new URL(attr, location.href).origin; } catch (_) { return SCRIPT_ORIGIN; }
    }

    /** "connecting", "connected", "offline" or "closed" (refused by the server). */
    get status() { return this._ui ? this._ui.status.dataset.state : "idle"; }

    get language() { return this._s.lang; }

    /** The language of the widget's own words: the reading language when the widget has
     * it, else English. */
    get uiLanguage() { return STRINGS[this._s.lang] ? this._s.lang : "en"; }

    /** The widget's word `key` in its UI language (a function for words with values). */
    _t(key, ...args) {
      const table = uiStrings(this.uiLanguage);
      const word = key in table ? table[key] : STRINGS.en[key];
      return typeof word === "function" ? word(...args) : word;
    }

    /** Send a frame (a host action) with a fresh client_id; returns the client_id, or null
     * when not connected. The reply comes back as a `babelcast-frame` event. */
    sendFrame(frame) {
      const clientId = `a${this._s.nextClientId++}`;
      return this._send(Object.assign({}, frame, { client_id: clientId })) ? clientId : null;
    }

    // ---- debug hooks (tests and troubleshooting; not a stable API)

    /** Drop the socket as a network failure would; with `hold`, wait for _debugReconnect(). */
    _debugDropConnection(hold) {
      const s = this._s;
      s.held = Boolean(hold);
      const ws = s.ws;
      if (ws) ws.close(4000, "debug drop");
    }

    _debugReconnect() {
      const s = this._s;
      s.held = false;
      if (s.live && !s.ws) {
        s.attempt = 0;
        this._connect();
      }
    }

    // ---- DOM

    _build() {
      const root = this.attachShadow({ mode: "open" });
      const style = el("style");
      style.textContent = STYLE;

      const wrap = el("div", { className: "root" });
      const header = el("header");
      const room = testid(el("span", { className: "room" }), "room");
      room.dir = "auto";
      const status = testid(el("span", { className: "status", role: "status" }), "status");
      const langSelect = testid(el("select", { className: "lang" }), "lang");
      const presence = testid(el("span", { className: "presence" }), "presence");
      header.append(room, status, langSelect, presence);

      const pinned = testid(el("div", { className: "pinned" }), "pinned");
      pinned.hidden = true;
      const pinnedLabel = testid(el("span", { className: "pinned-label" }), "pinned-label");
      const pinnedUser = testid(el("span", { className: "user" }), "pinned-user");
      pinnedUser.dir = "auto";
      const pinnedText = testid(el("span", { className: "text pinned-text" }), "pinned-text");
      pinnedText.dir = "auto";
      const pinnedMeta = testid(el("span", { className: "pinned-meta" }), "pinned-meta");
      pinned.append(pinnedLabel, pinnedUser, pinnedText, pinnedMeta);

      const list = testid(el("ol", { className: "messages" }), "messages");
      list.setAttribute("aria-live", "polite");
      // Shown instead of the list while a joined room has no comment.
      const empty = testid(el("p", { className: "empty" }), "empty");
      empty.hidden = true;
      const error = testid(el("div", { className: "error", role: "alert" }), "error");
      error.hidden = true;

      const form = el("form");
      const box = el("div", { className: "box" });
      const text = testid(el("textarea", { rows: 1 }), "input");
      text.dir = "auto";
      const count = testid(el("span", { className: "count" }), "count");
      box.append(text, count);
      const send = testid(el("button", { type: "submit", className: "send" }), "send");
      // Likes: the room's hearts counted since this widget joined (reactions frames).
      const like = testid(el("button", { type: "button", className: "like" }), "like");
      like.hidden = true;
      like.textContent = "\u2665";
      form.append(box, like, send);

      wrap.append(header, pinned, list, empty, error, form);
      root.append(style, wrap);
      this._ui = {
        wrap, room, status, langSelect, presence, pinned, pinnedLabel, pinnedUser, pinnedText,
        pinnedMeta, list, empty, error, form, text, count, send, like,
      };
      this._built = true;

      langSelect.addEventListener("change", () => this._switchLanguage(langSelect.value));
      form.addEventListener("submit", (ev) => { ev.preventDefault(); this._submit(); });
      like.addEventListener("click", () => this._like());
      text.addEventListener("input", () => this._updateComposer());
      text.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
          ev.preventDefault();
          this._submit();
        }
      });
      list.addEventListener("scroll", () => { this._s.stick = this._nearBottom(); },
        { passive: true });
      window.addEventListener("online", () => {
        if (this._s.live && this._s.reconnectTimer !== null) {
          this._s.attempt = 0;
          this._connect();
        }
      });
      this._updateComposer();
    }

    _fillLanguages(selected) {
      const select = this._ui.langSelect;
      select.replaceChildren();
      const known = LANGUAGES.some(([c]) => c === selected);
      for (const [code, label] of known ? LANGUAGES : [...LANGUAGES, [selected, selected]]) {
        const option = el("option", { value: code }, label);
        option.lang = code;
        select.append(option);
      }
      select.value = selected;
    }

    /** Put the widget's own words in its UI language (on start and after a switch). */
    _applyUiLanguage() {
      const ui = this._ui;
      ui.wrap.lang = this.uiLanguage;
      ui.langSelect.setAttribute("aria-label", this._t("language"));
      ui.pinned.setAttribute("aria-label", this._t("pinnedMessage"));
      ui.pinnedLabel.textContent = this._t("pinned");
      ui.text.placeholder = this._t("placeholder");
      ui.text.setAttribute("aria-label", this._t("message"));
      ui.send.textContent = this._t("send");
      ui.empty.textContent = this._t("empty");
      if (this._s.presence) this._renderPresence(...this._s.presence);
      if (this._s.pinned) this._setPinned(this._s.pinned);
    }

    /** "No comments yet" while a joined room's list is empty. */
    _updateEmpty() {
      const empty = this._s.welcomed && this._s.messages.size === 0;
      this._ui.empty.hidden = !empty;
      this._ui.list.hidden = empty;
    }

    _setStatus(kind, text) {
      this._ui.status.dataset.state = kind;
      this._ui.status.textContent = text;
      this.setAttribute("data-status", kind);
    }

    /** Show error `code` in the viewer's words; `message` (the server's) when the widget
     * has no words for the code; with `detail`, the server's reason is added after them. */
    _showError(code, message, detail) {
      const box = this._ui.error;
      let text = ERROR_CODES.has(code) ? this._t(code, this._s.limits.max_text_chars)
        : message || this._t("generic");
      if (detail && message && text !== message) text = `${text} (${message})`;
      box.dataset.code = code || "error";
      box.textContent = text;
      box.hidden = false;
      clearTimeout(this._s.errorTimer);
      this._s.errorTimer = setTimeout(() => { box.hidden = true; }, ERROR_SHOW_MS);
    }

    _clearError() {
      clearTimeout(this._s.errorTimer);
      this._ui.error.hidden = true;
    }

    _renderPresence(viewers, total) {
      this._s.presence = [viewers, total];
      const parts = Object.entries(viewers || {})
        .filter(([, n]) => n > 0)
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([code, n]) => `${code}\u00a0${n}`);
      const count = typeof total === "number" ? total : parts.length;
      const counted = this._t("viewers", count);
      this._ui.presence.textContent = parts.length ? `${counted}: ${parts.join(" · ")}` : counted;
    }

    // ---- messages

    _nearBottom() {
      const m = this._ui.list;
      return m.scrollHeight - m.scrollTop - m.clientHeight < 48;
    }

    _scrollToBottom() {
      this._ui.list.scrollTop = this._ui.list.scrollHeight;
      this._s.stick = true;
    }

    _clearMessages() {
      this._s.lastId = null;
      this._s.messages.clear();
      this._ui.list.replaceChildren();
      this._setPinned(null);
      this._updateEmpty();
    }

    // ---- pinned comment (host action)

    _setPinned(frame) {
      const s = this._s;
      const ui = this._ui;
      s.pinned = frame && typeof frame === "object" && isId(frame.id) ? frame : null;
      const f = s.pinned;
      ui.pinned.hidden = f === null;
      if (f === null) {
        delete ui.pinned.dataset.id;
        ui.pinnedUser.textContent = "";
        ui.pinnedText.textContent = "";
        ui.pinnedMeta.textContent = "";
        return;
      }
      ui.pinned.dataset.id = f.id;
      ui.pinned.dataset.pending = f.pending ? "true" : "false";
      ui.pinned.classList.toggle("pending", Boolean(f.pending));
      ui.pinnedUser.textContent = bidiClosed(f.user || "?");
      ui.pinnedText.textContent = bidiClosed(typeof f.text === "string" ? f.text : "");
      const textLang = f.translated ? f.lang : f.src_lang;
      if (textLang && textLang !== "und") ui.pinnedText.lang = textLang;
      else ui.pinnedText.removeAttribute("lang");
      ui.pinnedMeta.textContent = f.pending ? this._t("translating")
        : f.translated ? this._t("translatedFrom", langName(f.src_lang, this.uiLanguage)) : "";
    }

    _onPinned(f) {
      if (f.id === null || f.id === undefined) this._setPinned(null);
      else if (isId(f.id) && f.comment) {
        // A pending pin of a message already translated in the list: show the finished text.
        const entry = this._s.messages.get(f.id);
        const done = f.comment.pending && entry && !entry.frame.pending
          && entry.frame.lang === f.comment.lang;
        this._setPinned(Object.assign({}, done ? entry.frame : f.comment, { id: f.id }));
      }
    }

    _onDeleted(f) {
      const s = this._s;
      if (!isId(f.id)) return;
      const entry = s.messages.get(f.id);
      if (entry) {
        s.messages.delete(f.id);
        entry.el.remove();
        this._updateEmpty();
      }
      if (s.pinned && s.pinned.id === f.id) this._setPinned(null);
    }

    _newMessageNode() {
      const li = testid(el("li"), "message");
      li.setAttribute("part", "message");
      const badge = testid(el("span", { className: "badge", hidden: true }), "message-badge");
      badge.setAttribute("part", "badge");
      const user = testid(el("span", { className: "user" }), "message-user");
      user.dir = "auto";
      const text = testid(el("span", { className: "text" }), "message-text");
      text.dir = "auto";
      const original = testid(el("span", { className: "original" }), "message-original");
      original.dir = "auto";
      const meta = testid(el("span", { className: "meta" }), "message-meta");
      li.append(badge, user, text, original, meta);
      return li;
    }

    _render(entry) {
      const f = entry.frame;
      const node = entry.el;
      node.dataset.id = f.id;
      node.dataset.pending = f.pending ? "true" : "false";
      node.dataset.translated = f.translated ? "true" : "false";
      node.classList.toggle("pending", Boolean(f.pending));
      node.classList.toggle("mine", this._s.myUserIds.has(f.user_id));
      const [badge, user, text, original, meta] = node.children;
      // Posted through the server API: a badge says by whom (Shop, Host, System).
      const from = typeof f.from === "string" && Object.hasOwn(FROM_KEYS, f.from)
        ? FROM_KEYS[f.from] : null;
      for (const k of Object.keys(FROM_KEYS)) node.classList.toggle(`from-${k}`, f.from === k);
      if (from) node.dataset.from = f.from; else delete node.dataset.from;
      badge.hidden = !from;
      badge.textContent = from ? this._t(from) : "";
      user.textContent = bidiClosed(f.user || "?");
      if (typeof f.ts === "number") {
        user.title = new Date(f.ts * 1000).toLocaleTimeString([],
          { hour: "2-digit", minute: "2-digit" });
      }
      text.textContent = bidiClosed(typeof f.text === "string" ? f.text : "");
      const textLang = f.translated ? f.lang : f.src_lang;
      if (textLang && textLang !== "und") text.lang = textLang; else text.removeAttribute("lang");
      original.textContent = bidiClosed(typeof f.original === "string" ? f.original : "");
      if (f.src_lang && f.src_lang !== "und") original.lang = f.src_lang;
      original.hidden = !(f.translated && entry.showOriginal);

      meta.replaceChildren();
      delete meta.dataset.reason;
      if (f.pending) {
        meta.append(el("span", { className: "tag-pending" }, this._t("translating")));
      } else if (f.translated) {
        const toggle = testid(el("button", { type: "button", className: "link" },
          this._t(entry.showOriginal ? "hideOriginal" : "showOriginal")), "toggle-original");
        toggle.setAttribute("aria-expanded", entry.showOriginal ? "true" : "false");
        toggle.addEventListener("click", () => {
          entry.showOriginal = !entry.showOriginal;
          this._render(entry);
        });
        meta.append(`${this._t("translatedFrom", langName(f.src_lang, this.uiLanguage))} · `,
          toggle);
      } else if (f.reason && f.reason !== "undetermined") {
        // Words a viewer understands; the code stays in data-reason for pages and tests.
        meta.dataset.reason = f.reason;
        meta.append(REASONS.has(f.reason) ? this._t(f.reason,
          langName(f.src_lang, this.uiLanguage), langName(f.lang, this.uiLanguage))
          : this._t("notTranslated"));
      }
      meta.hidden = meta.childNodes.length === 0;
      node.dataset.question = f.question ? "true" : "false";
      // Questions take votes: "▲ n", one vote per viewer (the server refuses a second).
      let vote = node.querySelector(".vote");
      if (f.question && isId(f.id)) {
        if (!vote) {
          vote = testid(el("button", { type: "button", className: "vote" }), "vote");
          vote.addEventListener("click", () => {
            if (this._send({ type: "vote", id: node.dataset.id })) vote.disabled = true;
          });
          node.append(vote);
        }
        vote.textContent = `\u25b2 ${f.votes || 0}`;
      } else if (vote) {
        vote.remove();
      }
      if (this.decorateMessage) this.decorateMessage(node, f);
    }

    _upsert(frame) {
      const s = this._s;
      const provisional = Boolean(frame) && isProvisionalId(frame.id);
      if (!frame || (!provisional && !isId(frame.id))) return;
      // The published copy of a provisional comment takes its place (docs/protocol.md).
      const stale = isProvisionalId(frame.replaces) && s.messages.get(frame.replaces);
      if (stale) {
        s.messages.delete(frame.replaces);
        stale.el.remove();
      }
      if (!provisional && (s.lastId === null || cmpId(frame.id, s.lastId) > 0)) {
        s.lastId = frame.id;
      }
      const existing = s.messages.get(frame.id);
      if (existing) {
        if (frame.pending && !existing.frame.pending) return;
        existing.frame = frame;
        this._render(existing);
        return;
      }
      const stick = s.stick || s.myUserIds.has(frame.user_id);
      const entry = { frame, el: this._newMessageNode(), showOriginal: false };
      s.messages.set(frame.id, entry);
      this._render(entry);
      const list = this._ui.list;
      let before = null;
      // Ordered by id; provisional ones stay last, in arrival order.
      for (let n = list.lastElementChild; n && !provisional; n = n.previousElementSibling) {
        if (!isProvisionalId(n.dataset.id) && cmpId(n.dataset.id, frame.id) < 0) break;
        before = n;
      }
      list.insertBefore(entry.el, before);
      this._updateEmpty();
      while (s.messages.size > MAX_MESSAGES) {
        const oldest = list.firstElementChild;
        s.messages.delete(oldest.dataset.id);
        oldest.remove();
      }
      if (stick) this._scrollToBottom();
    }

    _applyTranslation(frame) {
      const s = this._s;
      if (frame.lang !== s.lang) return;
      if (s.pinned && s.pinned.id === frame.id) {
        this._setPinned(Object.assign({}, s.pinned, {
          lang: frame.lang, text: frame.text, translated: Boolean(frame.translated),
          reason: frame.reason ?? null, pending: false,
        }));
      }
      const entry = s.messages.get(frame.id);
      if (!entry) return;
      const stick = s.stick;
      entry.frame = Object.assign({}, entry.frame, {
        lang: frame.lang, text: frame.text, translated: Boolean(frame.translated),
        reason: frame.reason ?? null, pending: false,
      });
      this._render(entry);
      if (stick) this._scrollToBottom();
    }

    _replaceHistory(history) {
      this._clearMessages();
      for (const frame of history || []) this._upsert(frame);
      this._scrollToBottom();
    }

    // ---- socket

    _socketUrl() {
      const s = this._s;
      const params = new URLSearchParams({ lang: s.lang });
      const name = (this.getAttribute("name") || "").trim();
      if (name) params.set("name", name);
      // A room token (servers run with --auth jwt) sets the name and role; read on every
      // (re)connect, so a page renews an expiring token by changing the attribute.
      const token = (this.getAttribute("token") || "").trim();
      if (token) params.set("token", token);
      if (s.lastId !== null) params.set("since", s.lastId);
      if (s.lastId !== null && s.epoch) params.set("epoch", s.epoch);
      for (const [key, value] of Object.entries(this.connectParams || {})) {
        if (value !== undefined && value !== null && value !== "") params.set(key, value);
      }
      const base = this.server.replace(/^http/, "ws");
      return `${base}/v1/rooms/${encodeURIComponent(this.room)}/ws?${params}`;
    }

    _isOpen() {
      const s = this._s;
      return s.ws !== null && s.ws.readyState === WebSocket.OPEN && s.welcomed;
    }

    _send(frame) {
      if (!this._isOpen()) return false;
      this._s.ws.send(JSON.stringify(frame));
      return true;
    }

    _connect() {
      const s = this._s;
      clearTimeout(s.reconnectTimer);
      s.reconnectTimer = null;
      s.welcomed = false;
      s.handshakeError = null;
      this._setStatus("connecting", this._t(s.attempt ? "reconnecting" : "connecting"));
      this._updateComposer();
      let ws;
      try {
        ws = new WebSocket(this._socketUrl());
      } catch (err) {
        this._onClosed({ code: 0 });
        return;
      }
      s.ws = ws;
      s.lastRx = Date.now();
      ws.addEventListener("message", (ev) => {
        if (s.ws !== ws) return;
        s.lastRx = Date.now();
        let frame;
        try { frame = JSON.parse(ev.data); } catch (_) { return; }
        if (frame && typeof frame === "object") {
          this._handle(frame);
          this.dispatchEvent(new CustomEvent("babelcast-frame", { detail: frame }));
        }
      });
      ws.addEventListener("close", (ev) => {
        if (s.ws !== ws) return;
        this._onClosed(ev);
      });
    }

    _disconnect(code) {
      const s = this._s;
      const ws = s.ws;
      s.ws = null;
      s.welcomed = false;
      if (ws && ws.readyState <= WebSocket.OPEN) {
        try { ws.close(code || 1000); } catch (_) { /* already closing */ }
      }
    }

    _restart(fresh) {
      const s = this._s;
      this._disconnect(1000);
      if (fresh) {
        s.lastId = null;
        s.epoch = null;
        s.unacked.clear();
        this._clearMessages();
      }
      s.attempt = 0;
      s.fatal = false;
      if (s.live) this._connect();
    }

    _onClosed(ev) {
      const s = this._s;
      s.ws = null;
      s.welcomed = false;
      clearInterval(s.pingTimer);
      if (s.switchingTo !== null) {
        s.lang = s.switchingTo;
        s.switchingTo = null;
        s.lastId = null;
      }
      this._updateComposer();
      if (!s.live) return;
      this._updateEmpty();
      if (ev.code === CLOSE_BAD_HANDSHAKE) {
        s.fatal = true;
        const err = s.handshakeError;
        this._setStatus("closed", this._t("notConnected"));
        // The server's reason goes with the viewer's words: it says what to fix.
        this._showError(err ? err.code : "refused", err ? err.message : this._t("refused"),
          true);
        clearTimeout(s.errorTimer); // keep a fatal error on screen
        return;
      }
      this._giveBackUnacked();
      if (s.held) {
        this._setStatus("offline", this._t("offline"));
        return;
      }
      let delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** s.attempt);
      delay = delay / 2 + Math.random() * delay / 2;
      if (ev.code === CLOSE_RATE_LIMITED) {
        delay = Math.max(delay, 5000);
        this._showError("rate_limited");
      } else if (ev.code === CLOSE_SLOW_CONSUMER) {
        delay = Math.min(delay, 1000);
      }
      s.attempt += 1;
      this._setStatus("offline", this._t("retrying", Math.max(1, Math.round(delay / 1000))));
      s.reconnectTimer = setTimeout(() => this._connect(), delay);
    }

    _giveBackUnacked() {
      const s = this._s;
      if (s.unacked.size === 0) return;
      const texts = [...s.unacked.values()];
      s.unacked.clear();
      if (!this._ui.text.value.trim()) {
        this._ui.text.value = texts[texts.length - 1];
        this._updateComposer();
        this._showError("unacked");
      }
    }

    _startPing() {
      const s = this._s;
      clearInterval(s.pingTimer);
      s.pingTimer = setInterval(() => {
        if (!s.ws) return;
        if (Date.now() - s.lastRx > SILENCE_LIMIT_MS) {
          this._disconnect(4000);
          this._onClosed({ code: 1006 });
          return;
        }
        this._send({ type: "ping" });
      }, PING_EVERY_MS);
    }

    _handle(f) {
      switch (f.type) {
        case "welcome": return this._onWelcome(f);
        case "comment": return this._upsert(f);
        case "translation": return this._applyTranslation(f);
        case "ack":
          if (f.client_id) this._s.unacked.delete(f.client_id);
          return undefined;
        case "error": return this._onError(f);
        case "presence": return this._renderPresence(f.viewers, f.total);
        case "lang_changed": return this._onLangChanged(f);
        case "deleted": return this._onDeleted(f);
        case "pinned": return this._onPinned(f);
        case "reactions": return this._onReactions(f);
        case "votes": return this._onVotes(f);
        default: return undefined;
      }
    }

    _onVotes(f) {
      const entry = this._s.messages.get(f.id);
      // Counts only grow: an older count arriving late changes nothing.
      if (!entry || !Number.isInteger(f.votes) || f.votes <= (entry.frame.votes || 0)) return;
      entry.frame = Object.assign({}, entry.frame, { votes: f.votes });
      this._render(entry);
    }

    _onWelcome(f) {
      const s = this._s;
      const resumed = s.lastId !== null && s.messages.size > 0;
      s.welcomed = true;
      s.attempt = 0;
      if (f.epoch) s.epoch = f.epoch;
      if (f.you) {
        s.myUserIds.add(f.you.user_id);
        if (f.you.lang) s.lang = f.you.lang;
      }
      if (f.limits) s.limits = Object.assign({}, s.limits, f.limits);
      if (this._ui.langSelect.value !== s.lang) this._fillLanguages(s.lang);
      this._applyUiLanguage();
      if (resumed && !f.gap) {
        for (const frame of f.history || []) this._upsert(frame);
      } else {
        this._replaceHistory(f.history);
      }
      if ("pinned" in f) this._setPinned(f.pinned);
      for (const entry of s.messages.values()) {
        entry.el.classList.toggle("mine", s.myUserIds.has(entry.frame.user_id));
      }
      if (f.presence) this._renderPresence(f.presence.viewers, f.presence.total);
      this._ui.like.hidden = !(f.reactions || []).includes("heart");
      this._updateEmpty();
      this._setStatus("connected", this._t("connected"));
      this._updateComposer();
      this._startPing();
    }

    _like() {
      if (!this._send({ type: "react", reaction: "heart" })) return;
      const heart = el("span", { className: "float" });
      heart.textContent = "\u2665";
      heart.addEventListener("animationend", () => heart.remove());
      this._ui.like.append(heart);
    }

    _onReactions(f) {
      const s = this._s;
      s.likes += (f.counts && f.counts.heart) || 0;
      // The text node first: floating hearts appended after it stay.
      this._ui.like.firstChild.textContent = `\u2665 ${s.likes}`;
    }

    _onError(f) {
      const s = this._s;
      if (!s.welcomed) s.handshakeError = f;
      if (f.client_id && s.unacked.has(f.client_id)) {
        const text = s.unacked.get(f.client_id);
        s.unacked.delete(f.client_id);
        if (!this._ui.text.value.trim()) {
          this._ui.text.value = text;
          this._updateComposer();
        }
      }
      if (s.switchingTo !== null && f.client_id && f.client_id.startsWith("l")) {
        s.switchingTo = null;
        this._ui.langSelect.value = s.lang;
        this._setStatus("connected", this._t("connected"));
      }
      this._showError(f.code, f.message);
    }

    _onLangChanged(f) {
      const s = this._s;
      s.switchingTo = null;
      if (f.lang) s.lang = f.lang;
      if (this._ui.langSelect.value !== s.lang) this._fillLanguages(s.lang);
      this._applyUiLanguage();
      this._replaceHistory(f.history);
      this._setPinned(f.pinned || null);
      this._setStatus("connected", this._t("connected"));
      this.dispatchEvent(new CustomEvent("babelcast-lang", { detail: { lang: s.lang } }));
    }

    _switchLanguage(lang) {
      const s = this._s;
      if (lang === s.lang && s.switchingTo === null) return;
      if (this._ui.langSelect.value !== lang) {
        if (![...this._ui.langSelect.options].some((o) => o.value === lang)) {
          this._fillLanguages(lang);
        }
        this._ui.langSelect.value = lang;
      }
      if (this._isOpen()) {
        s.switchingTo = lang;
        this._setStatus("connecting", this._t("switching"));
        this._send({ type: "set_lang", lang, client_id: `l${s.nextClientId++}` });
        return;
      }
      s.lang = lang;
      this._applyUiLanguage();
      if (s.live && !s.fatal) this._restart(true);
    }

    // ---- composer

    _updateComposer() {
      const ui = this._ui;
      const limit = this._s.limits.max_text_chars || 500;
      const n = countChars(ui.text.value);
      ui.count.textContent = `${n} / ${limit}`;
      ui.count.classList.toggle("over", n > limit);
      ui.count.classList.toggle("near", n <= limit && n > limit * 0.9);
      ui.send.disabled = !this._isOpen() || n === 0 || n > limit;
      ui.text.style.height = "auto";
      ui.text.style.height = `${Math.min(ui.text.scrollHeight || 0, 128) || 34}px`;
      // A scrollbar only once the box stops growing (a one-line box showed scroll arrows).
      ui.text.style.overflowY = (ui.text.scrollHeight || 0) > 128 ? "auto" : "hidden";
    }

    _submit() {
      const s = this._s;
      const text = this._ui.text.value;
      const n = countChars(text);
      const limit = s.limits.max_text_chars || 500;
      if (n > limit) {
        this._showError("text_too_long");
        return;
      }
      if (n === 0 || !this._isOpen()) return;
      const clientId = `c${s.nextClientId++}`;
      if (!this._send({ type: "comment", text, client_id: clientId })) return;
      s.unacked.set(clientId, text);
      this._clearError();
      this._ui.text.value = "";
      this._updateComposer();
      this._ui.text.focus();
    }
  }

  // Building blocks for pages built on the widget (host.js, the demo page's app.js), so they
  // are not copied there.
  BabelcastChat.helpers = Object.freeze({
    el, testid, langName, isId, cmpId, normalizeLang, browserLang, LANGUAGES, bidiClosed,
    uiStrings,
  });
  customElements.define("babelcast-chat", BabelcastChat);
})();

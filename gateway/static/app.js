/* babelcast demo page: join a room, read the chat in your language, write in yours.
 *
 * No dependencies, no build step. Every piece of text that comes from users or the server is
 * put into the page with textContent (never innerHTML), so markup in a comment shows as text.
 * Wire protocol: JSON text frames on /v1/rooms/<room>/ws (see docs/protocol.md).
 */
(function () {
  "use strict";

  // Languages offered in the pickers (value: ISO 639-1 code, label: the language's own name).
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
  const SILENCE_LIMIT_MS = 60000; // nothing received for this long: assume the socket is dead
  const MAX_MESSAGES = 500; // older messages are dropped from the page
  const MAX_NOTICES = 4;
  const STORAGE_KEY = "babelcast.demo";

  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $("conn-status"),
    joinForm: $("join-form"), joinName: $("join-name"), joinLang: $("join-lang"),
    joinRoom: $("join-room"), joinError: $("join-error"), joinBtn: $("join-btn"),
    chat: $("chat"), roomName: $("room-name"), presence: $("presence"),
    langSwitch: $("lang-switch"), leaveBtn: $("leave-btn"), notices: $("notices"),
    messages: $("messages"), sendForm: $("send-form"), sendText: $("send-text"),
    charCount: $("char-count"), sendBtn: $("send-btn"), template: $("message-template"),
  };

  const state = {
    name: "", lang: "en", room: "demo",
    wanted: false,          // the user is in a room and wants to stay connected
    ws: null,               // the current socket (frames from older sockets are ignored)
    welcomed: false,        // the current socket has received `welcome`
    handshakeError: null,   // error frame received before `welcome`
    attempt: 0,             // reconnect attempts since the last welcome
    reconnectTimer: null,
    pingTimer: null,
    lastRx: 0,
    lastId: null,           // highest message id seen (string of digits), for ?since=
    epoch: null,            // the server's id sequence that lastId belongs to, for ?epoch=
    messages: new Map(),    // id -> {frame, el, showOriginal}
    myUserIds: new Set(),   // every user_id this page has had (one per connection)
    limits: { max_text_chars: 500, max_frame_bytes: 8192 },
    unacked: new Map(),     // client_id -> text of comments sent but not acknowledged
    nextClientId: 1,
    switchingTo: null,      // language asked for with set_lang, until lang_changed
    stick: true,            // the list is scrolled to the bottom and should stay there
    pinned: null,           // the comment frame a host pinned, or null
  };

  // Plain words for error codes whose server message is not meant for a viewer.
  const ERROR_WORDS = {
    muted: ["Muted:", "a host muted you in this room; your message was not sent."],
  };

  // The pinned bar, above the message list (built here: the page has no markup for it).
  const pinnedBar = (function () {
    const bar = el("div", { className: "notice notice-info pinned" });
    bar.dataset.testid = "pinned";
    bar.setAttribute("aria-label", "Pinned message");
    bar.style.margin = "0.5rem 1rem 0";
    bar.hidden = true;
    const body = el("div", { className: "notice-body" });
    const label = el("strong", { className: "pinned-label" }, "📌 Pinned");
    const user = el("span", { className: "msg-user" });
    user.dataset.testid = "pinned-user";
    user.dir = "auto";
    const text = el("span", { className: "msg-text" });
    text.dataset.testid = "pinned-text";
    text.dir = "auto";
    const meta = el("span", { className: "notice-count" });
    meta.dataset.testid = "pinned-meta";
    body.append(label, " ", user, " ", text, " ", meta);
    bar.append(body);
    ui.messages.parentNode.insertBefore(bar, ui.messages);
    return { bar, user, text, meta };
  })();

  // ---------------------------------------------------------------- small helpers

  /** Compare two message ids (strings of digits) numerically, without precision loss. */
  function cmpId(a, b) {
    if (a.length !== b.length) return a.length - b.length;
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function isId(value) {
    return typeof value === "string" && /^\d{1,18}$/.test(value);
  }

  /** A provisional id ("~" and digits): a comment shown by its node while Redis was down. */
  function isProvisionalId(value) {
    return typeof value === "string" && /^~\d{1,18}$/.test(value);
  }

  function normalizeLang(tag) {
    if (typeof tag !== "string") return null;
    const base = tag.trim().replace("_", "-").split("-")[0].toLowerCase();
    return /^[a-z]{2}$/.test(base) ? base : null;
  }

  function langLabel(code) {
    const found = LANGUAGES.find(([c]) => c === code);
    return found ? found[1] : code;
  }

  /** Characters as the server counts them: code points, control characters removed,
   * surrounding whitespace trimmed. */
  function countChars(text) {
    // eslint-disable-next-line no-control-regex
    const cleaned = text.replace(/[\n\r\t]/g, " ").replace(/[\u0000-\u001f\u007f-\u009f]/g, "");
    return Array.from(cleaned.trim()).length;
  }

  function el(tag, props, text) {
    const node = document.createElement(tag);
    if (props) Object.assign(node, props);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fillLanguageSelect(select, selected) {
    select.replaceChildren();
    const codes = LANGUAGES.map(([c]) => c);
    const entries = codes.includes(selected) ? LANGUAGES : [...LANGUAGES, [selected, selected]];
    for (const [code, label] of entries) {
      const option = el("option", { value: code }, `${label} (${code})`);
      option.lang = code;
      select.append(option);
    }
    select.value = selected;
  }

  function ensureLanguageOption(select, code) {
    if (![...select.options].some((o) => o.value === code)) {
      select.append(el("option", { value: code }, `${langLabel(code)} (${code})`));
    }
    select.value = code;
  }

  function loadSaved() {
    try {
      return JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}") || {};
    } catch (_) {
      return {};
    }
  }

  function save() {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(
        { name: state.name, lang: state.lang, room: state.room }));
    } catch (_) { /* private mode: not remembering is fine */ }
  }

  // ---------------------------------------------------------------- status and notices

  function setStatus(kind, text) {
    ui.status.dataset.state = kind;
    ui.status.textContent = text;
  }

  /** Show a dismissable notice. Notices with the same key are merged (count shown). */
  function notify(kind, key, title, message) {
    let box = [...ui.notices.children].find((n) => n.dataset.key === key);
    if (box) {
      const n = Number(box.dataset.count || "1") + 1;
      box.dataset.count = String(n);
      box.querySelector(".notice-count").textContent = `×${n}`;
      box.querySelector(".notice-text").textContent = message;
      ui.notices.append(box); // newest last
      return box;
    }
    box = el("div", { className: `notice notice-${kind}` });
    box.dataset.key = key;
    box.dataset.testid = "notice";
    box.dataset.code = key;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    const body = el("div", { className: "notice-body" });
    body.append(el("strong", { className: "notice-title" }, title), " ",
      el("span", { className: "notice-text" }, message), " ",
      el("span", { className: "notice-count" }, ""));
    const close = el("button", { type: "button", className: "notice-close", title: "Dismiss" },
      "×");
    close.dataset.testid = "notice-dismiss";
    close.setAttribute("aria-label", "Dismiss");
    close.addEventListener("click", () => box.remove());
    box.append(body, close);
    ui.notices.append(box);
    while (ui.notices.children.length > MAX_NOTICES) ui.notices.firstElementChild.remove();
    return box;
  }

  function dismissNotice(key) {
    const box = [...ui.notices.children].find((n) => n.dataset.key === key);
    if (box) box.remove();
  }

  function renderPresence(viewers, total) {
    const parts = Object.entries(viewers || {})
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([code, n]) => `${code}\u00a0${n}`); // wrap between languages, not inside one
    const count = typeof total === "number" ? total : parts.length;
    const noun = count === 1 ? "viewer" : "viewers";
    ui.presence.textContent = parts.length ? `${count} ${noun}: ${parts.join(" · ")}`
      : `${count} ${noun}`;
  }

  // ---------------------------------------------------------------- messages

  function isNearBottom() {
    const m = ui.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < 48;
  }

  function scrollToBottom() {
    ui.messages.scrollTop = ui.messages.scrollHeight;
    state.stick = true;
  }

  function clearMessages() {
    state.lastId = null;
    state.messages.clear();
    ui.messages.replaceChildren();
    setPinned(null);
  }

  // ---------------------------------------------------------------- host actions

  function setPinned(frame) {
    state.pinned = frame && typeof frame === "object" && isId(frame.id) ? frame : null;
    const f = state.pinned;
    pinnedBar.bar.hidden = f === null;
    if (f === null) {
      delete pinnedBar.bar.dataset.id;
      pinnedBar.user.textContent = "";
      pinnedBar.text.textContent = "";
      pinnedBar.meta.textContent = "";
      return;
    }
    pinnedBar.bar.dataset.id = f.id;
    pinnedBar.bar.dataset.pending = f.pending ? "true" : "false";
    pinnedBar.user.textContent = f.user || "?";
    pinnedBar.text.textContent = typeof f.text === "string" ? f.text : "";
    pinnedBar.text.style.fontStyle = f.pending ? "italic" : "";
    const textLang = f.translated ? f.lang : f.src_lang;
    if (textLang && textLang !== "und") pinnedBar.text.lang = textLang;
    else pinnedBar.text.removeAttribute("lang");
    pinnedBar.meta.textContent = f.pending ? "translating…"
      : f.translated ? `translated from ${f.src_lang}` : "";
  }

  function onPinned(f) {
    if (f.id === null || f.id === undefined) {
      setPinned(null);
    } else if (isId(f.id) && f.comment) {
      // A pending pin of a message already translated in the list: show the finished text.
      const entry = state.messages.get(f.id);
      const done = f.comment.pending && entry && !entry.frame.pending
        && entry.frame.lang === f.comment.lang;
      setPinned(Object.assign({}, done ? entry.frame : f.comment, { id: f.id }));
    }
  }

  function onDeleted(f) {
    if (!isId(f.id)) return;
    const entry = state.messages.get(f.id);
    if (entry) {
      state.messages.delete(f.id);
      entry.el.remove();
    }
    if (state.pinned && state.pinned.id === f.id) setPinned(null);
  }

  function noteId(id) {
    if (state.lastId === null || cmpId(id, state.lastId) > 0) state.lastId = id;
  }

  function renderMessage(entry) {
    const f = entry.frame;
    const node = entry.el;
    node.dataset.id = f.id;
    node.dataset.pending = f.pending ? "true" : "false";
    node.dataset.translated = f.translated ? "true" : "false";
    node.dataset.srcLang = f.src_lang || "";
    node.classList.toggle("pending", Boolean(f.pending));
    node.classList.toggle("mine", state.myUserIds.has(f.user_id));

    const user = node.querySelector(".msg-user");
    user.textContent = f.user || "?";
    user.title = f.user_id || "";

    const time = node.querySelector(".msg-time");
    if (typeof f.ts === "number") {
      const d = new Date(f.ts * 1000);
      time.dateTime = d.toISOString();
      time.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }

    const text = node.querySelector(".msg-text");
    text.textContent = f.text;
    const textLang = f.translated ? f.lang : f.src_lang;
    if (textLang && textLang !== "und") text.lang = textLang; else text.removeAttribute("lang");

    const original = node.querySelector(".msg-original");
    original.textContent = f.original;
    if (f.src_lang && f.src_lang !== "und") original.lang = f.src_lang;
    original.hidden = !(f.translated && entry.showOriginal);

    const meta = node.querySelector(".msg-meta");
    meta.replaceChildren();
    if (f.pending) {
      meta.append(el("span", { className: "tag tag-pending" }, "translating…"));
    } else if (f.translated) {
      const from = el("span", { className: "tag tag-translated", title: langLabel(f.src_lang) },
        `translated from ${f.src_lang}`);
      const toggle = el("button", { type: "button", className: "link" },
        entry.showOriginal ? "hide original" : "show original");
      toggle.dataset.testid = "toggle-original";
      toggle.setAttribute("aria-expanded", entry.showOriginal ? "true" : "false");
      toggle.addEventListener("click", () => {
        entry.showOriginal = !entry.showOriginal;
        renderMessage(entry);
      });
      meta.append(from, " · ", toggle);
    } else if (f.reason) {
      meta.append(el("span", { className: "tag tag-untranslated" },
        `not translated (${f.reason})`));
    }
    meta.hidden = meta.childNodes.length === 0;
  }

  /** Add a comment frame, or update the message with its id in place. */
  function upsertComment(frame) {
    const provisional = Boolean(frame) && isProvisionalId(frame.id);
    if (!frame || (!provisional && !isId(frame.id))) return;
    // The published copy of a provisional comment takes its place (docs/protocol.md).
    const stale = isProvisionalId(frame.replaces) && state.messages.get(frame.replaces);
    if (stale) {
      state.messages.delete(frame.replaces);
      stale.el.remove();
    }
    if (!provisional) noteId(frame.id);
    const existing = state.messages.get(frame.id);
    if (existing) {
      // Never let a pending copy overwrite a finished one (history after live, or vice versa).
      if (frame.pending && !existing.frame.pending) return;
      existing.frame = frame;
      renderMessage(existing);
      return;
    }
    const stick = state.stick || state.myUserIds.has(frame.user_id);
    const node = ui.template.content.firstElementChild.cloneNode(true);
    const entry = { frame, el: node, showOriginal: false };
    state.messages.set(frame.id, entry);
    renderMessage(entry);
    // Keep the list ordered by id (provisional ones last); nearly always this is an append.
    let before = null;
    for (let n = ui.messages.lastElementChild; n && !provisional; n = n.previousElementSibling) {
      if (!isProvisionalId(n.dataset.id) && cmpId(n.dataset.id, frame.id) < 0) break;
      before = n;
    }
    ui.messages.insertBefore(node, before);
    while (state.messages.size > MAX_MESSAGES) {
      const oldest = ui.messages.firstElementChild;
      state.messages.delete(oldest.dataset.id);
      oldest.remove();
    }
    if (stick) scrollToBottom();
  }

  function applyTranslation(frame) {
    if (frame.lang !== state.lang) return; // a late one for the language we switched away from
    if (state.pinned && state.pinned.id === frame.id) {
      setPinned(Object.assign({}, state.pinned, {
        lang: frame.lang, text: frame.text, translated: Boolean(frame.translated),
        reason: frame.reason ?? null, pending: false,
      }));
    }
    const entry = state.messages.get(frame.id);
    if (!entry) return;
    const stick = state.stick;
    entry.frame = Object.assign({}, entry.frame, {
      lang: frame.lang, text: frame.text, translated: Boolean(frame.translated),
      reason: frame.reason ?? null, pending: false,
    });
    renderMessage(entry);
    if (stick) scrollToBottom();
  }

  function replaceHistory(history) {
    clearMessages();
    for (const frame of history || []) upsertComment(frame);
    scrollToBottom();
  }

  // ---------------------------------------------------------------- the socket

  function socketUrl() {
    const params = new URLSearchParams({ lang: state.lang });
    if (state.name) params.set("name", state.name);
    if (state.lastId !== null) params.set("since", state.lastId);
    if (state.lastId !== null && state.epoch) params.set("epoch", state.epoch);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/v1/rooms/${encodeURIComponent(state.room)}/ws?${params}`;
  }

  function isOpen() {
    return state.ws !== null && state.ws.readyState === WebSocket.OPEN && state.welcomed;
  }

  function send(frame) {
    if (!isOpen()) return false;
    state.ws.send(JSON.stringify(frame));
    return true;
  }

  function connect() {
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = null;
    state.welcomed = false;
    state.handshakeError = null;
    setStatus("connecting", state.attempt ? "reconnecting…" : "connecting…");
    updateComposer();
    let ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (err) {
      onSocketClosed({ code: 0, reason: String(err) });
      return;
    }
    state.ws = ws;
    state.lastRx = Date.now();
    ws.addEventListener("message", (ev) => {
      if (state.ws !== ws) return;
      state.lastRx = Date.now();
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch (_) {
        return;
      }
      if (frame && typeof frame === "object") handleFrame(frame);
    });
    ws.addEventListener("close", (ev) => {
      if (state.ws !== ws) return;
      onSocketClosed(ev);
    });
  }

  function disconnect(code) {
    const ws = state.ws;
    state.ws = null;
    state.welcomed = false;
    if (ws && ws.readyState <= WebSocket.OPEN) {
      try { ws.close(code || 1000); } catch (_) { /* already closing */ }
    }
  }

  function onSocketClosed(ev) {
    state.ws = null;
    state.welcomed = false;
    if (state.switchingTo !== null) {
      // A language switch was cut off: come back in the new language, with fresh history.
      state.lang = state.switchingTo;
      state.switchingTo = null;
      state.lastId = null;
    }
    updateComposer();
    if (!state.wanted) {
      setStatus("idle", "not connected");
      return;
    }
    if (ev.code === CLOSE_BAD_HANDSHAKE) {
      // The server refused the room, name or language: reconnecting would fail the same way.
      const err = state.handshakeError;
      leave();
      showJoinError(err ? err.message : "The server refused to join this room.");
      return;
    }
    rememberUnacked();
    let delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** state.attempt);
    delay = delay / 2 + Math.random() * delay / 2; // jitter, so a restart is not a stampede
    if (ev.code === CLOSE_RATE_LIMITED) {
      delay = Math.max(delay, 5000);
      notify("error", "closed-rate", "Disconnected:", "too many messages; slow down.");
    } else if (ev.code === CLOSE_SLOW_CONSUMER) {
      notify("info", "closed-slow", "Reconnecting:", "the connection fell behind.");
    }
    state.attempt += 1;
    const seconds = Math.max(1, Math.round(delay / 1000));
    setStatus("offline", `offline · retrying in ${seconds}s`);
    state.reconnectTimer = setTimeout(connect, delay);
  }

  /** Comments sent but never acknowledged may not have arrived: offer the text back. */
  function rememberUnacked() {
    if (state.unacked.size === 0) return;
    const texts = [...state.unacked.values()];
    state.unacked.clear();
    if (!ui.sendText.value.trim()) {
      ui.sendText.value = texts[texts.length - 1];
      updateComposer();
      notify("info", "unacked", "Not confirmed:",
        "the connection dropped before your last message was confirmed; check and resend.");
    }
  }

  function startPing() {
    clearInterval(state.pingTimer);
    state.pingTimer = setInterval(() => {
      if (!state.ws) return;
      if (Date.now() - state.lastRx > SILENCE_LIMIT_MS) {
        // Nothing (not even a pong) for a long time: the socket is dead but not closed yet.
        const ws = state.ws;
        disconnect(4000);
        onSocketClosed({ code: 1006, reason: "silent", target: ws });
        return;
      }
      send({ type: "ping" });
    }, PING_EVERY_MS);
  }

  function handleFrame(f) {
    switch (f.type) {
      case "welcome": return onWelcome(f);
      case "comment": return upsertComment(f);
      case "translation": return applyTranslation(f);
      case "ack": return onAck(f);
      case "error": return onError(f);
      case "presence": return renderPresence(f.viewers, f.total);
      case "lang_changed": return onLangChanged(f);
      case "deleted": return onDeleted(f);
      case "pinned": return onPinned(f);
      case "pong": return undefined;
      default: return undefined; // newer server, newer frames: ignore
    }
  }

  function onWelcome(f) {
    const resumed = state.lastId !== null && state.messages.size > 0;
    state.welcomed = true;
    state.attempt = 0;
    if (f.epoch) state.epoch = f.epoch;
    if (f.you) {
      state.myUserIds.add(f.you.user_id);
      if (f.you.lang) state.lang = f.you.lang;
      if (f.you.name) state.name = f.you.name;
    }
    if (f.limits) state.limits = Object.assign({}, state.limits, f.limits);
    ensureLanguageOption(ui.langSwitch, state.lang);
    if (resumed && f.gap) {
      // Messages were lost while we were away (or the server restarted and its ids started
      // over): what we have no longer joins up with what the server has, so start over.
      replaceHistory(f.history);
      notify("info", "gap", "Missed messages:",
        "some messages were sent while you were away and are no longer available.");
    } else if (resumed) {
      for (const frame of f.history || []) upsertComment(frame);
    } else {
      replaceHistory(f.history);
    }
    if ("pinned" in f) setPinned(f.pinned);
    // Our own name may be in history from an earlier connection: re-mark ours.
    for (const entry of state.messages.values()) {
      entry.el.classList.toggle("mine", state.myUserIds.has(entry.frame.user_id));
    }
    if (f.presence) renderPresence(f.presence.viewers, f.presence.total);
    dismissNotice("closed-slow");
    setStatus("connected", "connected");
    updateComposer();
    startPing();
  }

  function onAck(f) {
    // The id is not noted for ?since=: our comment frame (which carries it) may still be
    // on its way, and resuming past it would skip it.
    if (f.client_id) state.unacked.delete(f.client_id);
  }

  function onError(f) {
    if (!state.welcomed) state.handshakeError = f;
    if (f.client_id && state.unacked.has(f.client_id)) {
      // The comment was refused: give the text back so it can be fixed and resent.
      const text = state.unacked.get(f.client_id);
      state.unacked.delete(f.client_id);
      if (!ui.sendText.value.trim()) {
        ui.sendText.value = text;
        updateComposer();
      }
    }
    if (state.switchingTo !== null && f.client_id && f.client_id.startsWith("l")) {
      state.switchingTo = null;
      ui.langSwitch.value = state.lang;
      setStatus("connected", "connected");
    }
    const words = ERROR_WORDS[f.code];
    notify("error", f.code || "error", words ? words[0] : `${f.code || "error"}:`,
      words ? words[1] : f.message || "");
  }

  function onLangChanged(f) {
    state.switchingTo = null;
    if (f.lang) state.lang = f.lang;
    ensureLanguageOption(ui.langSwitch, state.lang);
    save();
    replaceHistory(f.history);
    setPinned(f.pinned || null);
    setStatus("connected", "connected");
  }

  // ---------------------------------------------------------------- composer

  function updateComposer() {
    const limit = state.limits.max_text_chars || 500;
    const n = countChars(ui.sendText.value);
    ui.charCount.textContent = `${n} / ${limit}`;
    ui.charCount.classList.toggle("over", n > limit);
    ui.charCount.classList.toggle("near", n <= limit && n > limit * 0.9);
    ui.sendBtn.disabled = !isOpen() || n === 0 || n > limit;
    // Grow with the text, up to a few lines.
    ui.sendText.style.height = "auto";
    ui.sendText.style.height = `${Math.min(ui.sendText.scrollHeight, 128)}px`;
  }

  function submitComment() {
    const text = ui.sendText.value;
    const n = countChars(text);
    if (n === 0 || n > (state.limits.max_text_chars || 500) || !isOpen()) return;
    const clientId = `c${state.nextClientId++}`;
    if (!send({ type: "comment", text, client_id: clientId })) return;
    state.unacked.set(clientId, text);
    ui.sendText.value = "";
    updateComposer();
    ui.sendText.focus();
  }

  // ---------------------------------------------------------------- join / leave

  function showJoinError(message) {
    ui.joinError.textContent = message;
    ui.joinError.hidden = !message;
  }

  function join() {
    const room = ui.joinRoom.value.trim() || "demo";
    state.name = ui.joinName.value.trim();
    state.lang = ui.joinLang.value;
    state.room = room;
    state.wanted = true;
    state.attempt = 0;
    state.lastId = null;
    state.unacked.clear();
    clearMessages();
    ui.notices.replaceChildren();
    ui.presence.textContent = "";
    ui.roomName.textContent = room;
    fillLanguageSelect(ui.langSwitch, state.lang);
    showJoinError("");
    save();
    ui.joinForm.hidden = true;
    ui.chat.hidden = false;
    document.title = `#${room} · babelcast`;
    connect();
    ui.sendText.focus();
  }

  function leave() {
    state.wanted = false;
    clearTimeout(state.reconnectTimer);
    clearInterval(state.pingTimer);
    disconnect(1000);
    state.lastId = null;
    state.unacked.clear();
    clearMessages();
    ui.chat.hidden = true;
    ui.joinForm.hidden = false;
    ui.joinLang.value = state.lang;
    document.title = "babelcast · live chat demo";
    setStatus("idle", "not connected");
  }

  function switchLanguage(lang) {
    if (lang === state.lang && state.switchingTo === null) return;
    if (isOpen()) {
      state.switchingTo = lang;
      setStatus("connecting", `switching to ${lang}…`);
      send({ type: "set_lang", lang, client_id: `l${state.nextClientId++}` });
      return;
    }
    // Not connected: start over in the new language on the next connection.
    state.lang = lang;
    state.lastId = null;
    clearMessages();
    save();
    if (state.wanted) {
      disconnect(1000);
      state.attempt = 0;
      connect();
    }
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    const saved = loadSaved();
    const query = new URLSearchParams(location.search);
    const browserLang = normalizeLang((navigator.languages && navigator.languages[0])
      || navigator.language) || "en";
    const lang = normalizeLang(query.get("lang")) || normalizeLang(saved.lang) || browserLang;
    fillLanguageSelect(ui.joinLang, lang);
    ui.joinName.value = query.get("name") || saved.name || "";
    ui.joinRoom.value = query.get("room") || saved.room || "demo";

    ui.joinForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      join();
    });
    ui.leaveBtn.addEventListener("click", leave);
    ui.langSwitch.addEventListener("change", () => switchLanguage(ui.langSwitch.value));
    ui.sendForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      submitComment();
    });
    ui.sendText.addEventListener("input", updateComposer);
    // Follow new messages only while the reader is at the bottom; keep following when the
    // list shrinks (a notice appears, the composer grows, the phone keyboard opens).
    ui.messages.addEventListener("scroll", () => { state.stick = isNearBottom(); },
      { passive: true });
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(() => { if (state.stick) scrollToBottom(); }).observe(ui.messages);
    }
    ui.sendText.addEventListener("keydown", (ev) => {
      // Enter sends, Shift+Enter is a new line; never while an IME is composing (CJK input).
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
        ev.preventDefault();
        submitComment();
      }
    });
    window.addEventListener("online", () => {
      if (state.wanted && state.reconnectTimer !== null) {
        state.attempt = 0;
        connect();
      }
    });
    updateComposer();
    ui.joinName.focus();
  }

  init();
})();

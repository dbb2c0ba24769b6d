/* babelcast host console: /host/<room>?token=<room token>&lang=en
 *                     or /host/<room>?key=<host key>&lang=en&name=Host (--auth none)
 *
 * The chat itself is the <babelcast-chat> widget (loaded from /widget.js) connected as host:
 * the credential from this page's URL (`token` → the widget's token attribute; `key` →
 * role=host&host_key=...) is passed through to the socket URL. This script adds what a host needs around it: pin / delete / mute
 * on every message, the question queue (comments the server flagged `question: true`), and the
 * room insights polled from GET /v1/rooms/<room>/insights. No build step; every text from users
 * or the server goes in with textContent (widget helpers `el` / `testid`).
 */
(function () {
  "use strict";

  const Chat = customElements.get("babelcast-chat");
  const { el, testid, langName, isId, cmpId, normalizeLang, bidiClosed } = Chat.helpers;
  const INSIGHTS_EVERY_MS = 2000;
  const NOTICE_SHOW_MS = 6000;
  const MAX_FRAMES = 1000;
  const MODERATING_ROLES = new Set(["host", "moderator"]);

  const params = new URLSearchParams(location.search);
  const room = decodeURIComponent(location.pathname.split("/")[2] || "demo");
  // The credential from this page's URL: a room token (--auth jwt; its role says host or
  // moderator), or the host key (--auth none).
  const token = (params.get("token") || "").trim();
  const key = (params.get("key") || "").trim();
  const state = {
    lang: normalizeLang(params.get("lang")) || "en",
    host: false,
    epoch: null,
    questions: new Map(), // id -> comment frame in the host's language
    votes: new Map(), // question id -> votes (from comment and `votes` frames)
    answered: new Set(), // ids marked answered (kept per room and epoch in localStorage)
    frames: new Map(), // id -> the frame last rendered for it, to redraw its actions
    muted: new Set(), // user ids muted from this console
    pending: new Map(), // client_id -> {kind, id, user}
    noticeTimer: null,
  };

  const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
  const ui = {
    room: $("console-room"), notice: $("console-notice"), queue: $("question-queue"),
    answeredQueue: $("answered-queue"), count: $("question-count"),
    answeredCount: $("answered-count"), empty: $("queue-empty"),
    window: $("insights-window"), viewers: $("insights-viewers"), rate: $("insights-rate"),
    questions: $("insights-questions"), mood: $("insights-mood"), spark: $("insights-spark"),
    terms: $("insights-terms"), cues: $("insights-cues"), reactions: $("insights-reactions"),
  };
  // The room's reactions since the console opened, summed from the `reactions` frames.
  const reactionTotals = new Map();
  const REACTION_SIGNS = { heart: "\u2665", fire: "\u{1F525}", laugh: "\u{1F602}",
    wow: "\u{1F62E}", clap: "\u{1F44F}" };

  const chat = document.createElement("babelcast-chat");
  chat.setAttribute("room", room);
  chat.setAttribute("lang", state.lang);
  chat.setAttribute("name", params.get("name") || "Host");
  if (token) chat.setAttribute("token", token);
  else if (key) chat.connectParams = { role: "host", host_key: key };
  chat.decorateMessage = decorate;
  chat.addEventListener("babelcast-frame", (ev) => onFrame(ev.detail));
  document.querySelector(".chat").append(chat);
  ui.room.textContent = room;
  document.title = `${room} · babelcast host console`;
  if (!token && !key) {
    notice("Read-only: open this page with ?token=<host or moderator token> (or ?key=<host "
      + "key> on a server without tokens) to pin, delete and mute.", true);
  }

  // ---------------------------------------------------------------- notices and actions

  function notice(text, sticky) {
    ui.notice.textContent = text;
    clearTimeout(state.noticeTimer);
    if (!sticky) state.noticeTimer = setTimeout(() => { ui.notice.textContent = ""; },
      NOTICE_SHOW_MS);
  }

  function act(kind, frame, what) {
    const clientId = chat.sendFrame(frame);
    if (clientId === null) {
      notice("Not connected: try again in a moment.");
      return;
    }
    state.pending.set(clientId, Object.assign({ kind }, what));
  }

  function button(label, id, onClick, title) {
    const b = testid(el("button", { type: "button", className: "act", title: title || "" },
      label), id);
    b.setAttribute("part", "action");
    b.addEventListener("click", onClick);
    return b;
  }

  /** The widget calls this after rendering each message: highlight and host actions. */
  function decorate(li, f) {
    state.frames.delete(f.id);
    state.frames.set(f.id, f);
    // The widget keeps a few hundred messages; forget the frames of those it dropped.
    while (state.frames.size > MAX_FRAMES) state.frames.delete(state.frames.keys().next().value);
    li.setAttribute("part", f.question ? "message question" : "message");
    let bar = li.querySelector(".host-actions");
    if (!state.host) {
      if (bar) bar.remove();
      return;
    }
    if (!bar) {
      bar = el("span", { className: "host-actions" });
      bar.setAttribute("part", "actions");
      li.append(bar);
    }
    const muted = state.muted.has(f.user_id);
    const mute = button(muted ? "muted" : "mute", "action-mute",
      () => act("ban", { type: "ban", user_id: f.user_id }, { user: f.user, id: f.user_id }),
      `Mute ${f.user}: their next comments are refused`);
    mute.disabled = muted;
    bar.replaceChildren(
      button("pin", "action-pin", () => act("pin", { type: "pin", id: f.id }, { id: f.id }),
        "Pin for every viewer"),
      button("delete", "action-delete",
        () => act("delete", { type: "delete", id: f.id }, { id: f.id }),
        "Remove from every viewer's chat"),
      mute);
  }

  function redecorateAll() {
    for (const li of chat.shadowRoot.querySelectorAll('[data-testid="message"]')) {
      const f = state.frames.get(li.dataset.id);
      if (f) decorate(li, f);
    }
  }

  // ---------------------------------------------------------------- frames from the widget

  function onReactions(f) {
    const add = (counts) => {
      for (const [name, n] of Object.entries(counts || {})) {
        reactionTotals.set(name, (reactionTotals.get(name) || 0) + n);
      }
    };
    add(f.counts);
    for (const counts of Object.values(f.comments || {})) add(counts);
    ui.reactions.textContent = [...reactionTotals]
      .sort((a, b) => b[1] - a[1])
      .map(([name, n]) => `${REACTION_SIGNS[name] || name} ${n}`).join(" · ");
  }

  function onFrame(f) {
    switch (f.type) {
      case "reactions": return onReactions(f);
      case "votes":
        if (isId(f.id) && Number.isInteger(f.votes)) {
          setVotes(f.id, f.votes);
          if (state.questions.has(f.id)) renderQueue();
        }
        return;
      case "welcome": {
        state.host = Boolean(f.you && MODERATING_ROLES.has(f.you.role));
        if (!state.host && (token || key)) {
          notice("Connected without host rights: this credential's role is "
            + `${(f.you && f.you.role) || "viewer"}.`, true);
        }
        if (f.you && f.you.lang) state.lang = f.you.lang;
        if (f.epoch !== state.epoch || f.gap) {
          state.epoch = f.epoch;
          loadAnswered();
          state.questions.clear();
          state.votes.clear();
        }
        for (const c of f.history || []) addComment(c);
        redecorateAll();
        renderQueue();
        pollInsights();
        return;
      }
      case "lang_changed":
        state.lang = f.lang || state.lang;
        state.questions.clear();
        for (const c of f.history || []) addComment(c);
        renderQueue();
        pollInsights();
        return;
      case "comment":
        if (addComment(f)) renderQueue();
        return;
      case "translation": {
        const q = state.questions.get(f.id);
        if (q && f.lang === state.lang) {
          state.questions.set(f.id, Object.assign({}, q, {
            text: f.text, translated: Boolean(f.translated), pending: false, lang: f.lang,
          }));
          renderQueue();
        }
        return;
      }
      case "deleted":
        state.frames.delete(f.id);
        if (state.questions.delete(f.id)) renderQueue();
        return;
      case "error":
        // An error before `welcome` (no client_id, still connecting) is the server refusing
        // the console's credential: say why, and where to fix it.
        if (!f.client_id && chat.status === "connecting") return onRefused(f);
        return onReply(f);
      case "ack":
        return onReply(f);
      default:
        return;
    }
  }

  function addComment(f) {
    if (!f || !isId(f.id) || !f.question) return false;
    const known = state.questions.get(f.id);
    if (known && !known.pending && f.pending) return false;
    state.questions.set(f.id, f);
    if (Number.isInteger(f.votes)) setVotes(f.id, f.votes);
    return true;
  }

  // Votes only grow: the highest count heard is the newest.
  function setVotes(id, n) { state.votes.set(id, Math.max(n, state.votes.get(id) || 0)); }

  function onRefused(f) {
    const where = token ? "the token (?token=…)" : key ? "the host key (?key=…)"
      : "the room name";
    notice(`The server refused this console: ${f.message || f.code}. Check ${where} in this `
      + "page's URL.", true);
  }

  function onReply(f) {
    const what = f.client_id && state.pending.get(f.client_id);
    if (!what) return;
    state.pending.delete(f.client_id);
    if (f.type === "error") {
      notice(`Could not ${what.kind === "ban" ? "mute" : what.kind}: ${f.message || f.code}`);
      return;
    }
    if (what.kind === "ban") {
      state.muted.add(what.id);
      redecorateAll();
      notice(`Muted ${what.user}: their next comments are refused.`);
    } else if (what.kind === "delete") {
      notice(`Deleted message ${what.id} for every viewer.`);
    } else {
      notice(`Pinned message ${what.id} for every viewer.`);
    }
  }

  // ---------------------------------------------------------------- question queue

  function answeredKey() { return `babelcast-host:${room}:${state.epoch}:answered`; }

  function loadAnswered() {
    state.answered = new Set();
    try {
      const saved = JSON.parse(localStorage.getItem(answeredKey()) || "[]");
      if (Array.isArray(saved)) for (const id of saved) if (isId(id)) state.answered.add(id);
    } catch (_) { /* storage unavailable or corrupt: start empty */ }
  }

  function setAnswered(id, done) {
    if (done) state.answered.add(id); else state.answered.delete(id);
    try {
      localStorage.setItem(answeredKey(), JSON.stringify([...state.answered]));
    } catch (_) { /* storage unavailable: the mark lasts for this page */ }
    renderQueue();
  }

  function questionItem(f, answered) {
    const li = testid(el("li", { className: "question" }), "question");
    li.dataset.id = f.id;
    li.dataset.pending = f.pending ? "true" : "false";
    const user = testid(el("span", { className: "user", dir: "auto" }, bidiClosed(f.user || "?")),
      "question-user");
    const text = testid(el("span", { className: "text", dir: "auto" }, bidiClosed(f.text || "")),
      "question-text");
    if (f.translated) text.lang = f.lang;
    else if (f.src_lang && f.src_lang !== "und") text.lang = f.src_lang;
    const meta = testid(el("span", { className: "meta" }, f.pending ? "translating…"
      : f.translated ? `from ${langName(f.src_lang)}: ` : ""), "question-meta");
    if (f.translated) {
      const original = el("span", { dir: "auto", lang: f.src_lang }, bidiClosed(f.original || ""));
      meta.append(original);
    }
    const toggle = testid(el("button", { type: "button", className: "act" },
      answered ? "reopen" : "answered"), answered ? "mark-open" : "mark-answered");
    toggle.addEventListener("click", () => setAnswered(f.id, !answered));
    const actions = el("span", { className: "q-actions" });
    actions.append(toggle);
    if (state.host && !answered) {
      const pin = testid(el("button", { type: "button", className: "act" }, "pin"),
        "question-pin");
      pin.addEventListener("click", () => act("pin", { type: "pin", id: f.id }, { id: f.id }));
      actions.append(pin);
    }
    const votes = testid(el("span", { className: "votes", title: "votes" },
      `▲ ${state.votes.get(f.id) || 0}`), "question-votes");
    li.append(votes, user, text, meta, actions);
    return li;
  }

  function renderQueue() {
    const open = [];
    const done = [];
    // Most voted first; equal votes in the order they were asked.
    const votes = (id) => state.votes.get(id) || 0;
    const ids = [...state.questions.keys()].sort((a, b) => votes(b) - votes(a) || cmpId(a, b));
    for (const id of ids) (state.answered.has(id) ? done : open).push(state.questions.get(id));
    ui.queue.replaceChildren(...open.map((f) => questionItem(f, false)));
    ui.answeredQueue.replaceChildren(...done.map((f) => questionItem(f, true)));
    ui.count.textContent = String(open.length);
    ui.answeredCount.textContent = String(done.length);
    ui.empty.hidden = open.length > 0;
  }

  // ---------------------------------------------------------------- insights

  let polling = null;

  async function pollInsights() {
    clearTimeout(polling);
    try {
      const url = `${chat.server}/v1/rooms/${encodeURIComponent(room)}/insights`
        + `?lang=${encodeURIComponent(state.lang)}`;
      const response = await fetch(url, { cache: "no-store" });
      if (response.ok) renderInsights(await response.json());
    } catch (_) { /* offline: the widget shows it; try again on the next tick */ }
    polling = setTimeout(pollInsights, INSIGHTS_EVERY_MS);
  }

  function renderInsights(data) {
    const minutes = Math.round(data.window_s / 60);
    ui.window.textContent = `last ${minutes} min`;
    const langs = Object.entries(data.viewers || {}).filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    ui.viewers.textContent = `${data.viewers_total} · `
      + (langs.map(([code, n]) => `${code} ${n}`).join(" · ") || "none");
    const c = data.comments;
    const avg = c.in_window / Math.max(1, c.per_minute.length);
    ui.rate.textContent = `${c.last_minute} (avg ${avg.toFixed(1)})`
      + (c.complete ? "" : " or more");
    ui.questions.textContent = String(data.questions);
    const scores = data.mood.scores;
    ui.mood.textContent = `${data.mood.dominant} — `
      + Object.keys(scores).map((m) => `${m} ${scores[m]}`).join(" · ");
    ui.mood.dataset.mood = data.mood.dominant;
    const top = Math.max(1, ...c.per_minute);
    ui.spark.replaceChildren(...c.per_minute.map((n, i) => {
      const bar = el("span", { className: "tick", title: `${n} comments` });
      bar.style.height = `${Math.round((n / top) * 100)}%`;
      bar.dataset.minute = String(c.per_minute.length - 1 - i);
      return bar;
    }));
    ui.terms.replaceChildren(...data.top_terms.map((t) =>
      testid(el("li", { dir: "auto" }, `${t.term} ×${t.mentions}`), "insights-term")));
    if (!data.top_terms.length) ui.terms.append(el("li", { className: "muted" }, "none yet"));
    ui.cues.replaceChildren(...Object.entries(data.mood.cues)
      .filter(([, cues]) => cues.length)
      .map(([mood, cues]) => el("li", {}, `${mood}: `
        + cues.map((x) => `${x.cue} ×${x.count}`).join(", "))));
    document.body.dataset.insightsAt = String(data.now);
  }
})();

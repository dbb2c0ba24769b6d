/* babelcast demo page: join a room, read the chat in your language, write in yours.
 *
 * The chat itself is the embeddable widget (<babelcast-chat>, /widget.js, docs/widget.md);
 * this page only asks for a name, a language and a room, remembers them, and puts the widget
 * on the page. No dependencies, no build step; text goes in with textContent.
 */
(function () {
  "use strict";

  const { el, normalizeLang, browserLang, LANGUAGES } = customElements.get("babelcast-chat")
    .helpers;
  const STORAGE_KEY = "babelcast.demo";
  const $ = (id) => document.getElementById(id);
  const ui = {
    joinForm: $("join-form"), joinName: $("join-name"), joinLang: $("join-lang"),
    joinRoom: $("join-room"), chat: $("chat"), leaveBtn: $("leave-btn"),
  };

  function loadSaved() {
    try {
      return JSON.parse(localStorage.getItem(STORAGE_KEY) || "{}") || {};
    } catch (_) {
      return {};
    }
  }

  function save(values) {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(Object.assign(loadSaved(), values)));
    } catch (_) { /* storage unavailable (private mode): nothing is remembered */ }
  }

  function fillLanguages(selected) {
    const known = LANGUAGES.some(([code]) => code === selected);
    ui.joinLang.replaceChildren(...(known ? LANGUAGES : [...LANGUAGES, [selected, selected]])
      .map(([code, label]) => el("option", { value: code, lang: code }, label)));
    ui.joinLang.value = selected;
  }

  function join() {
    const room = ui.joinRoom.value.trim() || "demo";
    const name = ui.joinName.value.trim();
    const lang = ui.joinLang.value;
    save({ name, lang, room });
    const chat = document.createElement("babelcast-chat");
    chat.setAttribute("room", room);
    chat.setAttribute("lang", lang);
    if (name) chat.setAttribute("name", name);
    // The widget's language picker switches in place; remember the choice for next time.
    chat.addEventListener("babelcast-lang", (ev) => save({ lang: ev.detail.lang }));
    ui.chat.replaceChildren(chat);
    ui.joinForm.hidden = true;
    ui.chat.hidden = false;
    ui.leaveBtn.hidden = false;
    document.title = `#${room} · babelcast`;
  }

  function leave() {
    ui.chat.replaceChildren(); // removing the element closes its connection
    ui.chat.hidden = true;
    ui.leaveBtn.hidden = true;
    fillLanguages(normalizeLang(loadSaved().lang) || ui.joinLang.value);
    ui.joinForm.hidden = false;
    document.title = "babelcast · live chat demo";
  }

  const saved = loadSaved();
  const query = new URLSearchParams(location.search);
  fillLanguages(normalizeLang(query.get("lang")) || normalizeLang(saved.lang) || browserLang());
  ui.joinName.value = query.get("name") || saved.name || "";
  ui.joinRoom.value = query.get("room") || saved.room || "demo";
  ui.joinForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    join();
  });
  ui.leaveBtn.addEventListener("click", leave);
  ui.joinName.focus();
})();

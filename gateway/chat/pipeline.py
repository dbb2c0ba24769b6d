"""The path of one comment: moderation, language ID, publication on the bus, and translation
into the languages present in the room, each published as its own event when ready.

A comment is published as soon as it has passed moderation, so readers of its own language get
it at once; each node holds it back from its other language groups until their translation
arrives, for at most ``translation_wait_ms`` (``rooms.room``). The translations a comment
needs are handed to the ``TranslationTracker`` (``chat.tracking``), which publishes each."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from babelcast.gateway.bus.base import Bus, CommentDraft
from babelcast.gateway.bus.presence import Presence
from babelcast.gateway.chat.moderation import (
    Blocklist,
    BlocklistCache,
    CommentRefused,
    ModerationStats,
    RoomCommentGate,
    blocked,
)
from babelcast.gateway.chat.moderation_wait import ModerationWait
from babelcast.gateway.chat.observer import PipelineObserver
from babelcast.gateway.chat.questions import QuestionDetector
from babelcast.gateway.chat.sink import ChatEventSink
from babelcast.gateway.chat.tracking import (
    GlossaryLookup,
    RoomSettingsLookup,
    TranslationTracker,
    timed_translate,
)
from babelcast.gateway.events import ChatMessage
from babelcast.gateway.stores.base import RoomSettings
from babelcast.gateway.wire import codes
from babelcast.glossary import Glossary, glossary_hits
from babelcast.langid import UNDETERMINED, Detection, Detector
from babelcast.translation import Translation, Translator

log = logging.getLogger("babelcast.pipeline")


class CommentPipeline:
    """Turns accepted comments into published, translated messages."""

    def __init__(self, detector: Detector, translator: Translator, bus: Bus,
                 presence: Presence, glossaries: GlossaryLookup,
                 room_settings: RoomSettingsLookup, tracker: TranslationTracker, *, wait_s: float,
                 observer: PipelineObserver | None = None,
                 questions: QuestionDetector | None = None,
                 moderation_wait_s: float = 1.0, events: ChatEventSink | None = None) -> None:
        """``tracker`` takes over the translations a comment needs once it is published;
        ``observer`` is told about each comment and translation (None: nobody measures);
        ``events`` about each comment published or blocked (None: nobody listens)."""
        self.observer = observer
        self.events = events
        self.questions = questions or QuestionDetector()
        self.moderation_wait_s = moderation_wait_s
        self.moderation_wait = ModerationWait(moderation_wait_s)
        self.blocklists = BlocklistCache()
        self.moderation = ModerationStats()
        self.detector = detector
        self.translator = translator
        self.bus = bus
        self.presence = presence
        self.glossaries = glossaries
        self.room_settings = room_settings
        self.tracker = tracker
        # How long a node holds a comment back from readers of another language, waiting for
        # their translation, before it sends the original marked pending (gateway.room).
        self.wait_s = wait_s
        self._background: set[asyncio.Task[object]] = set()
        self._late_checks: set[asyncio.Task[Translation]] = set()

    def detect(self, text: str, declared: str | None,
               candidates: tuple[str, ...] = ()) -> Detection:
        """Language of a comment (fast enough to run on the event loop: tens of µs);
        ``candidates`` are the room's languages, if it restricts them."""
        detection = self.detector.detect(text, declared, candidates=candidates or None)
        if self.observer is not None:
            self.observer.language_detected(detection.reason)
        return detection

    async def _glossary_named(self, name: str | None) -> Glossary | None:
        return await self.glossaries.get(name) if name else None

    async def submit(self, room: str, user: str, user_id: str, declared: str | None,
                     text: str, *, gate: RoomCommentGate | None = None,
                     sender: str | None = None, privileged: bool = False,
                     origin: str = "") -> ChatMessage:
        """Moderate, detect, publish, and start the translations into each other language
        present (published as they land). Returns the published message (with its id). Raises
        ``CommentRefused`` when moderation refuses the comment: ``gate`` (the room's slow
        mode, counted per ``sender`` (default: ``user_id``), and rate cap; ``privileged``
        senders pass) and the blocklist on the text and on its moderation-language
        translation. ``origin``: who posted it through the server API ("shop", "host",
        "system"; "" for a viewer), carried by its frames as ``from``."""
        started = asyncio.get_running_loop().time()
        settings = await self.room_settings.get(room)
        if gate is not None:
            gate.admit(sender or user_id, text, privileged=privileged,
                       slow_mode_s=settings.slow_mode_s,
                       max_per_s=settings.max_comments_per_s, stats=self.moderation)
        detection = self.detect(text, declared, settings.languages)
        src = detection.lang
        glossary = await self._glossary_named(settings.glossary)
        try:
            ready, late_check = await self._screen(text, src, settings, glossary)
        except CommentRefused as exc:
            if self.events is not None and exc.code == codes.BLOCKED:
                self.events.comment_blocked(room, user, user_id, text, src,
                                            via_translation=exc.via_translation)
            raise
        tasks: dict[str, asyncio.Task[Translation]] = {}
        if late_check is not None:
            tasks[settings.moderation_lang] = late_check[1]  # one model call for both uses
        if src != UNDETERMINED:
            for lang in await self.presence.viewers(room):
                if lang != src and lang not in ready and lang not in tasks:
                    tasks[lang] = asyncio.create_task(self._translate_after_fanout(
                        text, src, lang, glossary, settings.normalise_chat))
        # No wait for the translations: the comment goes out now (its own language's readers
        # get it at once) and each translation follows as its own event; rooms hold the comment
        # back from the readers who need one for up to ``wait_s``.
        msg = await self.bus.publish_comment(CommentDraft(
            room=room, user=user, user_id=user_id, text=text, src_lang=src,
            translations=ready, glossary_hits=glossary_hits(text, glossary),
            question=self._is_question(text, src, ready.get("en")),
            owed=tuple(lang for lang in tasks if lang not in ready), origin=origin))
        for lang, task in tasks.items():
            if lang not in ready:
                self.tracker.follow(msg, lang, task)
        if late_check is not None:
            self._check_late(msg, *late_check)
        if self.events is not None:
            self.events.comment_published(
                msg, {lang: task for lang, task in tasks.items() if lang not in ready})
        if self.observer is not None:
            self.observer.comment_published(asyncio.get_running_loop().time() - started)
        return msg

    def _is_question(self, text: str, src: str, english: Translation | None) -> bool:
        """The question flag, decided once at publish time from the original and the English
        translation when it was ready by then (the host console's question queue)."""
        en_text = english.text if english is not None and english.translated else None
        return self.questions.is_question(text, src, en_text)

    def blocklist_for(self, settings: RoomSettings, src: str) -> Blocklist | None:
        """The room's own entries plus, unless turned off, the default lists of its
        moderation language and of the comment's language."""
        langs = (settings.moderation_lang, src) if settings.use_default_blocklist else ()
        return self.blocklists.get(settings.blocklist, langs)

    async def _screen(self, text: str, src: str, settings: RoomSettings,
                      glossary: Glossary | None,
                      ) -> tuple[dict[str, Translation],
                                 tuple[Blocklist, asyncio.Task[Translation]] | None]:
        """The blocklist check: on the text, then on its translation into the moderation
        language when the comment is in another one. Raises ``CommentRefused``. Returns that
        translation when ready (the fan-out reuses it), or the blocklist and the
        translation's task when it was not ready within ``moderation_wait_s``: the comment
        is then published and checked again when the translation lands."""
        blocklist = self.blocklist_for(settings, src)
        if blocklist is None:
            return {}, None
        if blocklist.find(text) is not None:
            self.moderation.blocked += 1
            raise blocked(via_translation=False)
        target = settings.moderation_lang
        if src in (UNDETERMINED, target):
            return {}, None
        if not self.translator.covers(src, target):
            self.moderation.unchecked_translation += 1  # no engine: nothing to wait for
            return {}, None
        task = asyncio.create_task(self._translate(text, src, target, glossary,
                                                   settings.normalise_chat))
        self._time_moderation_translation(task)
        budget = self.moderation_wait.budget()  # none while these translations are late
        done = (await asyncio.wait({task}, timeout=budget))[0] if budget > 0 else set()
        if not done:
            if budget > 0:
                self.moderation_wait.missed()
            self.moderation.late_translation += 1
            return {}, (blocklist, task)
        result = task.result()
        if not result.translated:
            # No route into the moderation language, or the engine failed: the check on
            # the text as written is all there is.
            self.moderation.unchecked_translation += 1
            return {}, None
        if blocklist.find(result.text) is not None:
            self.moderation.blocked_translation += 1
            raise blocked(via_translation=True)
        return {target: result}, None

    def _time_moderation_translation(self, task: asyncio.Task[Translation]) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()

        def done(t: asyncio.Task[Translation]) -> None:
            if not t.cancelled() and t.exception() is None:
                self.moderation_wait.finished(loop.time() - started, t.result().translated)

        task.add_done_callback(done)

    def _check_late(self, msg: ChatMessage, blocklist: Blocklist,
                    task: asyncio.Task[Translation]) -> None:
        """Delete ``msg`` if its late moderation-language translation is blocked."""

        def done(t: asyncio.Task[Translation]) -> None:
            if t.cancelled():
                return
            result = t.result()
            if not result.translated:
                self.moderation.unchecked_translation += 1
            elif blocklist.find(result.text) is not None:
                self.moderation.deleted_late += 1
                self._spawn(self.bus.delete_message(msg.room, msg.id, epoch=msg.epoch))
                if self.events is not None:
                    self.events.comment_blocked(msg.room, msg.user, msg.user_id, msg.text,
                                                msg.src_lang, via_translation=True,
                                                message_id=msg.id)

        task.add_done_callback(done)
        self._late_checks.add(task)
        task.add_done_callback(self._late_checks.discard)

    async def _translate_after_fanout(self, text: str, src: str, tgt: str,
                                      glossary: Glossary | None,
                                      normalise: bool = True) -> Translation:
        """``_translate`` once the loop has run what is ready: the comment is published in the
        meantime, and the room's fan-out to readers of its own language (woken by that) goes
        ahead of the chat stage's work on the loop, which they do not need."""
        await asyncio.sleep(0)
        return await self._translate(text, src, tgt, glossary, normalise)

    async def _translate(self, text: str, src: str, tgt: str, glossary: Glossary | None,
                         normalise: bool = True) -> Translation:
        """``translate_one``, timed for the observer; ``normalise`` False: the room turned the
        chat stage off."""
        return await timed_translate(self.translator, self.observer, text, src, tgt, glossary,
                                     normalise)

    def _spawn(self, coro: Awaitable[object]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        """Cancel late moderation checks still in flight (shutdown); the tracker cancels the
        translations."""
        for task in self._late_checks:
            task.cancel()
        await asyncio.gather(*self._late_checks, *self._background, return_exceptions=True)

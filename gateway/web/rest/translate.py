"""``POST /v1/translate``: translation for bots and back ends, through the same translator as
the chat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from babelcast.gateway.chat.tracking import GlossaryLookup
from babelcast.gateway.web.rest.access import TranslateAccess
from babelcast.gateway.web.rest.errors import MAX_BODY, ApiError, json_body, lang_param
from babelcast.gateway.wire.client import InputLimits, validate_text
from babelcast.gateway.wire.errors import ProtocolError
from babelcast.glossary import glossary_hits
from babelcast.langid import Detection
from babelcast.translation import Translator

MAX_TRANSLATE_BODY = MAX_BODY
MAX_TARGETS = 16


@dataclass(frozen=True)
class TranslateDeps:
    """What the translate route uses."""

    translator: Translator
    detect: Callable[[str, str | None], Detection]  # language ID, as for comments
    glossaries: GlossaryLookup
    access: TranslateAccess
    max_text_chars: int


def routes(deps: TranslateDeps) -> list[BaseRoute]:
    """``POST /v1/translate``."""

    async def translate(request: Request) -> Response:
        """Translate one text into several languages.
        ---
        post:
          summary: Translate a text
          description: Through the same translator and chat stage as the comments. The admin
            key passes unlimited; other callers are limited per address and, under --auth
            jwt, need a room token of any room.
          operationId: translate
          tags: [translate]
          security:
            - {}
            - adminKey: []
            - roomToken: []
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [text, targets]
                  properties:
                    text: {$ref: '#/components/schemas/CommentText'}
                    targets:
                      type: array
                      minItems: 1
                      maxItems: 16
                      items: {$ref: '#/components/schemas/Lang'}
                    source:
                      description: the text's language; absent or null, it is detected
                      oneOf:
                        - {$ref: '#/components/schemas/Lang'}
                        - {type: 'null'}
                    glossary:
                      type: [string, 'null']
                      description: the name of a stored glossary to protect terms with
                    debug: {type: boolean, description: add what the chat stage rewrote}
          responses:
            '200':
              description: a translation per target language
              content:
                application/json:
                  schema:
                    type: object
                    required: [source, translations, glossary_hits]
                    properties:
                      source: {type: string}
                      translations:
                        type: object
                        additionalProperties:
                          type: object
                          required: [text, translated, reason]
                          properties:
                            text: {type: string}
                            translated: {type: boolean}
                            reason:
                              type: [string, 'null']
                              description: why it was not translated
                            rewrites: {type: array, items: {type: object}}
                      glossary_hits: {type: array, items: {type: string}}
                      detection:
                        type: object
                        properties:
                          lang: {type: string}
                          confidence: {type: number}
                          reason: {type: [string, 'null']}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '413': {$ref: '#/components/responses/PayloadTooLarge'}
            '422': {$ref: '#/components/responses/Unprocessable'}
            '429': {$ref: '#/components/responses/TooManyRequests'}
        """
        await deps.access.check(request)
        data = await json_body(request, MAX_TRANSLATE_BODY)
        if not isinstance(data, dict):
            raise ApiError(400, "invalid_body", 'body must be an object: {"text": ..., '
                           '"targets": [...], "source": optional}')
        limits = InputLimits(max_text_chars=deps.max_text_chars)
        try:
            text = validate_text(data.get("text"), limits)
        except ProtocolError as exc:
            raise ApiError(400, exc.code, exc.message) from None
        targets = data.get("targets")
        if (not isinstance(targets, list) or not targets or len(targets) > MAX_TARGETS):
            raise ApiError(400, "invalid_targets", f"'targets' must be a list of 1 to "
                           f"{MAX_TARGETS} language codes")
        langs = [lang_param(t, "targets") for t in targets]
        glossary = None
        if data.get("glossary") is not None:
            glossary = await deps.glossaries.get(str(data["glossary"]))
            if glossary is None:
                raise ApiError(422, "glossary_not_found",
                               f"no glossary named {str(data['glossary'])[:64]!r}")
        detection = None
        if data.get("source") is not None:
            src = lang_param(data["source"], "source")
        else:
            detection = deps.detect(text, None)
            src = detection.lang
        result: dict[str, Any] = {}
        for lang in dict.fromkeys(langs):
            if lang == src or src == "und":
                result[lang] = {"text": text, "translated": False,
                                "reason": None if lang == src else "undetermined"}
        todo = [lang for lang in dict.fromkeys(langs) if lang not in result]
        done = await deps.translator.translate(text, src, todo, glossary)
        for lang, t in done.items():
            result[lang] = {"text": t.text, "translated": t.translated, "reason": t.reason}
            if data.get("debug") is True:  # what the chat stage rewrote, for debugging
                result[lang]["rewrites"] = [r.to_json() for r in t.rewrites]
        payload: dict[str, Any] = {"source": src, "translations": result,
                                   "glossary_hits": list(glossary_hits(text, glossary))}
        if detection is not None:
            payload["detection"] = {"lang": detection.lang, "confidence": detection.confidence,
                                    "reason": detection.reason}
        return JSONResponse(payload)

    return [Route("/v1/translate", translate, methods=["POST"])]

"""``/v1/rooms/{room}/settings``: a room's glossary, languages and moderation rules."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from babelcast.gateway.chat.room_settings import (
    MODERATION_FIELDS,
    REACTION_FIELDS,
    TRANSLATION_FIELDS,
    moderation_changes,
    reaction_changes,
    translation_changes,
)
from babelcast.gateway.chat.tracking import GlossaryLookup
from babelcast.gateway.stores.base import RoomSettings
from babelcast.gateway.web.rest.access import AdminAccess
from babelcast.gateway.web.rest.errors import MAX_BODY, ApiError, json_body, lang_param, room_param


class RoomSettingsStorage(Protocol):
    """Where room settings are kept (memory, or Redis shared by every node)."""

    async def get(self, room: str) -> RoomSettings: ...

    async def put(self, room: str, settings: RoomSettings) -> None: ...


@dataclass(frozen=True)
class RoomSettingsDeps:
    """What the room settings route uses."""

    room_settings: RoomSettingsStorage
    glossaries: GlossaryLookup  # a room may only name a glossary that exists
    admin: AdminAccess  # changes need the admin key


def routes(deps: RoomSettingsDeps) -> list[BaseRoute]:
    """``GET`` and ``PUT /v1/rooms/{room}/settings``."""

    async def room_settings(request: Request) -> Response:
        """Read or change a room's settings.
        ---
        get:
          summary: A room's settings
          operationId: getRoomSettings
          tags: [room settings]
          parameters:
            - room  # components.parameters
          responses:
            '200':
              description: the settings (defaults for a room never set)
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/RoomSettings'}
            '400': {$ref: '#/components/responses/BadRequest'}
        put:
          summary: Change a room's settings
          description: Any non-empty subset of the fields; the others keep their values.
            Moderation fields are described in docs/moderation.md.
          operationId: putRoomSettings
          tags: [room settings]
          security:
            - adminKey: []
          parameters:
            - room  # components.parameters
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  minProperties: 1
                  additionalProperties: false
                  properties:
                    glossary:
                      type: [string, 'null']
                      description: the name of a stored glossary, or null for none
                    languages:
                      type: array
                      maxItems: 32
                      description: the languages the room's comments are in ([] for any)
                      items: {$ref: '#/components/schemas/Lang'}
                    normalise_chat: {type: boolean}
                    blocklist:
                      type: array
                      maxItems: 500
                      description: words and phrases refused in comments
                      items:
                        type: string
                        description: 1-100 characters with at least one letter or digit
                        maxLength: 100
                        pattern: '[^\\W_]'
                    use_default_blocklist: {type: boolean}
                    moderation_lang: {$ref: '#/components/schemas/Lang'}
                    slow_mode_s: {type: number, minimum: 0, maximum: 3600}
                    max_comments_per_s: {type: integer, minimum: 0, maximum: 100000}
          responses:
            '200':
              description: the settings now
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/RoomSettings'}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '413': {$ref: '#/components/responses/PayloadTooLarge'}
            '422': {$ref: '#/components/responses/Unprocessable'}
        """
        room = room_param(request)
        current = await deps.room_settings.get(room)
        if request.method == "PUT":
            deps.admin.require(request)
            data = await json_body(request, MAX_BODY)
            if (not isinstance(data, dict) or not data
                    or set(data) - {"glossary", "languages", *MODERATION_FIELDS,
                                    *TRANSLATION_FIELDS, *REACTION_FIELDS}):
                raise ApiError(400, "invalid_body", 'room settings are {"glossary": name or '
                               'null, "languages": [ISO 639-1 codes], "normalise_chat": true '
                               'or false, "reactions": [reaction names], and the '
                               'moderation fields '
                               f'{", ".join(MODERATION_FIELDS)}}} (any of them; see '
                               'docs/moderation.md)')
            try:
                changes: dict[str, Any] = {**moderation_changes(data),
                                           **translation_changes(data),
                                           **reaction_changes(data)}
            except ValueError as exc:
                raise ApiError(400, "invalid_field", str(exc)) from None
            if "glossary" in data:
                name = data["glossary"]
                if name is not None and not isinstance(name, str):
                    raise ApiError(400, "invalid_field", "'glossary' must be a name or null")
                if name is not None and await deps.glossaries.get(name) is None:
                    raise ApiError(422, "glossary_not_found", f"no glossary named "
                                   f"{name[:64]!r}; PUT /v1/glossaries/{{name}} first")
                changes["glossary"] = name
            if "languages" in data:
                langs = data["languages"]
                if not isinstance(langs, list) or len(langs) > 32:
                    raise ApiError(400, "invalid_field", "'languages' must be a list of at "
                                   "most 32 language codes ([] for any language)")
                changes["languages"] = tuple(dict.fromkeys(lang_param(v, "languages")
                                                           for v in langs))
            current = replace(current, **changes)
            await deps.room_settings.put(room, current)
        return JSONResponse({"room": room, **current.to_json()})

    return [Route("/v1/rooms/{room}/settings", room_settings, methods=["GET", "PUT"])]

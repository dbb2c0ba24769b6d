"""``/v1/glossaries``: the named glossaries translations protect terms with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from babelcast.gateway.web.rest.access import AdminAccess
from babelcast.gateway.web.rest.errors import ApiError
from babelcast.glossary import MAX_JSON_BYTES, Glossary, GlossaryError


class GlossaryStorage(Protocol):
    """Where glossaries are kept (memory, or Redis shared by every node)."""

    async def put(self, name: str, body: bytes) -> tuple[Glossary, bool]: ...

    async def get(self, name: str) -> Glossary | None: ...

    async def names(self) -> list[Glossary]: ...

    async def delete(self, name: str) -> bool: ...


@dataclass(frozen=True)
class GlossariesDeps:
    """What the glossary routes use."""

    glossaries: GlossaryStorage
    admin: AdminAccess  # changes need the admin key


def routes(deps: GlossariesDeps) -> list[BaseRoute]:
    """List, get, put and delete glossaries."""
    store = deps.glossaries

    async def glossary_put(request: Request) -> Response:
        """Create or replace a glossary.
        ---
        put:
          summary: Create or replace a glossary
          description: The glossary document of docs/glossary.md ("terms", "keep", "mapped",
            "case_sensitive", "whole_word", "description").
          operationId: putGlossary
          tags: [glossaries]
          security:
            - adminKey: []
          parameters:
            - glossary  # components.parameters
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/GlossaryInput'}
          responses:
            '200':
              description: replaced
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Glossary'}
            '201':
              description: created
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Glossary'}
            '400': {$ref: '#/components/responses/BadRequest'}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '413': {$ref: '#/components/responses/PayloadTooLarge'}
            '422': {$ref: '#/components/responses/Unprocessable'}
        """
        deps.admin.require(request)
        name = request.path_params["name"]
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_JSON_BYTES:
            raise ApiError(413, "body_too_large", f"a glossary is at most {MAX_JSON_BYTES} bytes")
        body = await request.body()
        try:
            stored, created = await store.put(name, body)
        except GlossaryError as exc:
            raise ApiError(exc.status, exc.code, exc.message) from None
        return JSONResponse(stored.to_json(), status_code=201 if created else 200)

    async def glossary_get(request: Request) -> Response:
        """One glossary.
        ---
        get:
          summary: A glossary
          operationId: getGlossary
          tags: [glossaries]
          parameters:
            - glossary  # components.parameters
          responses:
            '200':
              description: the glossary, every term with its options
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/Glossary'}
            '404': {$ref: '#/components/responses/NotFound'}
        """
        name = request.path_params["name"]
        found = await store.get(name)
        if found is None:
            raise ApiError(404, "glossary_not_found", f"no glossary named {name[:64]!r}")
        return JSONResponse(found.to_json())

    async def glossary_delete(request: Request) -> Response:
        """Delete a glossary.
        ---
        delete:
          summary: Delete a glossary
          operationId: deleteGlossary
          tags: [glossaries]
          security:
            - adminKey: []
          parameters:
            - glossary  # components.parameters
          responses:
            '204': {description: deleted}
            '401': {$ref: '#/components/responses/Unauthorized'}
            '403': {$ref: '#/components/responses/Forbidden'}
            '404': {$ref: '#/components/responses/NotFound'}
        """
        deps.admin.require(request)
        name = request.path_params["name"]
        if not await store.delete(name):
            raise ApiError(404, "glossary_not_found", f"no glossary named {name[:64]!r}")
        return Response(status_code=204)

    async def glossary_list(request: Request) -> Response:
        """The stored glossaries.
        ---
        get:
          summary: List glossaries
          operationId: listGlossaries
          tags: [glossaries]
          responses:
            '200':
              description: every glossary's name, version and number of terms
              content:
                application/json:
                  schema:
                    type: object
                    required: [glossaries]
                    properties:
                      glossaries:
                        type: array
                        items:
                          type: object
                          required: [name, version, terms]
                          properties:
                            name: {type: string}
                            version: {type: integer}
                            terms: {type: integer}
        """
        return JSONResponse({"glossaries": [
            {"name": g.name, "version": g.version, "terms": len(g.all_terms)}
            for g in await store.names()]})

    return [
        Route("/v1/glossaries", glossary_list),
        Route("/v1/glossaries/{name}", glossary_get, methods=["GET"]),
        Route("/v1/glossaries/{name}", glossary_put, methods=["PUT"]),
        Route("/v1/glossaries/{name}", glossary_delete, methods=["DELETE"]),
    ]

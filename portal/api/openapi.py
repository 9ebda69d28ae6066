"""GET /openapi.json: the OpenAPI 3.1 document, built from the registered operations."""

from __future__ import annotations

from flask import current_app
from pydantic import BaseModel

from portal.api import bp
from portal.api.common import OPERATIONS, route

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}

STATUS_TEXT = {
    400: "Malformed request", 401: "Not signed in or the token is not valid", 403: "The role may not do this",
    404: "Absent, or belonging to another account", 409: "State or version conflict", 413: "Too large",
    422: "Validation failed; `fields` names each bad field", 429: "Too many requests (see Retry-After)",
    503: "Temporarily unavailable (see Retry-After)",
}


def _schema_ref(model: type[BaseModel], components: dict) -> dict:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in [*schema.pop("$defs", {}).items(), (model.__name__, schema)]:
        # Schemas are named by their class: two classes of one name in two modules
        # would otherwise describe one another's fields.
        if components.setdefault(name, definition) != definition:
            raise RuntimeError(f"two API schemas are named {name}: give each class its own name")
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_document() -> dict:
    components: dict = {"Error": ERROR_SCHEMA}
    paths: dict = {}
    for op in OPERATIONS:
        if op.path == "/openapi.json":
            continue
        item: dict = {"summary": op.summary, "tags": [op.tag] if op.tag else [], "responses": {}}
        if op.roles:
            item["description"] = "Roles: " + ", ".join(r.value for r in op.roles)
        if op.public:
            item["security"] = []
        params = [{"name": p[1:-1], "in": "path", "required": True,
                   "schema": {"type": "string" if p[1:-1] in op.text_params else "integer"}}
                  for p in op.path.split("/") if p.startswith("{")]
        params += [{"name": name, "in": "query", "required": False, "description": text, "schema": {"type": "string"}}
                   for name, text in op.query.items()]
        if params:
            item["parameters"] = params
        if op.body is not None:
            item["requestBody"] = {"required": True, "content": {"application/json": {"schema": _schema_ref(op.body, components)}}}
        ok: dict = {"description": "OK" if op.status == 200 else "Created"}
        if op.response is not None:
            ok["content"] = {"application/json": {"schema": _schema_ref(op.response, components)}}
        elif op.files:
            ok["content"] = {media: {"schema": {"type": "string", "format": "binary"}} for media in op.files}
        item["responses"][str(op.status)] = ok
        for status, (text, model) in op.more.items():
            item["responses"][str(status)] = {"description": text}
            if model is not None:
                item["responses"][str(status)]["content"] = {
                    "application/json": {"schema": _schema_ref(model, components)}}
        for status in (400, 401, 403, 404, 409, 413, 422, 429, 503):
            if status == 401 and op.public and op.path != "/auth/token":
                continue
            item["responses"][str(status)] = {
                "description": STATUS_TEXT[status],
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        paths.setdefault(op.path, {})[op.method] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Client portal API",
            "version": "1",
            "description": "Money is a decimal string, dates ISO 8601, times ISO 8601 UTC with Z. "
            "Lists: {items, next_cursor}, ?limit= (default 50, max 200) and ?cursor=, newest first.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


@route(bp, "/openapi.json", "GET", "This document", public=True, tag="meta")
def openapi_document():
    cached = current_app.extensions.get("portal_openapi")
    if cached is None:
        cached = current_app.extensions["portal_openapi"] = build_document()
    return cached

"""Text from outside is checked once, where it comes in.

Every request's query string, form fields and JSON body are refused before any view
sees them when they hold what no field of the portal may hold: a NUL (PostgreSQL
refuses it), another C0 or C1 control character (tab, line feed and carriage return
aside: multi-line text has them), or a lone surrogate (no database, spreadsheet or
encoder takes it). A JSON body nested deeper than ``MAX_JSON_DEPTH`` is refused too.
The answer is 400, before sign-in as after, with a message in the user's language:
the API's JSON error naming the field, or the error page.

The body is parsed here once and kept for ``api.common.parse_body``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, g, request
from flask_babel import gettext as _

from portal.domain import DomainError
from portal.errors import error_response

# Control characters other than tab, LF and CR; DEL and the C1 block; surrogates.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_JSON_DEPTH = 64
_UNPARSED = object()


class Refused(DomainError):
    """The request holds text no field may hold; ``field`` names where. Answered 400 by
    its own handler, before any view or form could show it again."""

    status = 400

    def __init__(self, code: str, field: str, problem: str) -> None:
        super().__init__(problem, code=code, fields={field: problem})
        self.field, self.problem = field, problem


def scrub(text: str) -> str:
    """Text already stored, made safe to write out (a spreadsheet, a CSV file, a page):
    what the edge refuses today becomes U+FFFD. Rows stored before the edge checked
    them must not make an export or a page fail for everyone."""
    return FORBIDDEN.sub("\ufffd", text)


def _check_text(value: str, field: str) -> None:
    found = FORBIDDEN.search(value)
    if found:
        raise Refused("invalid_text", field, f"contains the control character U+{ord(found.group()):04X}")


def _check_pairs(pairs, where: str) -> None:
    for key, value in pairs:
        _check_text(key, where)
        _check_text(value, key)


def json_body() -> Any:
    """The request's JSON as checked at the edge (``None`` when there is none); raises
    ``ValueError`` when the body is not JSON."""
    body = g.get("_edge_json", _UNPARSED)
    if body is _UNPARSED:
        body = g._edge_json = _parse_json(request.get_data(cache=True))
    return body


def _parse_json(raw: bytes) -> Any:
    try:
        data = json.loads(raw or b"null")
    except RecursionError:
        raise Refused("too_deep", "body", f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    _walk(data)
    return data


def _walk(data: Any) -> None:
    """Depth and text of a parsed body, without recursion (a deep body would exhaust it)."""
    stack = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value, path or "body")
        elif isinstance(value, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise Refused("too_deep", path or "body", f"nested deeper than {MAX_JSON_DEPTH} levels")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                name = str(key)
                if isinstance(key, str):
                    _check_text(key, path or "body")
                stack.append((item, f"{path}.{name}" if path else name, depth + 1))


def check_request() -> None:
    """Refuse the request (see the module) or let it through."""
    if request.args:
        _check_pairs(request.args.items(multi=True), "query")
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.is_json:
        try:
            json_body()
        except ValueError:
            pass  # not JSON at all: the view's parser says so (400 malformed_json)
    elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        _check_pairs(request.form.items(multi=True), "form")


def refused(refused: Refused):
    if refused.code == "too_deep":
        message = _("The request is nested too deeply.")
    else:
        message = _("Some text contains characters that cannot be stored. Remove them and try again.")
    return error_response(400, message, code=refused.code, fields={refused.field: refused.problem})


def init_app(app: Flask) -> None:
    app.before_request(check_request)
    app.register_error_handler(Refused, refused)  # also for a body a view parses itself

"""Error responses: an HTML page for people, the API's JSON shape for programs.

Nothing here shows a traceback. An unexpected error gets an error id that is logged
with the traceback, so a user can quote it. A lost database answers 503 with
Retry-After, and the request's unfinished work is rolled back.

A rule a service refuses (``portal.domain.DomainError``) is answered here too, once for
every feature: the request's work is rolled back; the API answers its JSON error; a page
flashes the message in the user's language and shows the form again with what was typed
(``web.keep_form``), or goes back to the route's ``back`` page.
"""

from __future__ import annotations

import io
import logging
import secrets
from contextlib import nullcontext

import sqlalchemy as sa
from flask import Flask, current_app, flash, g, jsonify, make_response, redirect, render_template, request, url_for
from flask.globals import request_ctx
from flask_babel import force_locale, gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from docgen.i18n import N_
from portal.database import is_outage
from portal.domain import DomainError
from portal.extensions import db, login_manager

log = logging.getLogger(__name__)

RETRY_AFTER_OUTAGE = 5


def wants_json() -> bool:
    return request.path.startswith("/api/")


# Each status's code and message; the message is translated when an answer uses it.
_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("bad_request", N_("The request could not be understood.")),
    401: ("unauthorized", N_("Please sign in.")),
    403: ("forbidden", N_("You do not have permission to do this.")),
    404: ("not_found", N_("This page does not exist, or you do not have access to it.")),
    405: ("method_not_allowed", N_("This action is not available here.")),
    409: ("conflict", N_("This was changed by someone else in the meantime.")),
    413: ("too_large", N_("The upload is too large. Attach at most 5 files of 10 MB each.")),
    422: ("invalid", N_("Some fields are not valid.")),
    429: ("too_many_requests", N_("Too many attempts. Please wait and try again.")),
    500: ("server_error", N_("Something went wrong on our side.")),
    503: ("unavailable", N_("The service is briefly unavailable. Please try again in a moment.")),
}


def error_response(status: int, message: str | None = None, *, code: str | None = None, fields=None, headers=None, error_id=None):
    """The answer for ``status``. It may be made while the database is gone, and need
    it all the same (the signed-in user, expired by the rollback before a 500, is read
    again for their language and the menu): it is then a 503."""
    g.error_page = True  # see ``notifications.routes.unread_notifications``
    try:
        return _answer(status, message, code=code, fields=fields, headers=headers, error_id=error_id)
    except sa.exc.SQLAlchemyError as failure:
        if status == 503 or not is_outage(failure):
            raise
        return _unavailable(failure)


def _answer(status: int, message: str | None, *, code, fields, headers, error_id):
    default_code, default_message = _MESSAGES.get(status, ("error", _MESSAGES[500][1]))
    message = message or _(default_message)
    if wants_json():
        body = {"error": {"code": code or default_code, "message": message}}
        if fields:
            body["error"]["fields"] = fields
        if error_id:
            body["error"]["id"] = error_id
        response = jsonify(body)
    elif request_ctx.url_adapter is None:
        # The request was refused before routing (an untrusted Host): no URL can be
        # built, so no page either.
        response = make_response(message)
        response.mimetype = "text/plain"
    else:
        response = make_response(render_template("errors/error.html", status=status, message=message, error_id=error_id))
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _out_of_range(error: Exception) -> bool:
    """A number from the request beyond what the database stores (an id of 2**63 in a
    query string): the caller's mistake, not ours. SQLite's driver raises
    OverflowError; PostgreSQL answers "numeric value out of range" (SQLSTATE 22003)."""
    if isinstance(error, OverflowError):
        return True
    return isinstance(error, sa.exc.DataError) and getattr(getattr(error, "orig", None), "sqlstate", None) == "22003"


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception as error:  # the connection is gone; the pool replaces it on next checkout
        log.debug("rollback failed: %s", type(error).__name__)


def _unavailable(error: Exception):
    """503 with Retry-After for a lost database, answered without asking it anything:
    the page is a visitor's (no user menu), in the signed-in user's language as it was
    loaded before the database went away. (The rollback expires the user; reading the
    language afterwards would go to the database, fail, and make the answer a 500.)"""
    language = _loaded_language()
    _rollback()
    log.warning("database unavailable: %s", type(error).__name__)
    g._login_user = login_manager.anonymous_user()
    with force_locale(language) if language else nullcontext():
        return error_response(503, headers={"Retry-After": str(RETRY_AFTER_OUTAGE)})


def _loaded_language() -> str | None:
    """The signed-in user's language if it is loaded, never loading it."""
    state = sa.inspect(g.get("_login_user"), raiseerr=False)  # None for no user or a visitor
    return state.dict.get("language") if state is not None else None


def refused(error: DomainError):
    """The answer to a rule the caller broke, with nothing of the request kept."""
    _rollback()
    message = str(error.message)
    if wants_json():
        return error_response(error.status, message, code=error.code, fields=error.fields)
    flash(message, "error")
    kept = g.pop("refused_form", None)
    if kept is not None:
        from portal.forms import mark_problems

        form, render = kept
        mark_problems(form, error.fields or {}, message)
        g.refusal = error  # for a page that lists the problems itself (an import's, by row)
        # Shown again as a form WTForms found wrong is (200), but for more than a request
        # may carry (413: files too large or too many).
        return render(), 413 if error.status == 413 else 200
    back = getattr(current_app.view_functions.get(request.endpoint), "refused_back", None)
    if back and request.method != "GET":  # with the query the page was posted from (?period=)
        return redirect(url_for(back, **{**request.args.to_dict(), **(request.view_args or {})}))
    return error_response(error.status, message)


def _form_page_again():
    """A page's form posted with more than any request may carry (``MAX_CONTENT_LENGTH``,
    with the page's script off: it stops such a form before sending): the body is never
    read, so what was typed cannot come back, but the form does, as its page shows it
    (a GET of the same address, in this session), with the limits beside it, as 413.
    None when there is no such page (the API, a form without a page of its own)."""
    if wants_json() or request.method != "POST" or request.url_rule is None or "GET" not in request.url_rule.methods:
        return None
    environ = {**request.environ, "REQUEST_METHOD": "GET", "CONTENT_LENGTH": "0", "CONTENT_TYPE": "",
               "wsgi.input": io.BytesIO()}
    # A context of its own (its own ``g`` and database session, ended with it), as if
    # the browser had asked for the page.
    with current_app.app_context(), current_app.request_context(environ):
        flash(_(_MESSAGES[413][1]), "error")
        page = current_app.full_dispatch_request()
    if page.status_code != 200 or page.mimetype != "text/html":
        return None
    page.status_code = 413
    return page


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, refused)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return error_response(400, _("The form expired or was sent from elsewhere. Please reload the page and try again."), code="csrf")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 413 and (page := _form_page_again()) is not None:
            return page
        headers = {}
        if error.code == 429 and getattr(error, "retry_after", None):
            headers["Retry-After"] = str(error.retry_after)
        if error.code == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        return error_response(
            error.code or 500,
            getattr(error, "portal_message", None),
            code=getattr(error, "error_code", None),
            fields=getattr(error, "fields", None),
            headers=headers,
        )

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        if is_outage(error):
            return _unavailable(error)
        _rollback()
        if _out_of_range(error):
            log.warning("refused an out-of-range number on %s %s: %s", request.method, request.path, error)
            return error_response(400, _("A number in this request is too large."), code="out_of_range")
        error_id = g.get("request_id") or secrets.token_hex(6)  # the reference finds the log line
        log.exception("unhandled error %s on %s %s", error_id, request.method, request.path)
        return error_response(500, error_id=error_id)

    @app.errorhandler(InternalServerError)
    def internal_error(error: InternalServerError):
        original = getattr(error, "original_exception", None)
        if original is not None:
            return unexpected_error(original)
        return error_response(500)

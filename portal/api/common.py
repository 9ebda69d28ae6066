"""What every API module uses: routes that document themselves, input validation,
errors in the API's shape, keyset pagination and JSON encodings."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field, ValidationError
from werkzeug.exceptions import HTTPException

from docgen.formatting import plain_decimal, quantize_money
from portal.edge import json_body
from portal.extensions import db
from portal.models import Role
from portal.security import get_or_404


class ApiError(HTTPException):
    """Raise anywhere in an API view: becomes ``{"error": {...}}`` with this status."""

    def __init__(self, status: int, message: str | None = None, *, code: str | None = None, fields: dict | None = None,
                 keep_work: bool = False):
        super().__init__(message)
        self.code = status
        self.portal_message = message
        self.error_code = code
        self.fields = fields
        self.keep_work = keep_work  # commit what the request recorded (a failed sign-in) before answering


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    roles: tuple[Role, ...] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    query: dict[str, str] = field(default_factory=dict)
    public: bool = False
    tag: str = ""
    text_params: tuple[str, ...] = ()  # path variables that are not integers (a job's id)
    files: tuple[str, ...] = ()  # the media types of a file it answers with, instead of JSON
    more: dict[int, tuple[str, type[BaseModel] | None]] = field(default_factory=dict)  # other answers: 202


OPERATIONS: list[Operation] = []


def route(
    bp: Blueprint,
    rule: str,
    method: str,
    summary: str,
    *,
    roles: Sequence[Role] | None = None,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    query: dict[str, str] | None = None,
    public: bool = False,
    tag: str = "",
    load: dict[str, type] | None = None,
    files: Sequence[str] = (),
    more: dict[int, tuple[str, type[BaseModel] | None]] | None = None,
) -> Callable:
    """Register an API view and describe it for the OpenAPI document.

    Views are signed-in only unless ``public``; ``roles`` answers 403 to others.
    ``load`` maps path ids to models: each is loaded through the account scope (404
    for another account's, before anything else is looked at) and passed as the
    model's snake_case name (``{"request_id": ServiceRequest}`` → ``service_request``).
    With ``body``, the JSON body is then validated and passed as ``body``. ``files``
    names the media types of a file answer; ``more`` describes other successful answers
    (``{202: ("still being made", Model)}``).
    Every signed-in view that changes something honours an ``Idempotency-Key`` header
    (see ``_replay_or_run``): a retry after a timeout or a 503 is answered once.
    Each view is one unit of work (``portal.web.Blueprint``): committed when it returns;
    a refused rule (``DomainError``) is rolled back and answered as the API's error."""

    idempotent = method != "GET" and not public

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not public and not current_user.is_authenticated:
                raise ApiError(401)
            if roles is not None and current_user.role not in roles:
                raise ApiError(403)
            for arg, model in (load or {}).items():
                kwargs[snake_case(model.__name__)] = get_or_404(db.session, model, kwargs.pop(arg))
            if body is not None:
                kwargs["body"] = parse_body(body)
            if idempotent and request.headers.get("Idempotency-Key"):
                return _replay_or_run(view, args, kwargs)
            return view(*args, **kwargs)

        wrapped.public = public
        bp.add_url_rule(rule, view_func=wrapped, methods=[method])
        path = rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        OPERATIONS.append(Operation(method.lower(), path, summary, tuple(roles) if roles else None, body,
                                    response, status, query or {}, public, tag,
                                    tuple(re.findall(r"<(\w+)>", rule)), tuple(files), dict(more or {})))
        return wrapped

    return decorator


def _replay_or_run(view: Callable, args, kwargs):
    """Answer a retried request (same ``Idempotency-Key``, same body) with the stored
    answer instead of doing it twice; the same key with another body is a 422.

    The key, the view's change and the answer are committed together (by ``route``), so
    a key is never left without its answer; a concurrent duplicate waits on the unique
    index (PostgreSQL) or the write lock (SQLite) and then finds the stored answer. A
    view that fails stores nothing: the retry runs again."""
    from portal.models import IdempotencyKey

    key = request.headers["Idempotency-Key"].strip()
    if not 1 <= len(key) <= 200:
        raise ApiError(422, _("Some fields are not valid."), fields={"Idempotency-Key": "1 to 200 characters"})
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode() + request.get_data(cache=True)).hexdigest()
    lookup = sa.select(IdempotencyKey).where(IdempotencyKey.user_id == current_user.id, IdempotencyKey.key == key)
    for _attempt in range(2):
        stored = db.session.scalar(lookup)
        if stored is not None:
            if stored.request_hash != digest:
                raise ApiError(422, _("This Idempotency-Key was used for a different request."), code="idempotency_key_reused")
            if stored.status_code is None:
                raise ApiError(409, _("The first request with this Idempotency-Key is still running."))
            return stored.response, stored.status_code
        record = IdempotencyKey(user_id=current_user.id, key=key, request_hash=digest)
        try:
            with db.session.begin_nested():
                db.session.add(record)
        except sa.exc.IntegrityError:  # a concurrent duplicate won: read its answer
            continue
        result = view(*args, **kwargs)
        body, status = result if isinstance(result, tuple) else (result, 200)
        # Kept as it was answered: the JSON's own values (a date as its text).
        record.status_code, record.response = status, current_app.json.loads(current_app.json.dumps(body))
        return body, status
    raise ApiError(409, _("The first request with this Idempotency-Key is still running."))


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def parse_body(model: type[BaseModel]) -> BaseModel:
    """The request's JSON validated by ``model``: 400 when it is not JSON, 422 naming
    each bad field (by dotted path) when it does not fit. Unknown fields are ignored,
    so extra keys such as ``status`` or ``account_id`` cannot assign anything."""
    try:
        data = json_body()  # parsed and checked once, at the edge
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, _("The body is not valid JSON."), code="malformed_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, _("The body must be a JSON object."), code="malformed_json")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ApiError(422, _("Some fields are not valid."), code="validation_failed", fields=field_errors(error)) from None


def field_errors(error: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for problem in error.errors():
        path = ".".join(str(part) for part in problem["loc"])
        message = "required" if problem["type"] == "missing" else problem["msg"]
        if not path and problem["type"] == "value_error":
            # A rule across fields names its field itself: "due_date: before issue_date".
            message = message.removeprefix("Value error, ")
            path, _, message = message.partition(": ") if ": " in message else ("body", "", message)
        fields.setdefault(path or "body", message)
    return fields


# --- encodings ---------------------------------------------------------------------


def iso_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def iso_date(value: date | None) -> str | None:
    return value.isoformat() if value else None


def money(value: Decimal | None, currency: str | None = None) -> str | None:
    """A decimal string with the currency's own decimals, or written plainly without a
    currency (never a float)."""
    if value is None or not currency:
        return plain_decimal(value)
    return str(quantize_money(value, currency))


@functools.lru_cache(maxsize=256)
def money_quantum(currency: str) -> Decimal:
    """The currency's own decimals as a quantum (0.01; 1 for VND), looked up once: what
    ``money`` rounds to, half up."""
    return quantize_money(Decimal(0), currency)


@functools.lru_cache(maxsize=256)
def money_in(currency: str | None) -> Callable[[Decimal | None], str | None]:
    """``money`` for one currency, its rounding looked up once: a list of invoices
    calls it for three amounts of every row."""
    if not currency:
        return plain_decimal
    quantum = money_quantum(currency)

    def written(value: Decimal | None) -> str | None:
        if value is None:
            return None
        return str(Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP))

    return written


# --- pagination --------------------------------------------------------------------

DEFAULT_LIMIT, MAX_LIMIT = 50, 200
PAGE_QUERY = {"limit": "Items per page, 1-200 (default 50)", "cursor": "next_cursor of the previous page"}


def page_limit() -> int:
    """The ``limit`` asked for: 422 unless a whole number from 1 to ``MAX_LIMIT``."""
    raw = request.args.get("limit", str(DEFAULT_LIMIT))
    try:
        limit = int(raw)
    except ValueError:
        raise ApiError(422, _("limit must be a whole number."), fields={"limit": "not an integer"}) from None
    if not 1 <= limit <= MAX_LIMIT:
        raise ApiError(422, _("limit must be between 1 and %(max)d.", max=MAX_LIMIT), fields={"limit": f"1..{MAX_LIMIT}"})
    return limit


def encode_cursor(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, (date, datetime)) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, columns: Sequence[sa.ColumnElement]) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError
        out = []
        for value, column in zip(values, columns):
            python_type = column.type.python_type
            if python_type is datetime:
                out.append(datetime.fromisoformat(value))
            elif python_type is date:
                out.append(date.fromisoformat(value))
            elif python_type is int:
                if type(value) is not int or not -(2**63) <= value < 2**63:
                    raise ValueError("not a 64-bit integer")
                out.append(value)
            else:
                out.append(value)
        return out
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, NotImplementedError):
        raise ApiError(400, _("The cursor is not valid."), code="bad_cursor") from None


def paginate(session, query: sa.Select, order: Sequence[sa.ColumnElement], serialize: Callable[[Any], dict]) -> dict:
    """Newest-first keyset pagination over ``order`` (descending; the last column must
    be unique, e.g. the id): ``{"items": [...], "next_cursor": ... | None}``."""
    limit = page_limit()
    cursor = request.args.get("cursor")
    if cursor:
        values = decode_cursor(cursor, order)
        query = query.where(sa.tuple_(*order) < sa.tuple_(*values))
    rows = session.scalars(query.order_by(*(c.desc() for c in order)).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, c.key) for c in order])
    return {"items": [serialize(row) for row in rows], "next_cursor": next_cursor}


# --- decisions --------------------------------------------------------------------


class FreshProof(BaseModel):
    """A decision's proof that the decider is present: a token minted by a sign-in in
    the last minutes (``FRESH_SIGN_IN``), or else the password in the body (and, for a
    user with two-factor sign-in, the code of their authenticator app as ``totp``)."""

    password: str | None = Field(default=None, max_length=1024)
    totp: str | None = Field(default=None, max_length=64)


def unless_throttled(attempt: Callable[[], Any], message: str | None = None) -> Any:
    """What ``attempt`` answered; 429 with Retry-After (and ``message``) when the e-mail
    or the address has tried too often."""
    from portal.auth import service as auth_service

    try:
        return attempt()
    except auth_service.SignInThrottled as throttled:
        error = ApiError(429, message or _("Too many failed sign-ins. Please wait and try again."))
        error.retry_after = throttled.retry_after
        raise error from None


def authenticate(email: str, password: str):
    """The sign-in service's answer for these credentials; 429 with Retry-After when the
    e-mail or the address has failed too often."""
    from portal.auth import service as auth_service

    return unless_throttled(lambda: auth_service.authenticate(db.session, email, password, request.remote_addr or ""))


def second_factor(user, code: str):
    """The proof ``code`` gives of ``user`` (an authenticator's code not used before, or a
    recovery code), else None, a failed sign-in counted; 429 as ``authenticate``."""
    from portal.auth import two_factor

    return unless_throttled(lambda: two_factor.check(db.session, user, code, address=request.remote_addr or ""))


def require_fresh_sign_in(body: FreshProof) -> None:
    """401 ``fresh_sign_in_required`` unless the token is fresh or ``body.password`` is
    the caller's (with ``body.totp`` a code of theirs, when they use two-factor sign-in);
    a wrong password or code counts as a failed sign-in (429 when throttled)."""
    from portal.auth import two_factor
    from portal.auth.service import token_is_fresh

    if token_is_fresh(current_user):
        return
    needs_code = two_factor.is_enabled(db.session, current_user)
    if body.password:
        result = authenticate(current_user.email, body.password)
        if result.ok and result.user.id == current_user.id:
            if not needs_code or (body.totp and second_factor(current_user, body.totp)):
                return
    message = (_("Sign in again, or send your password and the code of your authenticator app (totp) with the "
                 "decision: it needs a recent sign-in.") if needs_code else
               _("Sign in again, or send your password with the decision: it needs a recent sign-in."))
    raise ApiError(401, message, code="fresh_sign_in_required", keep_work=bool(body.password))

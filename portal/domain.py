"""The two errors a user can meet in any feature: a rule they broke, and a conflict with
what someone else did in the meantime.

Services raise them and never catch them to roll back: the request's one handler
(``portal.errors``) rolls the unit of work back and answers, the API with its JSON error
(``{"error": {"code", "message", "fields"}}``), a page with a flash in the user's
language and the form again with what was typed (see ``portal.web``). The CLI and the
job worker print or record ``message``.

``message`` is for people: a lazy string, translated when it is shown, so raise it with
``lazy_gettext``. ``fields`` is for programs and for marking a form: each bad field by
its path (``title``, ``lines.0.quantity``) with a short English problem (``required``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The API's error code for each status a rule may answer with.
CODES = {403: "forbidden", 404: "not_found", 409: "conflict", 413: "too_large", 422: "validation_failed"}


class DomainError(Exception):
    """A rule of the domain says no to what the caller asked: 422 unless said otherwise
    (403 for a rule about who may do it)."""

    status = 422

    def __init__(self, message: Any, *, status: int | None = None, fields: Mapping[str, str] | None = None,
                 code: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.fields = dict(fields) if fields else None
        if status is not None:
            self.status = status
        self.code = code or CODES.get(self.status, "validation_failed")


class Conflict(DomainError):
    """The object is no longer in the state, or at the version, the caller saw: someone
    decided or changed it in the meantime. Reloading shows what it is now."""

    status = 409

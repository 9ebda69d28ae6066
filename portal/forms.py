"""Small helpers shared by the forms of every feature."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, Field, FieldList, FormField, SelectChoice


def choices(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """``SelectField`` choices from (value, label) pairs; labels may be lazy strings."""
    return [SelectChoice(value, label) for value, label in pairs]


class NumberField(DecimalField):
    """A decimal number; "NaN", "Infinity" and words are refused with a message in the
    user's language (WTForms' own field takes the first two as numbers)."""

    def __init__(self, label=None, validators=None, *, message=None, **kwargs):
        super().__init__(label, validators, places=None, **kwargs)
        self.message = message or _l("Enter a number such as 99.5.")

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist:
            return
        raw = valuelist[0].strip()
        if not raw:
            self.data = None
            return
        try:
            value = Decimal(raw)
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            self.data = None
            raise ValueError(str(self.message))
        self.data = value


def field_at(form: Any, path: str) -> Field | None:
    """The form's field for a service's field path: ``title`` (or its English field
    ``title_en``), ``lines.0.quantity`` (an entry of a list of subforms). A form whose
    rows are not its paths' indexes (rows left out) answers itself, with ``field_at``."""
    own = getattr(form, "field_at", None)
    if own is not None:
        return own(path)
    node: Any = form
    for part in path.split("."):
        if isinstance(node, FormField):
            node = node.form
        if isinstance(node, FieldList):
            node = node.entries[int(part)] if part.isdigit() and int(part) < len(node.entries) else None
        elif hasattr(node, "_fields"):
            node = node._fields.get(part) or node._fields.get(f"{part}_en")
        else:
            node = None
        if node is None:
            return None
    return node if isinstance(node, Field) and not isinstance(node, (FormField, FieldList)) else None


def mark_problems(form: Any, fields: dict[str, str], message: str) -> None:
    """Put a refusal's problems beside their fields, in the user's words: a known
    problem's own, else the refusal's ``message`` when it names one field (it is about
    that field), else the problem as the service wrote it."""
    from portal.i18n import problem

    for path, text in fields.items():
        field = field_at(form, path)
        if field is not None:
            field.errors = [*field.errors, problem(text, message if len(fields) == 1 else text)]


def flash_errors(form: Any) -> None:
    """Flash a form's field errors, for a form posted from a page that is not its own
    (a decision's, under the page's content)."""
    from flask import flash

    for errors in form.errors.values():
        flash(" ".join(str(e) for e in errors), "error")

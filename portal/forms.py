"""Small helpers shared by the forms of every feature."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.i18n import translations as wtforms_translations
from wtforms import (
    BooleanField,
    DecimalField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from docgen.i18n import LANGUAGES
from portal.files import spreadsheet_field
from portal.text import visible

# The labels of the per-language fields, a whole message each: every catalogue words and
# punctuates them its own way (标题（英文）, Tiêu đề (tiếng Anh)).
TEXT_LABELS = {
    "title": {"en": _l("Title (English)"), "zh": _l("Title (Chinese)"), "vi": _l("Title (Vietnamese)")},
    "description": {"en": _l("Description (English)"), "zh": _l("Description (Chinese)"),
                    "vi": _l("Description (Vietnamese)")},
    "name": {"en": _l("Name (English)"), "zh": _l("Name (Chinese)"), "vi": _l("Name (Vietnamese)")},
    "address": {"en": _l("Address (English)"), "zh": _l("Address (Chinese)"), "vi": _l("Address (Vietnamese)")},
    "representative_name": {"en": _l("Representative's name (English)"), "zh": _l("Representative's name (Chinese)"),
                            "vi": _l("Representative's name (Vietnamese)")},
    "representative_title": {"en": _l("Representative's title (English)"),
                             "zh": _l("Representative's title (Chinese)"),
                             "vi": _l("Representative's title (Vietnamese)")},
    "governing_law": {"en": _l("Governing law (English)"), "zh": _l("Governing law (Chinese)"),
                      "vi": _l("Governing law (Vietnamese)")},
    "service": {"en": _l("Service (English)"), "zh": _l("Service (Chinese)"), "vi": _l("Service (Vietnamese)")},
    "job_title": {"en": _l("Job title (English)"), "zh": _l("Job title (Chinese)"), "vi": _l("Job title (Vietnamese)")},
    "acceptance": {"en": _l("Acceptance criteria, one per line (English)"),
                   "zh": _l("Acceptance criteria, one per line (Chinese)"),
                   "vi": _l("Acceptance criteria, one per line (Vietnamese)")},
}


def show_source_field() -> BooleanField:
    """The issuer's choice for a text without a translation in a language of the
    document: refused (unticked, the default), or its source text shown there, marked."""
    return BooleanField(_l("Show the source text where a translation is missing"))


def choices(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """``SelectField`` choices from (value, label) pairs; labels may be lazy strings."""
    return [SelectChoice(value, label) for value, label in pairs]


def checkboxes(label, **kwargs) -> SelectMultipleField:
    """A field of several choices, shown as a list of checkboxes."""
    return SelectMultipleField(label, widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(), **kwargs)


def with_texts(name: str, field_class=StringField, *, max_length: int, label=None,
               required: bool = False, languages: Iterable[str] = LANGUAGES) -> Callable[[type[Form]], type[Form]]:
    """A class decorator that adds one field per language, ``{name}_en``, ``{name}_zh``,
    ``{name}_vi``, each at most ``max_length`` long and labelled ``TEXT_LABELS[name]`` in its
    language, or ``label`` in all of them where the page names the language itself.
    ``required``: the English text (the source every translation is made from) must be given.
    ``languages``: only these (a form whose ``{name}`` field holds the text as written adds
    its translations, ``("zh", "vi")``). ``label`` may also name a ``TEXT_LABELS`` entry
    (``"job_title"`` for fields named ``title``)."""
    labels = TEXT_LABELS.get(label if isinstance(label, str) else name)

    def add_fields(form_class: type[Form]) -> type[Form]:
        for lang in languages:
            validators = [DataRequired()] if required and lang == "en" else []
            text = labels[lang] if label is None or isinstance(label, str) else label
            setattr(form_class, f"{name}_{lang}", field_class(text, validators=[*validators, Length(max=max_length)]))
        return form_class

    return add_fields


def texts(form: Form, name: str) -> dict[str, str]:
    """What was typed in the fields ``with_texts`` added, ``{lang: text}`` trimmed; the
    languages left blank are left out."""
    typed = {lang: (form[f"{name}_{lang}"].data or "").strip() for lang in LANGUAGES if f"{name}_{lang}" in form}
    return {lang: text for lang, text in typed.items() if text}


def fill_texts(form: Form, name: str, text: Mapping[str, str]) -> None:
    """Put a stored ``{lang: text}`` in the fields ``with_texts`` added (an edit page)."""
    for lang in LANGUAGES:
        if f"{name}_{lang}" in form:
            form[f"{name}_{lang}"].data = text.get(lang, "")


def once_token() -> str:
    """A form's one-time token (``OnceForm`` carries one; a form written by hand in a
    template asks for one with ``once_token()``)."""
    return secrets.token_urlsafe(24)


class _Translations:
    """WTForms' own messages ("This field is required.") in the reader's language: from
    the portal's catalogs first (which hold them for Vietnamese: WTForms has no
    Vietnamese catalog), else from WTForms' own (Chinese). Untranslated strings are
    given back unformatted, as WTForms formats them itself."""

    def gettext(self, string: str) -> str:
        ours = get_translations().gettext(string)
        return ours if ours != string else wtforms_translations.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        ours = get_translations().ngettext(singular, plural, n)
        return ours if ours not in (singular, plural) else wtforms_translations.ngettext(singular, plural, n)


_TRANSLATIONS = _Translations()


def record_id(value) -> int:
    """A choice's number as a select or box sends it (a record's id, a level): the
    ``coerce`` of such fields. A number no id reaches (26 digits) is not a valid choice,
    beside its field, rather than a query the database refuses."""
    number = int(value)
    if not -(2**63) <= number < 2**63:
        raise ValueError("not a record's id")
    return number


def _as_read(value):
    """A line of text as it reads: without invisible format characters, and its tabs and
    line breaks (a cell pasted from a table, a line from a document) spaces, for a field
    of one line keeps none (multi-line text is a ``TextAreaField``'s)."""
    return re.sub(r"[\t\r\n]+", " ", visible(value)) if isinstance(value, str) else value


def _bind_as_read(meta, form, unbound_field, options):
    """Bind a field (WTForms' ``Meta.bind_field``), a line of text with ``_as_read``."""
    kind = unbound_field.field_class
    if issubclass(kind, StringField) and not issubclass(kind, (TextAreaField, PasswordField, HiddenField)):
        options = {**options, "filters": [*unbound_field.kwargs.get("filters", ()), _as_read]}
    return unbound_field.bind(form=form, **options)


class PortalForm(FlaskForm):
    """The portal's forms: Flask-WTF's (CSRF), with WTForms' messages in zh and vi, and
    each line of text kept as it reads (``portal.text.visible``): a number pasted out of
    a document is the number, not one that looks the same. Passwords are taken as sent."""

    class Meta:
        bind_field = _bind_as_read

        def get_translations(self, form):
            return _TRANSLATIONS


class SubForm(Form):
    """A group of fields repeated inside a portal form (a line, a location): the page's
    form carries the CSRF token; its lines of text are kept as they read, as there."""

    class Meta:
        bind_field = _bind_as_read


class OnceForm(PortalForm):
    """A form that creates something: it carries a one-time token, so the same form sent
    twice creates one thing (``web.unit_of_work`` keeps the page it led to)."""

    once = HiddenField(default=once_token)


class SpreadsheetForm(OnceForm):
    """An import's upload page: one CSV file or Excel workbook (``files.check_spreadsheet``)."""

    file = spreadsheet_field(_l("CSV file or Excel workbook (.xlsx)"))
    submit = SubmitField(_l("Import"))

    def field_at(self, path: str):
        """Where a refused upload's problem stands (``files.UploadError`` names ``attachments``)."""
        return self.file if path == "attachments" else None


class SignatureForm(PortalForm):
    """What a signature binds: the version shown, and the signer's typed full name. A
    decision's form adds its consent box and its button."""

    version = HiddenField(validators=[DataRequired()])
    signature_name = StringField(_l("Type your full name to sign"), validators=[DataRequired(), Length(max=200)])


class NumberField(DecimalField):
    """A decimal number; "NaN", "Infinity" and words are refused with a message in the
    user's language (WTForms' own field takes the first two as numbers), and so is a
    number no amount or figure of the portal reaches (``1e400``, 26 digits): the
    database keeps 16 digits before the point."""

    LIMIT = Decimal(10) ** 15

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
        if abs(value) >= self.LIMIT:
            self.data = None
            raise ValueError(str(_l("This number is too large.")))
        self.data = value


def field_at(form: Any, path: str) -> Field | None:
    """The form's field for a service's field path: ``title`` (or its English field
    ``title_en``), ``title.zh`` (its Chinese field ``title_zh``), ``lines.0.quantity`` (an
    entry of a list of subforms). A form whose rows are not its paths' indexes (rows left
    out) answers itself, with ``field_at``."""
    own = getattr(form, "field_at", None)
    if own is not None:
        return own(path)
    node: Any = form
    parts = path.split(".")
    while parts:
        part = parts.pop(0)
        if isinstance(node, FormField):
            node = node.form
        if isinstance(node, FieldList):
            node = node.entries[int(part)] if part.isdigit() and int(part) < len(node.entries) else None
        elif hasattr(node, "_fields"):
            if parts and parts[0] in LANGUAGES and f"{part}_{parts[0]}" in node._fields:
                part = f"{part}_{parts.pop(0)}"
            node = node._fields.get(part) or node._fields.get(f"{part}_en")
        else:
            node = None
        if node is None:
            return None
    return node if isinstance(node, Field) and not isinstance(node, (FormField, FieldList)) else None


def mark_problems(form: Any, fields: dict[str, str], message: str) -> None:
    """Put a refusal's problems beside their fields, in the user's words: a known
    problem's own, else the refusal's ``message`` when it names one field (it is about
    that field), else "Check this value." (never the problem as the service wrote it
    for programs, which names fields: ``before start_date``)."""
    from portal.i18n import problem

    for path, text in fields.items():
        field = field_at(form, path)
        if field is not None:
            field.errors = [*field.errors, problem(text, message if len(fields) == 1 else "")]


def flash_errors(form: Any) -> None:
    """Flash a form's field errors, for a form posted from a page that is not its own
    (a decision's, under the page's content): each named by its field's label, as the
    page shows it ("Type your full name to sign: This field is required."), a hidden
    field's (the version shown) by nothing."""
    from flask import flash
    from flask_babel import gettext

    for name, errors in form.errors.items():
        problem = " ".join(str(e) for e in errors)
        field = form._fields.get(name)
        if field is not None and not isinstance(field, HiddenField) and field.label.text:
            problem = gettext("%(field)s: %(problem)s", field=field.label.text, problem=problem)
        flash(problem, "error")


class PricedLineForm(SubForm):
    """The priced part of a line of a change request or a work order (a subform: the
    page's form carries the CSRF token): unit, quantity, unit price, and "Remove"."""

    unit = StringField(_l("Unit"), validators=[Length(max=60)])
    quantity = NumberField(_l("Quantity"), validators=[InputRequired(), NumberRange(min=0)])
    unit_price = NumberField(_l("Unit price"), validators=[InputRequired(), NumberRange(min=0)])
    delete = BooleanField(_l("Remove this line"))

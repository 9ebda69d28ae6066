"""Small helpers shared by the forms of every feature."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, Form, SelectChoice, StringField
from wtforms.validators import DataRequired, Length

from portal.i18n import LANGUAGE_NAMES

LANGUAGES = tuple(LANGUAGE_NAMES)

# The labels of the per-language fields, a whole message each: every catalogue words and
# punctuates them its own way (标题（英文）, Tiêu đề (tiếng Anh)).
TEXT_LABELS = {
    "title": {"en": _l("Title (English)"), "zh": _l("Title (Chinese)"), "vi": _l("Title (Vietnamese)")},
    "description": {"en": _l("Description (English)"), "zh": _l("Description (Chinese)"),
                    "vi": _l("Description (Vietnamese)")},
    "name": {"en": _l("Name (English)"), "zh": _l("Name (Chinese)"), "vi": _l("Name (Vietnamese)")},
}


def choices(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """``SelectField`` choices from (value, label) pairs; labels may be lazy strings."""
    return [SelectChoice(value, label) for value, label in pairs]


def with_texts(name: str, field_class=StringField, *, max_length: int, label=None,
               required: bool = False) -> Callable[[type[Form]], type[Form]]:
    """A class decorator that adds one field per language, ``{name}_en``, ``{name}_zh``,
    ``{name}_vi``, each at most ``max_length`` long and labelled ``TEXT_LABELS[name]`` in its
    language, or ``label`` in all of them where the page names the language itself.
    ``required``: the English text (the source every translation is made from) must be given."""

    def add_fields(form_class: type[Form]) -> type[Form]:
        for lang in LANGUAGES:
            validators = [DataRequired()] if required and lang == "en" else []
            setattr(form_class, f"{name}_{lang}", field_class(TEXT_LABELS[name][lang] if label is None else label,
                                                              validators=[*validators, Length(max=max_length)]))
        return form_class

    return add_fields


def texts(form: Form, name: str) -> dict[str, str]:
    """What was typed in the fields ``with_texts`` added, ``{lang: text}`` trimmed; the
    languages left blank are left out."""
    typed = {lang: (form[f"{name}_{lang}"].data or "").strip() for lang in LANGUAGES}
    return {lang: text for lang, text in typed.items() if text}


def fill_texts(form: Form, name: str, text: Mapping[str, str]) -> None:
    """Put a stored ``{lang: text}`` in the fields ``with_texts`` added (an edit page)."""
    for lang in LANGUAGES:
        form[f"{name}_{lang}"].data = text.get(lang, "")


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

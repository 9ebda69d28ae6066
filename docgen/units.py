"""Units of measure: a code in the data ("payslip", "user-month"), a word in each
language. Codes not listed here are shown as given."""

from __future__ import annotations

from docgen.i18n import LANGUAGES, translations



def _labels(t) -> dict[str, str]:
    # pgettext: "month" the unit is not "month" the calendar word elsewhere.
    return {
        "payslip": t.pgettext("unit", "payslip"),
        "entity-month": t.pgettext("unit", "entity-month"),
        "user-month": t.pgettext("unit", "user-month"),
        "site-month": t.pgettext("unit", "site-month"),
        "employee-month": t.pgettext("unit", "employee-month"),
        "month": t.pgettext("unit", "month"),
        "hour": t.pgettext("unit", "hour"),
        "hours": t.pgettext("unit", "hours"),
        "day": t.pgettext("unit", "day"),
        "days": t.pgettext("unit", "days"),
        "document": t.pgettext("unit", "document"),
        "transaction": t.pgettext("unit", "transaction"),
        "user": t.pgettext("unit", "user"),
        "project": t.pgettext("unit", "project"),
        "%": "%",
    }


def unit_label(code: str, lang: str) -> str:
    """The unit ``code`` in ``lang`` (the code itself when it is not a known unit)."""
    return _labels(translations(lang)).get(code, code)


def unit_text(code: str) -> str | dict[str, str]:
    """Per-language text for docgen's input: a known unit in every language, else the
    code as given."""
    if code not in _labels(translations("en")):
        return code
    return {lang: unit_label(code, lang) for lang in LANGUAGES}

"""Units of measure: a code in the data ("payslip", "user-month"), a word in each
language. Codes not listed in ``docgen.vocabulary.UNITS`` are shown as given."""

from __future__ import annotations

from docgen.vocabulary import UNITS


def unit_label(code: str, lang: str) -> str:
    """The unit ``code`` in ``lang`` (the code itself when it is not a known unit)."""
    return UNITS.label(code, lang)


def unit_text(code: str) -> str | dict[str, str]:
    """Per-language text for docgen's input: a known unit in every language, else the
    code as given."""
    return UNITS.text(code)

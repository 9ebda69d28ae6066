"""Words a document translates although they arrive as data: units of measure and
job titles. Each is a msgid of the shared catalogs under its own context; a value
that is one of them, written in any of the documents' languages, comes out in each
language of the document, whether it came from the portal or from a JSON file given
to ``python -m docgen``. Anything else is shown as given."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from babel.support import NullTranslations

from docgen.i18n import LANGUAGES, translations


@dataclass(frozen=True, eq=False)  # one object, one index: hashed by identity
class Vocabulary:
    """Codes and their labels: ``labels(catalog)`` gives every code's label in the
    catalog's language (written as ``pgettext`` calls, so that they are extracted)."""

    labels: Callable[[NullTranslations], dict[str, str]]

    def label(self, code: str, lang: str) -> str:
        """The entry ``code`` in ``lang`` (``code`` itself when it is not one)."""
        return self.labels(translations(lang)).get(code, code)

    def find(self, text: str) -> str | None:
        """The code whose code or label, in any language, is ``text`` (case and
        surrounding space ignored)."""
        return _index(self).get(_key(text))

    def text(self, value: str) -> str | dict[str, str]:
        """Per-language text for a document: a known entry in every language, else
        the value as given."""
        code = self.find(value)
        if code is None:
            return value
        return {lang: self.label(code, lang) for lang in LANGUAGES}


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


@functools.cache
def _index(vocabulary: Vocabulary) -> dict[str, str]:
    index: dict[str, str] = {}
    for lang in reversed(LANGUAGES):  # English wins where two languages write a word alike
        index.update({_key(label): code for code, label in vocabulary.labels(translations(lang)).items()})
    index.update({_key(code): code for code in vocabulary.labels(translations("en"))})
    return index


# "month" the unit is not "month" the calendar word elsewhere: units have a context.
UNITS = Vocabulary(
    lambda t: {
        "payslip": t.pgettext("unit", "payslip"),
        "payslip/month": t.pgettext("unit", "payslip/month"),
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
        "invoice": t.pgettext("unit", "invoice"),
        "employee": t.pgettext("unit", "employee"),
    }
)

# Common titles of the people who sign, the firm's staff and its clients' officers;
# the code is the English title.
JOB_TITLES = Vocabulary(
    lambda t: {
        "General Director": t.pgettext("job title", "General Director"),
        "Deputy General Director": t.pgettext("job title", "Deputy General Director"),
        "Chief Executive Officer": t.pgettext("job title", "Chief Executive Officer"),
        "Chief Financial Officer": t.pgettext("job title", "Chief Financial Officer"),
        "Managing Director": t.pgettext("job title", "Managing Director"),
        "Director": t.pgettext("job title", "Director"),
        "Finance Director": t.pgettext("job title", "Finance Director"),
        "Finance Manager": t.pgettext("job title", "Finance Manager"),
        "Chief Accountant": t.pgettext("job title", "Chief Accountant"),
        "Procurement Director": t.pgettext("job title", "Procurement Director"),
        "Procurement Manager": t.pgettext("job title", "Procurement Manager"),
        "Human Resources Director": t.pgettext("job title", "Human Resources Director"),
        "Payroll Manager": t.pgettext("job title", "Payroll Manager"),
        "Operations Director": t.pgettext("job title", "Operations Director"),
        "Legal Representative": t.pgettext("job title", "Legal Representative"),
        "Chairman": t.pgettext("job title", "Chairman"),
        "Client Service Director": t.pgettext("job title", "Client Service Director"),
        "Client Service Manager": t.pgettext("job title", "Client Service Manager"),
        "Financial Service Manager": t.pgettext("job title", "Financial Service Manager"),
        "Account Manager": t.pgettext("job title", "Account Manager"),
        "Account Team Lead": t.pgettext("job title", "Account Team Lead"),
    }
)

"""A document's title in each of the portal's languages, for the pages and e-mails that
list it (``Document.title_translations``; ``portal.i18n.localized(document, "title")``).

The titles come from the docgen input the document was made from (``Document.source``),
so documents issued before there were titles per language have them too: the title the
firm gave per language (an amendment's change request, a work order), else the portal's
own words for what it writes (a review pack's month, an invoice's number) in that
language's catalog. ``Document.title``, the English one, stays what the API and the
audit log name the document by.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from docgen.i18n import LANGUAGES, Lang, translations
from docgen.kinds.plan import PLAN_TYPES, period_text


def document_titles(kind: str, source: dict[str, Any]) -> dict[str, str]:
    """``{lang: title}`` for the languages the document has a title in."""
    if kind == "amendment":
        return _texts((source.get("change_request") or {}).get("title"))
    if kind in ("work_order", "quotation"):
        return _texts(source.get("title"))
    return {lang: title for lang in LANGUAGES if (title := _written(kind, source, lang))}


def _texts(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {lang: text for lang, text in value.items() if lang in LANGUAGES and isinstance(text, str) and text}
    return {"en": value} if isinstance(value, str) and value else {}


def _written(kind: str, source: dict[str, Any], lang: str) -> str:
    """The title of a document the portal writes itself, in ``lang``."""
    from portal.i18n import day, locale_for_language, month

    gettext = translations(lang).gettext
    try:
        if kind == "plan":
            return f"{gettext(PLAN_TYPES[source['plan_type']])} {period_text(source['period'])(Lang(lang))}"
        locale = locale_for_language(lang)
        if kind == "review_pack":
            period = date.fromisoformat(f"{source['period']}-01")
            return f"{gettext('Monthly service review')} {month(period, locale=locale)}"
        if kind == "invoice":
            return gettext("Invoice %(number)s") % {"number": source["number"]}
        if kind == "statement":
            return f"{gettext('Statement of account')} {day(date.fromisoformat(source['date']), locale=locale)}"
    except (KeyError, TypeError, ValueError):  # a source of another shape: the stored English title stands
        return ""
    return ""

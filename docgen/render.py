"""From input data to .docx bytes: validate, lay out, save."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from typing import Any

from docgen.i18n import Lang
from docgen.kinds import KINDS, Kind
from docgen.layout import Layout
from docgen import preflight
from docgen.schema import DocumentInput, ValidationError, check_languages, check_translations, clean_text, parse


def validate(data: Any, languages: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """Return every problem with ``data`` as ``(path, message)``; empty when valid.

    ``languages`` overrides ``data["languages"]``.
    """
    try:
        _parse(data, languages)
    except ValidationError as error:
        return error.errors
    return []


def render(data: Mapping[str, Any], languages: Sequence[str] | None = None) -> bytes:
    """Render a document from its input data (see spec/docgen.md) as .docx bytes.

    ``languages`` (one code, or two for side by side) overrides ``data["languages"]``.
    Raises ``ValidationError`` listing every problem before anything is rendered:
    ``UntranslatedError`` for free text missing a language of the document, and
    ``preflight.GlyphError`` once rendered for a character no font of the document has
    (``preflight.FontNotFound`` when a font it names is not installed here).
    The same input always gives the same bytes.
    """
    document, kind = _parse(data, languages)
    langs = [
        Lang(code, currency=document.currency, zone=document.zone, contract_style=kind.contract,
             spelling=document.english or "US")
        for code in document.languages
    ]
    layout = Layout(langs)
    title = kind.title(document)
    layout.page_furniture(title, document.number)
    kind.build(layout, document)
    primary = langs[0]
    content = layout.save(
        title=f"{title(primary)} {document.number}",
        subject=kind.subject(document)(primary),
        author=document.provider.name(primary),
        created=datetime.combine(document.date, time()),
    )
    preflight.check(content, document)
    return content


def _parse(data: Any, languages: Sequence[str] | None) -> tuple[DocumentInput, Kind]:
    if not isinstance(data, Mapping):
        raise ValidationError([("input", "must be a JSON object")])
    if languages is not None:
        data = {**data, "languages": languages}
    name = data.get("kind")
    kind = KINDS.get(name) if isinstance(name, str) else None
    if kind is None:
        message = "required" if name is None else f"unknown kind {clean_text(str(name))!r} (use {', '.join(KINDS)})"
        raise ValidationError([("kind", message), *check_languages(data.get("languages"))])
    document = parse(kind.model, data)
    check_translations(document)
    return document, kind

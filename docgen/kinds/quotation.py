"""Quotation: the prices the provider offers the client for the services of an
opportunity, line by line, with its total (in words) and how long the offer holds.

Words: a quotation is 报价单 in Chinese and Báo giá in Vietnamese; "valid until" is
有效期至 and Có hiệu lực đến ngày, as quotations in each country write it.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import pydantic
from pydantic import ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from docgen.i18n import Localized, _l
from docgen.kinds import common
from docgen.layout import Field, Layout
from docgen.schema import Currency, Day, DocumentInput, FreeText, Items, Line


class Quotation(DocumentInput):
    kind: Literal["quotation"]
    quote_currency: Currency = pydantic.Field(alias="currency")
    title: FreeText
    description: FreeText | None = None
    valid_until: Day
    lines: Items[Line]

    @property
    def currency(self) -> str:
        return self.quote_currency

    @field_validator("valid_until")
    @classmethod
    def _valid_after_issue(cls, valid_until: date, info: ValidationInfo) -> date:
        issued = info.data.get("date")
        if issued is not None and valid_until < issued:
            raise PydanticCustomError("date_order", "before date")
        return valid_until


def title(document: Quotation) -> Localized:
    return lambda lang: lang.pgettext("document title", "Quotation")


def subject(document: Quotation) -> Localized:
    return document.title


def build(layout: Layout, document: Quotation) -> None:
    layout.title(title(document), _l("No. %(number)s", number=document.number))
    layout.fields([
        Field(_l("Quotation number"), common.code(document.number)),
        Field(_l("Quotation date"), lambda lang: lang.date(document.date)),
        Field(_l("Valid until"), lambda lang: lang.date(document.valid_until)),
        Field(_l("Currency"), lambda lang: document.currency),
    ])
    common.parties(layout, document, contract=False)

    layout.heading(_l("Scope"))
    layout.paragraph(document.title)
    if document.description is not None:
        layout.paragraph(document.description)

    layout.heading(_l("Services and prices"))
    common.priced_table(layout, common.line_columns(), document.lines, _l("Total"))
    layout.paragraph(_l("The prices of this quotation hold until %(date)s. Once accepted, the services are ordered "
                        "by a change request to the contract.", date=lambda lang: lang.date(document.valid_until)))
    common.closing(layout, document, contract=False)


KIND = common.Kind(name="quotation", model=Quotation, title=title, subject=subject, build=build, contract=False)

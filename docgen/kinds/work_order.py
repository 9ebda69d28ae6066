"""Work order: services ordered under a contract, their prices, term and acceptance."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from docgen.i18n import N_, Localized, _l
from docgen.kinds import common
from docgen.layout import Field, Layout, Styles
from docgen.schema import Code, ContractDocument, Day, FreeText, Items, Line


class WorkOrder(ContractDocument):
    kind: Literal["work_order"]
    po_number: Code | None = None
    title: FreeText
    description: FreeText | None = None
    start_date: Day
    end_date: Day
    lines: Items[Line]
    acceptance_criteria: list[FreeText] = []

    @field_validator("end_date")
    @classmethod
    def _ends_after_start(cls, end_date: date, info: ValidationInfo) -> date:
        start_date = info.data.get("start_date")
        if start_date is not None and end_date < start_date:
            raise PydanticCustomError("date_order", "before start_date")
        return end_date


def title(document: WorkOrder) -> Localized:
    return _l("Work order")


def subject(document: WorkOrder) -> Localized:
    return document.title


def build(layout: Layout, document: WorkOrder) -> None:
    common.contract_opening(
        layout,
        document,
        title(document),
        N_("This work order is issued under the %(contract)s on %(date)s between the parties below."),
    )
    fields = [
        Field(
            _l("Service period"),
            _l(
                "%(start)s to %(end)s",
                start=lambda lang: lang.date(document.start_date),
                end=lambda lang: lang.date(document.end_date),
            ),
        )
    ]
    if document.po_number is not None:
        fields.insert(0, Field(_l("Purchase order (PO)"), common.code(document.po_number)))
    layout.fields(fields)

    layout.heading(_l("Scope"))
    layout.paragraph(document.title, Styles.SUBTITLE)
    if document.description is not None:
        layout.paragraph(document.description)

    layout.heading(_l("Services and prices"))
    common.priced_table(layout, common.line_columns(), document.lines, _l("Total"))

    if document.acceptance_criteria:
        layout.heading(_l("Acceptance criteria"))
        layout.numbered(document.acceptance_criteria)

    layout.heading(_l("Terms"))
    layout.numbered(
        [
            _l(
                "This work order is governed by the %(contract)s, which prevails in case of conflict.",
                contract=document.contract.title,
            ),
            _l("This work order takes effect when signed by both parties."),
            *common.final_terms(layout, document),
        ]
    )
    common.closing(layout, document, contract=True)
    common.signatures(layout, document, contract=True)


KIND = common.Kind(name="work_order", model=WorkOrder, title=title, subject=subject, build=build, contract=True)

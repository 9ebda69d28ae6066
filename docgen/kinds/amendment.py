"""Contract amendment: the approved change request it rests on, priced scope changes, terms."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from docgen.i18n import N_, Localized, _l
from docgen.kinds import common
from docgen.layout import Column, Field, Layout, Styles
from docgen.schema import Amount, Code, ContractDocument, Day, FreeText, Items, Line, Moment, Record, VersionHash

# A scope change as a contract names it (the portal's buttons say "Remove": 删除).
CHANGES = {
    "add": lambda lang: lang.pgettext("scope change", "Add"),
    "remove": lambda lang: lang.pgettext("scope change", "Remove"),
    "modify": lambda lang: lang.pgettext("scope change", "Modify"),
}


class ChangeRequest(Record):
    number: Code
    title: FreeText
    description: FreeText | None = None
    approved_by: Code
    approved_at: Moment
    version: VersionHash


class AmendmentLine(Line):
    """A scope change; a removed line lowers the price, a modified line (with its old
    quantity and unit price) changes it by the difference."""

    change: Literal["add", "remove", "modify"]
    old_quantity: Amount | None = None
    old_unit_price: Amount | None = None

    @property
    def amount(self) -> Decimal:
        amount = self.quantity * self.unit_price
        if self.change == "remove":
            return -amount
        if self.change == "modify" and self.old_quantity is not None and self.old_unit_price is not None:
            return amount - self.old_quantity * self.old_unit_price
        return amount


def change_label(line: AmendmentLine, lang) -> str:
    """"Add", "Remove", or "Modify (was 120 × 85.00)" when the old terms are known."""
    if line.change == "modify" and line.old_quantity is not None and line.old_unit_price is not None:
        return lang.gettext(N_("Modify (was %(quantity)s × %(price)s)")) % {
            "quantity": lang.number(line.old_quantity), "price": lang.amount(line.old_unit_price)}
    return CHANGES[line.change](lang)


class Amendment(ContractDocument):
    kind: Literal["amendment"]
    effective_date: Day
    change_request: ChangeRequest
    lines: Items[AmendmentLine] = []
    clauses: list[FreeText] = []


def title(document: Amendment) -> Localized:
    return _l("Contract amendment")


def subject(document: Amendment) -> Localized:
    return document.change_request.title


def build(layout: Layout, document: Amendment) -> None:
    common.contract_opening(
        layout,
        document,
        title(document),
        N_("This amendment to the %(contract)s is made on %(date)s between the parties below."),
    )
    layout.fields([Field(_l("Effective date"), lambda lang: lang.date(document.effective_date))])

    request = document.change_request
    layout.heading(_l("Approved change request"))
    fields = [
        Field(_l("Change request"), _l("%(number)s: %(title)s", number=request.number, title=request.title)),
        Field(_l("Approved by"), _l("%(name)s (typed signature)", name=request.approved_by)),
        Field(_l("Approved at"), lambda lang: lang.moment(request.approved_at)),
        Field(_l("Version hash"), lambda lang: request.version, Styles.HASH),
    ]
    if request.description is not None:
        fields.insert(1, Field(_l("Description"), request.description))
    layout.fields(fields)

    layout.heading(_l("Changes in scope and price"))
    change = Column(_l("Change"), lambda line, lang: change_label(line, lang), weight=1.4)
    common.priced_table(
        layout,
        common.line_columns(change, signed=True),
        document.lines,
        _l("Net price impact"),
        _l("Net price impact (in words)"),
        signed=True,
    )

    contract_title = document.contract.title
    layout.heading(_l("Terms"))
    layout.numbered(
        [
            _l(
                "This amendment takes effect on %(date)s and forms an integral part of the %(contract)s.",
                date=lambda lang: lang.date(document.effective_date),
                contract=contract_title,
            ),
            *document.clauses,
            _l(
                "All other terms of the %(contract)s remain unchanged and in full force.",
                contract=contract_title,
            ),
            _l("This amendment is made in two originals of equal legal effect, one for each party."),
            *common.final_terms(layout, document),
        ]
    )
    common.closing(layout, document, contract=True)
    common.signatures(layout, document, contract=True)


KIND = common.Kind(name="amendment", model=Amendment, title=title, subject=subject, build=build, contract=True)

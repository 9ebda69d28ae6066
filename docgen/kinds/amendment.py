"""Contract amendment: the approved change request it rests on, priced scope changes, terms."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Literal

from docgen.i18n import N_, Lang, Localized, _l
from docgen.kinds import common
from docgen.layout import Column, Field, Layout, Styles
from docgen.schema import Amount, Code, ContractDocument, Day, FreeText, Items, Line, Moment, Record, VersionHash
from docgen.typesetting import keep_whole

# A scope change as a contract names it (the portal's buttons say "Remove": 删除).
CHANGES = {
    "add": lambda lang: lang.pgettext("scope change", "Add"),
    "remove": lambda lang: lang.pgettext("scope change", "Remove"),
    "modify": lambda lang: lang.pgettext("scope change", "Modify"),
}
NONE = "—"  # no old terms for an added service, no new ones for a removed one


class Approver(Record):
    """One client approver's approval of the version: their typed name, and when."""

    name: Code
    at: Moment


class ChangeRequest(Record):
    number: Code
    title: FreeText
    description: FreeText | None = None
    approved_by: Code
    approved_at: Moment
    version: VersionHash
    # Every client approver of the version, first first, when the client's delegation of
    # authority needed more than one; none: ``approved_by`` alone approved it.
    approvers: list[Approver] = []


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

    @property
    def before(self) -> tuple[Decimal, Decimal] | None:
        """The quantity and unit price the contract had: none for an added service."""
        if self.change == "remove":
            return self.quantity, self.unit_price
        if self.change == "modify" and self.old_quantity is not None and self.old_unit_price is not None:
            return self.old_quantity, self.old_unit_price
        return None

    @property
    def after(self) -> tuple[Decimal, Decimal] | None:
        """The quantity and unit price the amendment sets: none for a removed service."""
        return None if self.change == "remove" else (self.quantity, self.unit_price)


def change_label(line: AmendmentLine, lang: Lang) -> str:
    """"Add", "Remove" or "Modify": the old and new terms have their own columns."""
    return CHANGES[line.change](lang)


def _terms(side: str, index: int, number: Callable[[Lang, Decimal], str]) -> Callable[[AmendmentLine, Lang], str]:
    """A cell of the old (``before``) or new (``after``) terms: quantity (0) or unit
    price (1), or a dash where the line has none."""

    def value(line: AmendmentLine, lang: Lang) -> str:
        terms = getattr(line, side)
        return NONE if terms is None else number(lang, terms[index])

    return value


BEFORE, AFTER = _l("Before"), _l("After")  # the portal's words for a change request's terms
LINE_COLUMNS = (
    Column(_l("Change"), change_label, weight=1.2),
    Column(_l("Description"), lambda line, lang: line.description(lang), weight=4.4, per_language=True),
    Column(_l("Unit"), common.unit, weight=1.6),
    Column(_l("Quantity"), _terms("before", 0, Lang.number), numeric=True, group=BEFORE),
    Column(common.in_currency(_l("Unit price")), _terms("before", 1, Lang.amount), numeric=True, group=BEFORE),
    Column(_l("Quantity"), _terms("after", 0, Lang.number), numeric=True, group=AFTER),
    Column(common.in_currency(_l("Unit price")), _terms("after", 1, Lang.amount), numeric=True, group=AFTER),
    Column(common.in_currency(_l("Price impact")), lambda line, lang: lang.amount_change(line.amount), numeric=True),
)


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


def _approval_fields(name: str, at: datetime) -> list[Field]:
    """"Approved by" and "Approved at" of one client approver."""
    return [Field(_l("Approved by"), _l("%(name)s (typed signature)", name=keep_whole(name))),
            Field(_l("Approved at"), lambda lang: lang.moment(at))]


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
    approvers = [(a.name, a.at) for a in request.approvers] or [(request.approved_by, request.approved_at)]
    fields = [
        Field(_l("Change request"), _l("%(number)s: %(title)s", number=keep_whole(request.number), title=request.title)),
        *(field for name, at in approvers for field in _approval_fields(name, at)),
        Field(_l("Version hash"), lambda lang: request.version, Styles.HASH),
    ]
    if request.description is not None:
        fields.insert(1, Field(_l("Description"), request.description))
    layout.fields(fields)

    layout.heading(_l("Changes in scope and price"))
    common.priced_table(
        layout, LINE_COLUMNS, document.lines, _l("Net price impact"), _l("Net price impact (in words)"), signed=True
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

"""Monthly service review pack: the month's scorecard with its charts and commentary,
service requests and SLA performance, change requests decided, invoices issued and
open, and action items."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal

import pydantic
from babel.numbers import format_percent
from pydantic import AfterValidator, BeforeValidator, PlainValidator, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from docgen.formatting import LOCALES, format_month, quantize_money
from docgen.i18n import N_, Lang, Localized, _l
from docgen.kinds import common
from docgen.layout import Column, Field, Layout, image_pixels
from docgen.schema import Amount, Code, Currency, Day, DocumentInput, FreeText, LocalText, Moment, Record

MAX_CHARTS = 4
MAX_PNG_BYTES = 2 * 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PERIOD = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
# Shown with one decimal, rounded half-up (Babel rounds half-even).
_PERCENT_STEP = Decimal("0.001")
_RATIO_STEP = Decimal("0.0001")
_NONE = "—"

# A status is a word in the document's language on a shaded cell: the colour is not
# the only signal. Fills are the light tints of spreadsheet conditional formats.
# The words are the portal's (its "rag" labels), so that the pack reads as the web page.
KPI_STATUSES = {"green": N_("Green"), "amber": N_("Amber"), "red": N_("Red"), "none": N_("No data")}
FILLS = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE"}
DECISIONS = {"approved": N_("Approved"), "rejected": N_("Rejected"), "implemented": N_("Implemented")}
# "Issued" alone is a column heading in the catalogs (出具时间): the statuses have a context.
INVOICE_STATUSES = {
    "issued": lambda lang: lang.pgettext("invoice status", "Issued"),
    "overdue": lambda lang: lang.pgettext("invoice status", "Overdue"),
    "paid": lambda lang: lang.pgettext("invoice status", "Paid"),
    "disputed": lambda lang: lang.pgettext("invoice status", "Disputed"),
    "credited": lambda lang: lang.pgettext("invoice status", "Credited"),
}
ACTION_STATUSES = {
    "open": N_("Open"),
    "in_progress": N_("In progress"),
    "done": N_("Done"),
    "cancelled": N_("Cancelled"),
}


# -- input -----------------------------------------------------------------------


def _period(value: object) -> str:
    if isinstance(value, str) and _PERIOD.fullmatch(value):
        return value
    raise PydanticCustomError("period", "not a month (YYYY-MM)")


def _ratio(value: Decimal) -> Decimal:
    if value < 0:
        raise PydanticCustomError("ratio", "must not be negative")
    return value


def _whole_number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError("count", "not a whole number")
    if value < 0:
        raise PydanticCustomError("count", "must not be negative")
    return value


def _png(value: object) -> bytes:
    """A PNG image, base64-encoded: at most 2 MB, readable by python-docx."""
    if not isinstance(value, str) or not value.strip():
        raise PydanticCustomError("missing", "required")
    text = "".join(value.split())
    # Refuse a huge string before decoding it: 4 base64 characters hold 3 bytes.
    if len(text) > (MAX_PNG_BYTES + 2) // 3 * 4:
        raise PydanticCustomError("png", "larger than 2 MB")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PydanticCustomError("png", "not valid base64") from None
    if len(data) > MAX_PNG_BYTES:
        raise PydanticCustomError("png", "larger than 2 MB")
    if not data.startswith(PNG_SIGNATURE):
        raise PydanticCustomError("png", "not a PNG image")
    try:
        image_pixels(data)
    except ValueError:
        raise PydanticCustomError("png", "not a readable PNG image") from None
    return data


def _at_most_charts(value: object) -> object:
    # Before the charts are decoded: four PNGs of 2 MB at most.
    if isinstance(value, list) and len(value) > MAX_CHARTS:
        raise PydanticCustomError("too_long", f"at most {MAX_CHARTS} charts")
    return value


Period = Annotated[str, PlainValidator(_period)]
Ratio = Annotated[Amount, AfterValidator(_ratio)]
"""A share as a decimal (0.85 is 85 %), at least 0; an attainment may exceed 1."""
Count = Annotated[int, PlainValidator(_whole_number)]
Png = Annotated[bytes, PlainValidator(_png)]


class ScorecardKpi(Record):
    code: Code
    name: FreeText
    unit: LocalText | None = None
    target: Amount
    actual: Amount | None = None
    attainment: Ratio | None = None
    status: Literal["green", "amber", "red", "none"]
    change: Amount | None = None
    comment: FreeText | None = None


class Scorecard(Record):
    kpis: list[ScorecardKpi] = []
    kpis_met_ratio: Ratio | None = None
    overall_attainment: Ratio | None = None
    threshold: Ratio

    @property
    def measured(self) -> list[ScorecardKpi]:
        return [kpi for kpi in self.kpis if kpi.status != "none"]

    @property
    def met(self) -> list[ScorecardKpi]:
        return [kpi for kpi in self.kpis if kpi.status == "green"]

    @field_validator("kpis_met_ratio")
    @classmethod
    def _agrees_with_the_kpis(cls, ratio: Decimal | None, info: ValidationInfo) -> Decimal | None:
        """The share of KPIs met is the share of measured KPIs that are green, as the
        summary line states both."""
        kpis = info.data.get("kpis")
        measured = [kpi for kpi in kpis or () if kpi.status != "none"]
        if ratio is None or not measured:
            return ratio
        met = sum(kpi.status == "green" for kpi in measured)
        expected = (Decimal(met) / len(measured)).quantize(_RATIO_STEP, ROUND_HALF_UP)
        if ratio.quantize(_RATIO_STEP, ROUND_HALF_UP) != expected:
            raise PydanticCustomError(
                "ratio", f"does not match the KPIs: {met} of {len(measured)} measured are green ({expected})"
            )
        return ratio


class Chart(Record):
    title: FreeText
    png_base64: Png


class Requests(Record):
    opened: Count
    closed: Count
    escalated: Count = 0
    first_response_met: Ratio | None = None
    resolution_met: Ratio | None = None


class DecidedChange(Record):
    number: Code
    title: FreeText
    decision: Literal["approved", "rejected", "implemented"]
    decided_at: Moment
    price_impact: Amount | None = None


class IssuedInvoice(Record):
    number: Code
    issue_date: Day
    total: Amount
    status: Literal["issued", "overdue", "paid", "disputed", "credited"]


class ServiceCredit(Record):
    """The month's approved service credit of an SLA that missed its target."""

    code: Code
    name: LocalText
    credit_note: Code
    amount: Amount


class OpenInvoice(Record):
    number: Code
    due_date: Day
    amount: Amount
    days_overdue: Count = 0


class Invoices(Record):
    issued: list[IssuedInvoice] = []
    open: list[OpenInvoice] = []
    open_total: Amount | None = None

    @field_validator("open_total")
    @classmethod
    def _adds_up(cls, total: Decimal | None, info: ValidationInfo) -> Decimal | None:
        """The open total shown is the sum of the open invoices; a given one must agree."""
        invoices = info.data.get("open")
        if total is None or invoices is None:
            return total
        expected = sum((invoice.amount for invoice in invoices), Decimal(0))
        if total != expected:
            raise PydanticCustomError("total", f"does not match the open invoices (sum {expected})")
        return total


class ActionItem(Record):
    title: FreeText
    owner: LocalText | None = None
    due: Day | None = None
    status: Literal["open", "in_progress", "done", "cancelled"]
    overdue: bool = False


class Actions(Record):
    opened: Count
    closed: Count
    overdue: Count
    items: list[ActionItem] = []


class ReviewPack(DocumentInput):
    kind: Literal["review_pack"]
    period: Period
    scorecard: Scorecard
    charts: Annotated[list[Chart], BeforeValidator(_at_most_charts)] = []
    commentary: list[FreeText] = []
    requests: Requests
    change_requests: list[DecidedChange] = []
    money_currency: Currency = pydantic.Field(alias="currency")
    invoices: Invoices
    actions: Actions
    service_credits: list[ServiceCredit] = []

    @property
    def currency(self) -> str:
        return self.money_currency


# -- document ----------------------------------------------------------------------


def title(document: ReviewPack) -> Localized:
    return _l("Monthly service review")


def subject(document: ReviewPack) -> Localized:
    year, month = (int(part) for part in document.period.split("-"))
    return lambda lang: format_month(year, month, lang.code)


def percent(value: Decimal, lang: Lang, signed: bool = False) -> str:
    """A ratio as a percentage with one decimal in the language's format: ``99.6%``,
    ``99,6%``; ``signed`` writes a change as ``+0.5%`` / ``-0.3%`` (zero unsigned)."""
    shown = value.quantize(_PERCENT_STEP, ROUND_HALF_UP) or Decimal(0)  # no "-0.0%"
    pattern = "+#,##0.0%;-#,##0.0%" if signed and shown else "#,##0.0%"
    return format_percent(shown, pattern, locale=LOCALES[lang.code])


def _bar(value: Decimal, lang: Lang) -> str:
    """The bar of KPIs met, with a decimal only when it has one: ``85%``, ``87.5%``."""
    return format_percent(value.quantize(_PERCENT_STEP, ROUND_HALF_UP), "#,##0.#%", locale=LOCALES[lang.code])


def _count(value: int, lang: Lang) -> str:
    return lang.number(Decimal(value))


def _optional_percent(value: Decimal | None, lang: Lang, signed: bool = False) -> str:
    return _NONE if value is None else percent(value, lang, signed)


def _local_day(moment: datetime, lang: Lang) -> date:
    return moment.astimezone(lang.zone).date()


SCORECARD_COLUMNS = (
    Column(_l("Code"), lambda kpi, lang: kpi.code, weight=1.4, whole=True),
    Column(_l("KPI"), lambda kpi, lang: kpi.name(lang), weight=4, per_language=True),
    Column(_l("Unit"), lambda kpi, lang: "" if kpi.unit is None else kpi.unit(lang), weight=0.8),
    Column(_l("Target"), lambda kpi, lang: lang.number(kpi.target), weight=1.1, numeric=True),
    Column(
        _l("Actual"), lambda kpi, lang: _NONE if kpi.actual is None else lang.number(kpi.actual),
        weight=1.1, numeric=True,
    ),
    Column(_l("Attainment"), lambda kpi, lang: _optional_percent(kpi.attainment, lang), weight=1.3, numeric=True),
    Column(
        _l("Status"), lambda kpi, lang: lang.gettext(KPI_STATUSES[kpi.status]),
        weight=1.7, fill=lambda kpi: FILLS.get(kpi.status),
    ),
    Column(
        _l("Change from last month"), lambda kpi, lang: _optional_percent(kpi.change, lang, signed=True),
        weight=1.4, numeric=True,
    ),
)
CHANGE_COLUMNS = (
    Column(_l("Change request"), lambda change, lang: change.number, weight=1.5, whole=True),
    Column(_l("Title"), lambda change, lang: change.title(lang), weight=4.2, per_language=True),
    Column(_l("Decision"), lambda change, lang: lang.gettext(DECISIONS[change.decision]), weight=1.5),
    Column(
        _l("Decided on"), lambda change, lang: lang.short_date(_local_day(change.decided_at, lang)),
        weight=2.4, numeric=True,
    ),
    Column(
        common.in_currency(_l("Price impact")),
        lambda change, lang: _NONE if change.price_impact is None else lang.amount_change(change.price_impact),
        weight=2, numeric=True,
    ),
)
ISSUED_COLUMNS = (
    Column(_l("Invoice"), lambda invoice, lang: invoice.number, weight=2.5, whole=True),
    Column(_l("Issue date"), lambda invoice, lang: lang.short_date(invoice.issue_date), weight=2.5, numeric=True),
    Column(common.in_currency(_l("Total")), lambda invoice, lang: lang.amount(invoice.total), weight=2.5, numeric=True),
    Column(_l("Status"), lambda invoice, lang: INVOICE_STATUSES[invoice.status](lang), weight=2),
)
CREDIT_COLUMNS = (
    Column(_l("KPI"), lambda credit, lang: f"{credit.code} {credit.name(lang)}", weight=4.5),
    Column(_l("Credit note"), lambda credit, lang: credit.credit_note, weight=2.5, whole=True),
    Column(common.in_currency(_l("Amount")), lambda credit, lang: lang.amount(credit.amount), weight=2.5,
           numeric=True),
)
OPEN_COLUMNS = (
    Column(_l("Invoice"), lambda invoice, lang: invoice.number, weight=2.5, whole=True),
    Column(_l("Due date"), lambda invoice, lang: lang.short_date(invoice.due_date), weight=2.5, numeric=True),
    Column(
        common.in_currency(_l("Amount")), lambda invoice, lang: lang.amount(invoice.amount), weight=2.5, numeric=True
    ),
    Column(
        _l("Days overdue"), lambda invoice, lang: _count(invoice.days_overdue, lang) if invoice.days_overdue else _NONE,
        weight=2, numeric=True,
    ),
)


def _action_status(item: ActionItem, lang: Lang) -> str:
    status = lang.gettext(ACTION_STATUSES[item.status])
    if item.overdue:
        return lang.gettext(N_("%(status)s (overdue)")) % {"status": status}
    return status


ACTION_COLUMNS = (
    Column(_l("Action item"), lambda item, lang: item.title(lang), weight=5, per_language=True),
    Column(_l("Owner"), lambda item, lang: "" if item.owner is None else item.owner(lang), weight=2, whole=True),
    Column(
        _l("Due"), lambda item, lang: "" if item.due is None else lang.short_date(item.due), weight=2.5, numeric=True
    ),
    Column(_l("Status"), _action_status, weight=2.2, fill=lambda item: FILLS["red"] if item.overdue else None),
)


def build(layout: Layout, document: ReviewPack) -> None:
    common.place_and_date(layout, document)
    layout.title(title(document), subject(document))
    layout.fields(
        [
            Field(_l("Document number"), common.code(document.number)),
            Field(_l("Date"), lambda lang: lang.date(document.date)),
        ]
    )
    common.parties(layout, document, contract=False)
    _scorecard(layout, document)
    _service_credits(layout, document)
    _commentary(layout, document)
    _requests(layout, document.requests)

    layout.heading(_l("Change requests decided"))
    _table_or(layout, CHANGE_COLUMNS, document.change_requests, _l("No change requests were decided this month."))

    layout.heading(_l("Invoices issued"))
    _table_or(layout, ISSUED_COLUMNS, document.invoices.issued, _l("No invoices were issued this month."))
    layout.heading(_l("Open invoices"))
    if document.invoices.open:
        currency = layout.primary.currency
        total = sum((quantize_money(item.amount, currency) for item in document.invoices.open), Decimal(0))
        layout.table(OPEN_COLUMNS, document.invoices.open, totals=[(_l("Open total"), lambda lang: lang.money(total))])
    else:
        layout.paragraph(_l("No invoices are open."))

    actions = document.actions
    layout.heading(_l("Action items"))
    layout.fields(
        [
            Field(_l("Action items opened"), lambda lang: _count(actions.opened, lang)),
            Field(_l("Action items closed"), lambda lang: _count(actions.closed, lang)),
            Field(_l("Action items overdue"), lambda lang: _count(actions.overdue, lang)),
        ]
    )
    _table_or(layout, ACTION_COLUMNS, actions.items, _l("No action items to report this month."), numbered=True)
    common.closing(layout, document, contract=False)


def _scorecard(layout: Layout, document: ReviewPack) -> None:
    scorecard = document.scorecard
    layout.heading(_l("Scorecard"))
    if not scorecard.kpis:
        layout.paragraph(_l("The scorecard has no KPIs."))
    elif not scorecard.measured:
        layout.paragraph(_l("No KPI was measured this month."))
    else:
        measured = len(scorecard.measured)
        met = len(scorecard.met)
        ratio = scorecard.kpis_met_ratio
        if ratio is None:
            ratio = Decimal(met) / measured
        layout.paragraph(
            _l(
                "%(met)s of %(measured)s KPIs met (%(ratio)s, bar %(bar)s)",
                met=lambda lang: _count(met, lang),
                measured=lambda lang: _count(measured, lang),
                ratio=lambda lang: percent(ratio, lang),
                bar=lambda lang: _bar(scorecard.threshold, lang),
            )
        )
        if scorecard.overall_attainment is not None:
            overall = scorecard.overall_attainment
            layout.fields([Field(_l("Overall attainment"), lambda lang: percent(overall, lang))])
    if scorecard.kpis:
        layout.table(SCORECARD_COLUMNS, scorecard.kpis)
    for chart in document.charts:
        layout.picture(chart.png_base64, chart.title)


def _service_credits(layout: Layout, document: ReviewPack) -> None:
    """The month's service credits, when an SLA earned one: what the client is credited."""
    if not document.service_credits:
        return
    layout.heading(_l("Service credits"))
    total = sum((quantize_money(c.amount, document.currency) for c in document.service_credits), Decimal(0))
    layout.table(CREDIT_COLUMNS, document.service_credits,
                 totals=[(_l("Total service credits"), lambda lang: lang.money(total))])


def _commentary(layout: Layout, document: ReviewPack) -> None:
    layout.heading(_l("KPI commentary"))
    commented = [kpi for kpi in document.scorecard.kpis if kpi.comment is not None]
    if not document.commentary and not commented:
        layout.paragraph(_l("No commentary this month."))
        return
    for paragraph in document.commentary:
        layout.paragraph(paragraph)
    layout.fields([Field(_kpi_label(kpi), kpi.comment) for kpi in commented])


def _kpi_label(kpi: ScorecardKpi) -> Localized:
    return lambda lang: f"{kpi.code} {kpi.name(lang)}"


def _requests(layout: Layout, requests: Requests) -> None:
    layout.heading(_l("Service requests and SLA performance"))
    layout.fields(
        [
            Field(_l("Requests opened"), lambda lang: _count(requests.opened, lang)),
            Field(_l("Requests closed"), lambda lang: _count(requests.closed, lang)),
            Field(_l("Requests escalated"), lambda lang: _count(requests.escalated, lang)),
            Field(_l("First response within SLA"), lambda lang: _sla(requests.first_response_met, lang)),
            Field(_l("Resolution within SLA"), lambda lang: _sla(requests.resolution_met, lang)),
        ]
    )


def _sla(value: Decimal | None, lang: Lang) -> str:
    return lang.gettext(KPI_STATUSES["none"]) if value is None else percent(value, lang)


def _table_or(
    layout: Layout, columns: Sequence[Column], rows: Sequence[Any], empty: Localized, numbered: bool = False
) -> None:
    """A table of ``rows``, or the sentence saying there are none."""
    if rows:
        layout.table(columns, rows, numbered=numbered)
    else:
        layout.paragraph(empty)


KIND = common.Kind(name="review_pack", model=ReviewPack, title=title, subject=subject, build=build, contract=False)

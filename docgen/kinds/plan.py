"""Business plan (joint yearly, quarterly or monthly): objectives, KPIs, initiatives,
budget, risks, reviews and sign-off."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

import pydantic
from pydantic import model_validator

from docgen.formatting import format_month
from docgen.i18n import N_, Lang, Localized, _l
from docgen.kinds import common
from docgen.layout import Column, Field, Layout
from docgen.schema import (
    Amount,
    Code,
    Currency,
    Day,
    DocumentInput,
    Figure,
    FreeText,
    Items,
    LocalText,
    Moment,
    Record,
    code_or_text,
)

PLAN_TYPES = {
    "jbp": N_("Joint business plan"),
    "qbp": N_("Quarterly business plan"),
    "mbp": N_("Monthly business plan"),
}
STATUSES = {
    "planned": N_("Planned"),
    "in_progress": N_("In progress"),
    "on_track": N_("On track"),
    "at_risk": N_("At risk"),
    "blocked": N_("Blocked"),
    "done": N_("Done"),
    "cancelled": N_("Cancelled"),
}
DECISIONS = {
    "comment": N_("Comment"),
    "approve": N_("Approve"),
    "request_changes": N_("Request changes"),
    "reject": N_("Reject"),
    "sign_off": N_("Sign off"),
}
_FISCAL_YEAR = re.compile(r"FY(\d{4})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")

Status = Annotated[Localized, code_or_text(STATUSES)]


class Kpi(Record):
    name: FreeText
    baseline: Figure | None = None
    target: Figure
    unit: LocalText | None = None


class Initiative(Record):
    title: FreeText
    owner: LocalText
    due: Day | None = None
    status: Status | None = None


class BudgetItem(Record):
    item: FreeText
    amount: Amount


class Risk(Record):
    risk: FreeText
    mitigation: FreeText
    owner: LocalText | None = None


class Review(Record):
    reviewer: LocalText
    decision: Literal["comment", "approve", "request_changes", "reject", "sign_off"]
    body: LocalText | None = None
    at: Moment


class Plan(DocumentInput):
    kind: Literal["plan"]
    plan_type: Literal["jbp", "qbp", "mbp"]
    period: Code
    budget_currency: Currency | None = pydantic.Field(None, alias="currency")
    objectives: list[FreeText] = []
    kpis: list[Kpi] = []
    initiatives: list[Initiative] = []
    budget: Items[BudgetItem] = []
    risks: list[Risk] = []
    reviews: list[Review] = []

    @property
    def currency(self) -> str | None:
        return self.budget_currency

    @model_validator(mode="before")
    @classmethod
    def _contract_currency(cls, data: Any) -> Any:
        """A budget is in the plan's ``currency``, else in its contract's."""
        if not isinstance(data, dict) or data.get("currency"):
            return data
        contract = data.get("contract")
        currency = contract.get("currency") if isinstance(contract, dict) else None
        if currency or data.get("budget"):
            # An empty currency makes the currency field report "required".
            return {**data, "currency": currency or ""}
        return data


def title(plan: Plan) -> Localized:
    return _l(PLAN_TYPES[plan.plan_type])


def subject(plan: Plan) -> Localized:
    return period_text(plan.period)


def period_text(period: str) -> Localized:
    """A plan period in words: ``FY2027`` → 2027财年, ``2027-Q1`` → Quý 1/2027, ``2027-03`` → March 2027."""
    if match := _FISCAL_YEAR.fullmatch(period):
        return _l("FY%(year)s", year=match[1])
    if match := _QUARTER.fullmatch(period):
        return _l("Q%(quarter)s %(year)s", quarter=match[2], year=match[1])
    if match := _MONTH.fullmatch(period):
        return lambda lang: format_month(int(match[1]), int(match[2]), lang.code)
    return lambda lang: period


KPI_COLUMNS = (
    Column(_l("KPI"), lambda kpi, lang: kpi.name(lang), weight=5, per_language=True),
    Column(_l("Baseline"), lambda kpi, lang: _optional(kpi.baseline, lang), weight=1.3, numeric=True),
    Column(_l("Target"), lambda kpi, lang: kpi.target(lang), weight=1.3, numeric=True),
    Column(_l("Unit"), lambda kpi, lang: _optional(kpi.unit, lang), weight=1.2),
)
INITIATIVE_COLUMNS = (
    Column(_l("Initiative"), lambda item, lang: item.title(lang), weight=5, per_language=True),
    Column(_l("Owner"), lambda item, lang: item.owner(lang), weight=1.5, whole=True),
    Column(_l("Due"), lambda item, lang: "" if item.due is None else lang.short_date(item.due), weight=2, numeric=True),
    Column(_l("Status"), lambda item, lang: _optional(item.status, lang), weight=1.3),
)
BUDGET_COLUMNS = (
    Column(_l("Item"), lambda item, lang: item.item(lang), weight=6, per_language=True),
    Column(common.in_currency(_l("Amount")), lambda item, lang: lang.amount(item.amount), weight=2, numeric=True),
)
RISK_COLUMNS = (
    Column(_l("Risk"), lambda risk, lang: risk.risk(lang), weight=4.5, per_language=True),
    Column(_l("Mitigation"), lambda risk, lang: risk.mitigation(lang), weight=4.5, per_language=True),
    Column(_l("Owner"), lambda risk, lang: _optional(risk.owner, lang), weight=1.5, whole=True),
)
REVIEW_COLUMNS = (
    Column(_l("Reviewer"), lambda review, lang: review.reviewer(lang), weight=1.5, whole=True),
    Column(_l("Decision"), lambda review, lang: lang.gettext(DECISIONS[review.decision]), weight=1.4),
    Column(_l("Comment"), lambda review, lang: _optional(review.body, lang), weight=4.5, per_language=True),
    Column(_l("Date"), lambda review, lang: lang.short_date(_local_day(review.at, lang)), weight=2, numeric=True),
)


def build(layout: Layout, plan: Plan) -> None:
    common.place_and_date(layout, plan)
    layout.title(title(plan), period_text(plan.period))
    layout.fields(
        [
            Field(_l("Document number"), common.code(plan.number)),
            Field(_l("Date"), lambda lang: lang.date(plan.date)),
            Field(common.client_role(contract=False), plan.client.name),
            Field(common.provider_role(contract=False), plan.provider.name),
        ]
    )
    if plan.objectives:
        layout.heading(_l("Objectives"))
        layout.numbered(plan.objectives)
    _table_section(layout, _l("KPIs"), KPI_COLUMNS, plan.kpis)
    _table_section(layout, _l("Initiatives"), INITIATIVE_COLUMNS, plan.initiatives)
    if plan.budget:
        layout.heading(_l("Budget"))
        common.priced_table(layout, BUDGET_COLUMNS, plan.budget, _l("Total"))
    _table_section(layout, _l("Risks and mitigations"), RISK_COLUMNS, plan.risks)
    _table_section(layout, _l("Reviews"), REVIEW_COLUMNS, plan.reviews)
    common.closing(layout, plan, contract=False)
    layout.heading(_l("Sign off"))
    common.signatures(layout, plan, contract=False)


def _table_section(layout: Layout, heading: Localized, columns: Sequence[Column], rows: Sequence[Any]) -> None:
    if rows:
        layout.heading(heading)
        layout.table(columns, rows, numbered=True)


def _optional(value: Localized | None, lang: Lang) -> str:
    return "" if value is None else value(lang)


def _local_day(moment: datetime, lang: Lang) -> date:
    return moment.astimezone(lang.zone).date()


KIND = common.Kind(name="plan", model=Plan, title=title, subject=subject, build=build, contract=False)

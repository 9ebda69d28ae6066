"""Management report of the portfolio: every account's month (or quarter) side by side,
the worst first as the portal orders them, the totals per currency and the adverse
variances raised (and those back within bounds, until acknowledged).

The figures come computed (the portal's portfolio): the document lays them out. Amounts
of different currencies are never added together: each currency has its own total row.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Literal

from docgen.i18n import N_, Lang, Localized, _l
from docgen.kinds import common
from docgen.kinds.plan import period_text
from docgen.layout import Column, Field, Layout
from docgen.schema import Amount, Code, Currency, DocumentInput, Record

RAG = {"red": N_("Red"), "amber": N_("Amber"), "green": N_("Green"), "none": N_("No data")}
ALERT_KINDS = {
    "kpi_red": N_("a KPI red two months running"),
    "dso_over_terms": N_("DSO over the payment terms"),
    "revenue_under_acv": N_("revenue under 90 per cent of the ACV pro rata"),
    "csat_low": N_("CSAT under 3"),
}


class CurrencyAmount(Record):
    currency: Currency
    amount: Amount


class AccountFigures(Record):
    name: Code
    currency: Currency
    rag: Literal["red", "amber", "green", "none"]
    kpis_met: Decimal | None = None  # a ratio, 0 to 1
    csat: Decimal | None = None  # average rating out of 5
    open_requests: int = 0
    overdue_requests: int = 0
    escalations: int = 0
    overdue_actions: int = 0
    dso: Decimal | None = None
    overdue: Amount = Decimal(0)
    # Overdue in other currencies than the account's (its contract's), each on a line of
    # its own under ``overdue``: in no share, added to nothing.
    overdue_elsewhere: list[CurrencyAmount] = []
    billed: Amount | None = None
    expected: Amount | None = None  # the ACV pro rata
    contracts_ending: int = 0
    pending_decisions: int = 0


class CurrencyTotal(Record):
    currency: Currency
    accounts: int
    # None (shown as a dash) for a currency no account's contract is in: only what is
    # overdue in it (``AccountFigures.overdue_elsewhere``).
    acv: Amount | None = Decimal(0)
    billed: Amount | None = Decimal(0)
    expected: Amount | None = Decimal(0)
    overdue: Amount = Decimal(0)


class AlertLine(Record):
    account: Code
    kind: Literal["kpi_red", "dso_over_terms", "revenue_under_acv", "csat_low"]
    period: Code  # YYYY-MM
    cleared: bool = False  # the condition no longer holds; not yet acknowledged


class PortfolioReport(DocumentInput):
    kind: Literal["portfolio_report"]
    period: Code  # "2026-06" or "2026-Q2"
    accounts: list[AccountFigures] = []
    totals: list[CurrencyTotal] = []
    alerts: list[AlertLine] = []


def title(document: PortfolioReport) -> Localized:
    return _l("Portfolio report")


def subject(document: PortfolioReport) -> Localized:
    return _l("Portfolio report for %(period)s", period=period_text(document.period))


def in_currency(lang: Lang, currency: str) -> Lang:
    return dataclasses.replace(lang, currency=currency)


def _money(value, currency: str, lang: Lang) -> str:
    return "—" if value is None else in_currency(lang, currency).money(value)


def _percent(value: Decimal | None, lang: Lang) -> str:
    return "—" if value is None else f"{lang.number((value * 100).quantize(Decimal('0.1')))} %"


def _number(value, lang: Lang) -> str:
    return "—" if value is None else lang.number(Decimal(value))


def _money_column(label: str, field: str, weight: float = 26) -> Column:
    """An amount of the row's own currency (each row has its one)."""
    return Column(_l(label), lambda row, lang: _money(getattr(row, field), row.currency, lang), weight=weight,
                  numeric=True)


def _count_column(label: str, field: str, weight: float = 16) -> Column:
    return Column(_l(label), lambda row, lang: _number(getattr(row, field), lang), weight=weight, numeric=True)


MONEY_COLUMNS = (
    Column(_l("Account"), lambda row, lang: row.name, weight=34),
    _count_column(N_("DSO"), "dso", 14),
    Column(_l("Overdue amount"), lambda row, lang: "\n".join(
        [_money(row.overdue, row.currency, lang), *(_money(other.amount, other.currency, lang)
                                                      for other in row.overdue_elsewhere)]), weight=26, numeric=True),
    _money_column(N_("Billed to date"), "billed"),
    _money_column(N_("ACV pro rata"), "expected"),
    _count_column(N_("Contracts ending within 90 days"), "contracts_ending", 18),
    _count_column(N_("Pending decisions"), "pending_decisions", 18),
)

TOTAL_COLUMNS = (
    Column(_l("Currency"), lambda row, lang: row.currency, weight=16),
    _count_column(N_("Accounts"), "accounts", 14),
    *(_money_column(label, field, 28) for label, field in ((N_("ACV"), "acv"), (N_("Billed to date"), "billed"),
                                                          (N_("ACV pro rata"), "expected"),
                                                          (N_("Overdue amount"), "overdue"))),
)

SERVICE_COLUMNS = (
    Column(_l("Account"), lambda row, lang: row.name, weight=40),
    Column(_l("RAG"), lambda row, lang: lang.gettext(RAG[row.rag]), weight=16),
    Column(_l("KPIs met"), lambda row, lang: _percent(row.kpis_met, lang), weight=16, numeric=True),
    *(_count_column(label, field) for label, field in (
        (N_("CSAT"), "csat"), (N_("Open requests"), "open_requests"), (N_("Overdue requests"), "overdue_requests"),
        (N_("Escalations"), "escalations"), (N_("Overdue actions"), "overdue_actions"))),
)


ALERT_COLUMNS = (
    Column(_l("Account"), lambda row, lang: row.account, weight=40),
    Column(_l("Month"), lambda row, lang: period_text(row.period)(lang), weight=16, numeric=True),
    Column(_l("Variance"), lambda row, lang: _variance(row, lang), weight=60),
)


def _variance(row: AlertLine, lang: Lang) -> str:
    text = lang.gettext(ALERT_KINDS[row.kind])
    return _l("%(variance)s (back within bounds)", variance=text)(lang) if row.cleared else text


def build(layout: Layout, document: PortfolioReport) -> None:
    layout.title(title(document), _l("No. %(number)s", number=document.number))
    layout.fields([Field(_l("Period"), period_text(document.period)),
                   Field(_l("Date"), lambda lang: lang.date(document.date))])
    if not document.accounts:
        layout.paragraph(_l("No accounts match these filters."))
        return
    layout.paragraph(_l("The worst first: a red month, then amber, then green; then the larger overdue amount as a "
                        "share of the ACV; then more overdue requests and actions. Amounts in different currencies "
                        "are never added."))
    layout.heading(_l("Service delivery"))
    layout.table(SERVICE_COLUMNS, document.accounts)
    layout.heading(_l("Money and decisions"))
    layout.table(MONEY_COLUMNS, document.accounts)
    layout.heading(_l("Totals per currency"))
    layout.table(TOTAL_COLUMNS, document.totals)
    layout.heading(_l("Adverse variances"))
    if document.alerts:
        layout.table(ALERT_COLUMNS, document.alerts)
    else:
        layout.paragraph(_l("No adverse variance waits to be acknowledged."))


KIND = common.Kind(name="portfolio_report", model=PortfolioReport, title=title, subject=subject, build=build,
                   contract=False)

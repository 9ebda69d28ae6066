"""The portfolio page: the admin's accounts (all) and an account manager's (theirs),
the worst first, with its export and chart."""

from __future__ import annotations

import hashlib
from datetime import date

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from docgen.formatting import quantize_money
from portal import charts
from portal.exports import table_response
from portal.extensions import db
from portal.files import DOCX, download_response
from portal.i18n import country, current_language, label, month
from portal.portfolio import report as reports
from portal.kpis.service import parse_period, previous_month
from portal.jobs import enqueue, job_json, visible_job
from portal.models import PortfolioAlert, Role, Tier, User
from portal.models.base import utcnow
from portal.portfolio import service
from portal.security import get_or_404, require_role
from portal.web import Blueprint

bp = Blueprint("portfolio", __name__)

VIEWERS = (Role.ACCOUNT_MANAGER, Role.ADMIN)
FILTERS = ("period", "manager", "tier", "country", "sort")


def _period() -> date:
    """The month asked for, else last month (as the scorecards: actuals come in on the 5th)."""
    raw = request.args.get("period")
    if raw:
        period = parse_period(raw)
        if period is None:
            abort(404)
        return period
    return previous_month(utcnow().date().replace(day=1))


def _asked() -> tuple[date, service.Filters, str]:
    tier = request.args.get("tier") or None
    sort = request.args.get("sort", "worst")
    return _period(), service.Filters(
        manager_id=request.args.get("manager", type=int),
        tier=tier if tier in {t.value for t in Tier} else None,
        country=(request.args.get("country") or "").strip().upper()[:2] or None,
    ), sort if sort in service.SORTS else "worst"


def _percent(value) -> float | None:
    return float(value * 100) if value is not None else None


CHARTS = ("shares", "dso")  # the shares of the ACV and of KPIs met; DSO against the terms, in days


def _chart(result: service.Portfolio, which: str = "shares") -> charts.Chart:
    names = [row.account.name for row in result.rows]
    if which == "dso":
        return charts.Chart.bars_and_lines(
            0, names, (_("DSO"), [row.dso.value if row.dso else None for row in result.rows]),
            [(_("Payment terms (days)"), [row.payment_terms for row in result.rows])],
            title=_("DSO against the payment terms, the worst first"), y_label=_("days"))
    return charts.Chart.bars_and_lines(
        0, names,
        (_("Overdue, share of the ACV"), [_percent(row.overdue_share) for row in result.rows]),
        [(_("KPIs met"), [_percent(row.kpis_met) for row in result.rows]),
         (_("Billed against the ACV pro rata"), [_percent(row.revenue_ratio) for row in result.rows])],
        title=_("Accounts, the worst first"), y_label="%")


def _chart_name(which: str = "shares") -> str:
    """The user's own name for a chart of these filters: a chart of one user's
    accounts is never served to another."""
    asked = "&".join(f"{key}={request.args.get(key, '')}" for key in FILTERS)
    return f"portfolio-{which}-{current_user.id}-{hashlib.sha256(asked.encode()).hexdigest()[:12]}"


def _export(result: service.Portfolio, fmt: str):
    header = [_("Account"), _("Tier"), _("Account managers"), _("Currency"), _("RAG"), _("KPIs met"), _("CSAT"),
              _("CSAT last month"), _("Open requests"), _("Overdue requests"), _("Escalations"), _("Overdue actions"),
              _("DSO"), _("Payment terms (days)"), _("Overdue amount"), _("Overdue in other currencies"), _("ACV"),
              _("Billed to date"),
              _("ACV pro rata"), _("Contracts ending within 90 days"), _("Pending decisions")]
    rows = [[row.account.name, label("tier", row.account.tier), ", ".join(row.managers), row.currency,
             label("rag", row.rag), row.kpis_met, row.csat, row.csat_before, row.open_requests, row.overdue_requests,
             row.escalations, row.overdue_actions, row.dso.value if row.dso else None, row.payment_terms,
             row.overdue_amount, "; ".join(f"{quantize_money(owed, currency)} {currency}"
                                        for currency, owed in sorted(row.overdue_elsewhere.items())),
             row.revenue.acv if row.revenue else None, row.revenue.billed if row.revenue else None,
             row.revenue.expected if row.revenue else None,
             ", ".join(f"{c.number} ({c.end_date:%Y-%m-%d})" for c in row.contracts_ending), row.pending_decisions]
            for row in result.rows]
    return table_response(fmt, f"portfolio-{result.period:%Y-%m}", header, rows)


@bp.route("/portfolio")
@require_role(*VIEWERS)
def index():
    period, filters, sort = _asked()
    result = service.portfolio(db.session, period, filters, sort)
    fmt = request.args.get("format")
    if fmt:
        return _export(result, fmt)
    managers = db.session.execute(sa.select(User.id, User.name).where(User.role == Role.ACCOUNT_MANAGER)
                                  .order_by(User.name)).all()
    args = _kept_args()
    versions = ({which: charts.offer(_chart_name(which), _chart(result, which)) for which in CHARTS}
                if result.rows else {})
    # Offered by name in the reader's language; one asked for that no account is served
    # in (a kept link) stays chosen.
    offered = result.countries | {filters.country} - {None}
    countries = sorted(((code, country(code)) for code in offered), key=lambda pair: pair[1])
    job = visible_job(db.session, current_user, request.args.get("job", ""))
    if job is not None and job.kind != "report_pdf":
        job = None
    return render_template("portfolio/index.html", result=result, args=args, sort=sort, managers=managers,
                           job=job, job_status=job_json(job) if job else None,
                           job_period=_period_shown(str(job.params.get("data", {}).get("period", ""))) if job else None,
                           countries=countries, chosen_country=filters.country,
                           alerts=service.open_alerts(db.session), quarter=reports.quarter_of(period),
                           quarter_shown=_period_shown(reports.quarter_of(period)),
                           can_acknowledge=current_user.role is Role.ADMIN,
                           tiers=list(Tier), chart_versions=versions, previous=previous_month(period),
                           following=service.next_month(period))


@bp.route("/portfolio/chart.svg")
@require_role(*VIEWERS)
def chart():
    """A portfolio chart (``?chart=``) for the page's filters, drawn once per version (``?v=``)."""
    which = request.args.get("chart", "shares")
    if which not in CHARTS:
        abort(404)
    period, filters, sort = _asked()
    return charts.serve(_chart_name(which), 0,
                        lambda: _chart(service.portfolio(db.session, period, filters, sort), which))


@bp.route("/portfolio/alerts/<int:alert_id>/acknowledge", methods=["POST"], back="portfolio.index")
@require_role(Role.ADMIN)
def acknowledge_alert(alert_id: int):
    alert = get_or_404(db.session, PortfolioAlert, alert_id)
    service.acknowledge(db.session, alert, current_user)
    flash(_("Alert acknowledged."), "success")
    return redirect(url_for("portfolio.index", **_kept_args()))


@bp.route("/portfolio/alerts/check", methods=["POST"], back="portfolio.index")
@require_role(Role.ADMIN)
def check_alerts():
    """Check the month's adverse variances now (the daily job does it for last month)."""
    period = _period()
    enqueue(db.session, "portfolio_alerts", by=current_user, period=f"{period:%Y-%m}")
    flash(_("The alerts of %(month)s are being checked: reload the page in a moment.", month=month(period)), "success")
    return redirect(url_for("portfolio.index", period=f"{period:%Y-%m}"))


@bp.route("/portfolio/report")
@require_role(*VIEWERS)
def report():
    """The management report of the month (or of ``?quarter=YYYY-Qn``: its months
    together, the money as of its end or today) in the reader's language, as Word
    (``?format=docx``); its PDF is ``report_pdf``."""
    if request.args.get("format") != "docx":
        abort(404)
    data, name = _report_input()
    return download_response(f"{name}.docx", DOCX, reports.render_report(data))


@bp.route("/portfolio/report/pdf", methods=["POST"], back="portfolio.index")
@require_role(*VIEWERS)
def report_pdf():
    """The same report as PDF, made in the background (LibreOffice takes seconds): the
    portfolio page shows its progress, then the link to it, which only its asker opens.
    The figures are those of the click, in the reader's language."""
    data, name = _report_input()
    job = enqueue(db.session, "report_pdf", by=current_user, data=data, filename=name)
    flash(_("The management report %(period)s is being made as PDF.", period=_period_shown(data["period"])), "info")
    return redirect(url_for("portfolio.index", **_kept_args(), job=job.id))


def _report_input() -> tuple[dict, str]:
    """docgen's input of the report asked for (the page's filters; ``quarter``) and its
    file's name without the extension."""
    period, filters, sort = _asked()
    label_, months = f"{period:%Y-%m}", 1
    quarter = request.args.get("quarter", "")
    if quarter:
        period, months = reports.parse_quarter(quarter), 3
        if period is None:
            abort(404)
        label_ = reports.quarter_of(period)
    result = service.portfolio(db.session, period, filters, sort, months=months)
    data = reports.report_data(result, service.open_alerts(db.session), current_user, language=current_language(),
                               period_label=label_, today=utcnow().date())
    return data, f"portfolio-report-{label_}"


def _period_shown(label_: str) -> str:
    """A report's period as the page names it in the reader's language: November 2026,
    Q4 2026 (2026年第4季度, Quý 4/2026)."""
    month_ = parse_period(label_)
    if month_ is not None:
        return month(month_)
    quarter = reports.parse_quarter(label_)
    if quarter is not None:  # the words of docgen's quarters (plans), in the catalogs both share
        return _("Q%(quarter)s %(year)s", quarter=(quarter.month - 1) // 3 + 1, year=quarter.year)
    return label_


def _kept_args() -> dict[str, str]:
    return {key: request.args[key] for key in FILTERS if request.args.get(key)}

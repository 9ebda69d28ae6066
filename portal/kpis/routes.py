"""The scorecard pages: a month's KPIs, trends, the client's acknowledgement and
comments, and the monthly review pack."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from docgen.formatting import plain_decimal
from portal import charts
from portal.extensions import db
from portal.forms import choices, fill_texts, texts
from portal.i18n import localized, month as month_name
from portal.jobs import job_json, visible_job
from portal.credits import service as credits
from portal.kpis import service
from portal.kpis.forms import KpiDefinitionForm
from portal.accounts import client_users, visible_accounts
from portal.models import Account, Contract, Kpi, KpiDirection, Role
from portal.security import ISSUERS, get_or_404, require_role
from portal.web import Blueprint, keep_form

bp = Blueprint("scorecards", __name__)

COMMENTERS = (Role.CLIENT_VIEWER, Role.CLIENT_APPROVER, Role.ACCOUNT_MANAGER, Role.ADMIN)


def _period(account: Account) -> date:
    """The month asked for, else last month (this month's actuals come in on the 5th)."""
    raw = request.args.get("period")
    if raw:
        period = service.parse_period(raw)
        if period is None:
            abort(404)
        return period
    return service.previous_month(account.today().replace(day=1))


@bp.route("/scorecards")
def index():
    accounts = visible_accounts(db.session)
    if len(accounts) == 1:
        return redirect(url_for("scorecards.show", account_id=accounts[0].id))
    cards = [service.scorecard(db.session, a, _period(a)) for a in accounts]
    return render_template("scorecards/index.html", cards=cards)


@bp.route("/scorecards/<int:account_id>")
def show(account_id: int):
    account = get_or_404(db.session, Account, account_id)
    period = _period(account)
    card = service.scorecard(db.session, account, period)
    trend = service.trend(db.session, account, period)
    # The trend is computed once, here: its charts are offered to their image requests.
    versions = {None: charts.offer(_chart_name(period, None), _overall_chart(account, trend))}
    for row in card.rows:
        if row.kpi.id in trend.per_kpi:
            versions[row.kpi.id] = charts.offer(_chart_name(period, row.kpi.id), _kpi_chart(account, trend, row.kpi))
    job = visible_job(db.session, current_user, request.args.get("job", ""))
    if job is not None and (job.kind != "review_pack" or job.account_id != account.id):
        job = None
    return render_template(
        "scorecards/show.html", account=account, card=card, trend=trend, period=period, chart_versions=versions,
        job=job, job_status=job_json(job) if job else None,
        previous=service.previous_month(period), following=_following(db.session, account, period),
        measured=bool(card.measured), acknowledgement=service.acknowledgement(db.session, account, period),
        threads=service.comments(db.session, account, period), bar=service.MET_BAR,
        can_comment=current_user.role in COMMENTERS, can_act=current_user.role in ISSUERS,
        acknowledgers=[] if current_user.is_client else client_users(db.session, account),
        credits={c.kpi_id: c for c in credits.credits_for(db.session, account_id=account.id, period=period)},
    )


def _following(session, account: Account, period: date) -> date | None:
    """The next month, while there is one with figures: the links stop at the last."""
    following = (period.replace(day=28) + timedelta(days=4)).replace(day=1)
    last = service.last_measured_month(session, account)
    return following if last is not None and following <= last else None


def _chart_name(period: date, kpi_id: int | None) -> str:
    return f"trend-{period:%Y-%m}-{kpi_id or 'overall'}"


def _percent(values) -> list:
    return [v * 100 if v is not None else None for v in values]


def _overall_chart(account: Account, trend: service.Trend) -> charts.Chart:
    return charts.Chart.line(
        account.id, [f"{m:%Y-%m}" for m in trend.months],
        [(_("Overall attainment"), _percent(trend.overall)), (_("KPIs met"), _percent(trend.met_ratio))],
        title=_("Overall attainment and share of KPIs met"), y_label="%", target=float(service.MET_BAR * 100),
        target_label=_("85 % bar"))


def _kpi_chart(account: Account, trend: service.Trend, kpi: Kpi) -> charts.Chart:
    return charts.Chart.line(
        account.id, [f"{m:%Y-%m}" for m in trend.months], [(localized(kpi.name), _percent(trend.per_kpi[kpi.id]))],
        title=_("Attainment of %(kpi)s", kpi=localized(kpi.name)), y_label="%", target=100, target_label=_("Target"))


@bp.route("/scorecards/<int:account_id>/trend.svg")
def trend_chart(account_id: int):
    """The 12-month trend of one KPI (``?kpi=``) or of the overall attainment: drawn
    once per version of its data (``?v=``, as the scorecard page links it)."""
    account = get_or_404(db.session, Account, account_id)
    period = _period(account)
    kpi_id = request.args.get("kpi", type=int)

    def compute() -> charts.Chart:
        trend = service.trend(db.session, account, period)
        if kpi_id is None:
            return _overall_chart(account, trend)
        kpi = get_or_404(db.session, Kpi, kpi_id)
        if kpi.id not in trend.per_kpi:
            abort(404)
        return _kpi_chart(account, trend, kpi)

    return charts.serve(_chart_name(period, kpi_id), account.id, compute)


@bp.route("/scorecards/<int:account_id>/acknowledge", methods=["POST"], back="scorecards.show")
@require_role(Role.CLIENT_VIEWER, Role.CLIENT_APPROVER)
def acknowledge(account_id: int):
    account = get_or_404(db.session, Account, account_id)
    period = _period(account)
    service.acknowledge(db.session, account, current_user, period)
    flash(_("Thank you: the scorecard for %(month)s is acknowledged.", month=month_name(period)), "success")
    return redirect(url_for("scorecards.show", account_id=account.id, period=f"{period:%Y-%m}"))


@bp.route("/scorecards/<int:account_id>/kpis/<int:kpi_id>/comments", methods=["POST"], back="scorecards.show")
@require_role(*COMMENTERS)
def comment(account_id: int, kpi_id: int):
    account = get_or_404(db.session, Account, account_id)
    kpi = get_or_404(db.session, Kpi, kpi_id)
    if kpi.account_id != account.id:
        abort(404)
    period = _period(account)
    service.add_comment(db.session, account, kpi, current_user, period, request.form.get("body", "")[:5000])
    flash(_("Your comment is added."), "success")
    return redirect(url_for("scorecards.show", account_id=account.id, period=f"{period:%Y-%m}", _anchor=f"kpi-{kpi.id}"))


@bp.route("/scorecards/<int:account_id>/review-pack", methods=["POST"], back="scorecards.show")
@require_role(*ISSUERS)
def review_pack(account_id: int):
    """One click: the month's review pack in the account's document languages, made in
    the background; the scorecard shows its progress, then the link to it."""
    from portal.kpis.review_pack import ask_for

    account = get_or_404(db.session, Account, account_id)
    period = _period(account)
    job = ask_for(db.session, account, period, current_user)
    flash(_("The review pack for %(month)s is being made.", month=month_name(period)), "info")
    return redirect(url_for("scorecards.show", account_id=account.id, period=f"{period:%Y-%m}", job=job.id))


# --- KPI definitions (the firm) -------------------------------------------------------


def _definition(form: KpiDefinitionForm) -> service.KpiDefinition:
    return service.KpiDefinition(
        code=form.code.data or "", name=texts(form, "name"),
        unit=form.unit.data or "", target=form.target.data, direction=KpiDirection(form.direction.data),
        weight=form.weight.data, amber_tolerance=form.amber_tolerance.data / 100, is_sla=form.is_sla.data,
        service_credit_percent=form.service_credit_percent.data,
        credit_scope_line_ids=list(form.credit_scope_lines.data or []),
        credit_caps=(form.credit_cap_month_percent.data, form.credit_cap_year_percent.data),
    )


def _credit_fields(form: KpiDefinitionForm, contract: Contract) -> None:
    """The contract's lines to choose from; on a first showing, the contract's caps."""
    form.credit_scope_lines.choices = choices(
        (line.id, f"{localized(line.service)} · {line.unit}") for line in contract.active_scope_lines)
    if request.method == "GET":
        form.credit_cap_month_percent.data = plain_decimal(contract.credit_cap_month_percent)
        form.credit_cap_year_percent.data = plain_decimal(contract.credit_cap_year_percent)


def _save_kpi(form: KpiDefinitionForm, contract: Contract, kpi: Kpi | None):
    """Save on a valid post and go back to the account; else the form with its errors."""
    _credit_fields(form, contract)
    page = keep_form(form, lambda: render_template("scorecards/kpi_form.html", form=form, contract=contract, kpi=kpi,
                                                   account=get_or_404(db.session, Account, contract.account_id)))
    if form.validate_on_submit():
        saved = service.save_kpi(db.session, contract, current_user, _definition(form), kpi)
        flash(_("KPI %(code)s saved.", code=saved.code), "success")
        return redirect(url_for("main.account", account_id=contract.account_id, _anchor="kpis"))
    return page()


@bp.route("/contracts/<int:contract_id>/kpis/new", methods=["GET", "POST"])
@require_role(*ISSUERS)
def new_kpi(contract_id: int):
    contract = get_or_404(db.session, Contract, contract_id)
    return _save_kpi(KpiDefinitionForm(), contract, None)


@bp.route("/kpis/<int:kpi_id>/edit", methods=["GET", "POST"])
@require_role(*ISSUERS)
def edit_kpi(kpi_id: int):
    kpi = get_or_404(db.session, Kpi, kpi_id)
    contract = get_or_404(db.session, Contract, kpi.contract_id)
    form = KpiDefinitionForm()
    if request.method == "GET":
        # The form shows the figures as stored (the tolerance in percent), written plainly.
        form.code.data, form.unit.data, form.target.data = kpi.code, kpi.unit, plain_decimal(kpi.target)
        fill_texts(form, "name", kpi.name)
        form.direction.data, form.weight.data, form.is_sla.data = kpi.direction.value, plain_decimal(kpi.weight), kpi.is_sla
        form.amber_tolerance.data = plain_decimal(kpi.amber_tolerance * 100)
        form.service_credit_percent.data = plain_decimal(kpi.service_credit_percent)
        form.credit_scope_lines.data = list(kpi.credit_scope_line_ids or [])
    return _save_kpi(form, contract, kpi)

"""The pipeline's pages (the firm's only): the opportunities of an account or of all,
the weighted pipeline per account manager and quarter with its chart, an opportunity
with its lines, its stage, its quotation and the change request a won one becomes."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from docgen.i18n import LANGUAGES
from portal import charts
from portal.accounts import current_contract, visible_accounts
from portal.change_requests.forms import default_languages, language_options
from portal.extensions import db
from portal.forms import choices, fill_texts, texts
from portal.i18n import LABELS
from portal.models import (
    Account,
    Contract,
    Document,
    Opportunity,
    OpportunitySource,
    OpportunityStage,
    Plan,
    ServiceRequest,
    User,
)
from portal.pipeline import service
from portal.pipeline.pages import READERS
from portal.plans.labels import plan_name
from portal.pipeline.forms import (
    ChangeRequestDraftForm,
    FromRequestForm,
    OpportunityForm,
    OpportunityLineForm,
    QuotationForm,
    StageForm,
)
from portal.pipeline.quotations import issue_quotation
from portal.security import ISSUERS, get_or_404, require_role
from portal.web import Blueprint, keep_form

bp = Blueprint("pipeline", __name__)



def _load(opportunity_id: int) -> tuple[Opportunity, Account]:
    opportunity = get_or_404(db.session, Opportunity, opportunity_id)
    return opportunity, get_or_404(db.session, Account, opportunity.account_id)


def _detail(opportunity: Opportunity):
    return redirect(url_for("pipeline.detail", opportunity_id=opportunity.id))


def _filters() -> dict:
    """The list's filters from the query string (an unknown stage is no stage)."""
    stage = request.args.get("stage") or None
    return {"account_id": request.args.get("account", type=int), "owner_id": request.args.get("owner", type=int),
            "stage": OpportunityStage(stage) if stage in {s.value for s in OpportunityStage} else None}


def _chart_name(filters: dict, currency: str) -> str:
    # The pipeline sums every account the reader sees: the chart is the reader's own.
    return f"pipeline:{current_user.id}:{filters['account_id']}:{filters['owner_id']}:{currency}"


def _chart(figures: service.Pipeline, currency: str) -> charts.Chart:
    """Per quarter of expected close, the weighted pipeline (bars) and its full value (line)."""
    quarters = figures.quarters_in(currency)
    totals = [figures.totals[(q, currency)] for q in quarters]
    return charts.Chart.bars_and_lines(
        0, [q or _("No date") for q in quarters], (_("Weighted by probability"), [t.weighted for t in totals]),
        [(_("Full value"), [t.value for t in totals])], y_label=currency)


@bp.route("/pipeline")
@require_role(*READERS)
def index():
    """Every opportunity the user sees, filtered, and the weighted pipeline with a chart
    per currency (its numbers in the table beside it)."""
    filters = _filters()
    opportunities = service.opportunities_for(db.session, **filters)
    figures = service.pipeline(db.session, account_id=filters["account_id"], owner_id=filters["owner_id"])
    versions = {currency: charts.offer(_chart_name(filters, currency), _chart(figures, currency))
                for currency in figures.currencies}
    accounts = visible_accounts(db.session)
    owners = sorted({o.owner for o in opportunities if o.owner} | {u for u in _owners()}, key=lambda u: u.name)
    return render_template("pipeline/index.html", opportunities=opportunities, figures=figures, versions=versions,
                           accounts=accounts, names={a.id: a.name for a in accounts}, owners=owners,
                           filters=filters, stages=list(OpportunityStage), can_issue=current_user.role in ISSUERS)


@bp.route("/accounts/<int:account_id>/pipeline")
@require_role(*READERS)
def account(account_id: int):
    account = get_or_404(db.session, Account, account_id)
    return redirect(url_for("pipeline.index", account=account.id))


@bp.route("/pipeline/chart.svg")
@require_role(*READERS)
def chart():
    """The pipeline's chart in one currency, as the page links it (``?v=``)."""
    filters = _filters()
    currency = (request.args.get("currency") or "")[:3]
    return charts.serve(_chart_name(filters, currency), 0, lambda: _chart(
        service.pipeline(db.session, account_id=filters["account_id"], owner_id=filters["owner_id"]), currency))


def _owners() -> list[User]:
    return list(db.session.scalars(sa.select(User).where(User.role.in_(ISSUERS), User.active).order_by(User.name)))


def _prepare(form: OpportunityForm) -> None:
    form.owner_id.choices = choices([(0, "—"), *((u.id, u.name) for u in _owners())])


def _lines(form: OpportunityForm) -> list[service.LineInput]:
    return [service.LineInput(description=texts(entry.form, "description"), unit=entry.form.unit.data or "",
                              quantity=entry.form.quantity.data or Decimal(0),
                              unit_price=entry.form.unit_price.data or Decimal(0))
            for entry in form.lines if not entry.form.delete.data]


def _round_trip(form: OpportunityForm) -> bool:
    """Without JavaScript, "Add a line" works by posting the form back."""
    if form.add_line.data:
        form.lines.append_entry()
        return True
    return False


def _form_page(form: OpportunityForm, account: Account, opportunity: Opportunity | None = None):
    _prepare(form)
    return render_template("pipeline/form.html", form=form, account=account, opportunity=opportunity,
                           blank=OpportunityLineForm(prefix="lines-__index__-"),
                           languages=account.document_languages or ["en"])


def _owner(form: OpportunityForm) -> User | None:
    return db.session.scalar(sa.select(User).where(User.id == form.owner_id.data)) if form.owner_id.data else None


@bp.route("/opportunities/new", methods=["GET", "POST"])
@require_role(*ISSUERS)
def new():
    """A new opportunity on the account asked for (``?account=``)."""
    account_id = request.args.get("account", type=int)
    if account_id is None:
        accounts = visible_accounts(db.session)
        if not accounts:
            abort(404)
        return redirect(url_for("pipeline.new", account=accounts[0].id))
    account = get_or_404(db.session, Account, account_id)
    form = OpportunityForm()
    if request.method == "GET":
        form.currency.data, form.owner_id.data = account.currency, current_user.id
    plans = db.session.scalars(sa.select(Plan).where(Plan.account_id == account.id)
                               .order_by(Plan.period.desc(), Plan.id.desc()))
    form.source_plan_id.choices = choices([(0, "—"), *((p.id, plan_name(p)) for p in plans)])
    _prepare(form)
    page = keep_form(form, lambda: _form_page(form, account))
    if request.method == "POST" and not _round_trip(form) and form.validate_on_submit():
        opportunity = service.create(
            db.session, account, current_user, title=texts(form, "title"), currency=form.currency.data,
            value=form.value.data, stage=OpportunityStage(form.stage.data), probability=form.probability.data,
            expected_close=form.expected_close.data, source=OpportunitySource(form.source.data),
            source_plan=service.plan_of(db.session, account, form.source_plan_id.data),
            notes=form.notes.data, owner=_owner(form), lines=_lines(form))
        flash(_("The opportunity is saved."), "success")
        return _detail(opportunity)
    return page()


@bp.route("/opportunities/<int:opportunity_id>/edit", methods=["GET", "POST"])
@require_role(*ISSUERS)
def edit(opportunity_id: int):
    opportunity, account = _load(opportunity_id)
    form = OpportunityForm()
    del form.stage, form.source, form.source_plan_id  # moved on the opportunity's page; the source stays as recorded
    if request.method == "GET":
        fill_texts(form, "title", opportunity.title)
        form.currency.data, form.value.data = opportunity.currency, opportunity.value
        form.probability.data, form.expected_close.data = opportunity.probability, opportunity.expected_close
        form.owner_id.data, form.notes.data = opportunity.owner_id or 0, opportunity.notes
        for line in opportunity.lines:
            entry = form.lines.append_entry()
            fill_texts(entry.form, "description", line.description)
            entry.form.unit.data, entry.form.quantity.data, entry.form.unit_price.data = line.unit, line.quantity, line.unit_price
    _prepare(form)
    page = keep_form(form, lambda: _form_page(form, account, opportunity))
    if request.method == "POST" and not _round_trip(form) and form.validate_on_submit():
        service.edit(db.session, opportunity, current_user, title=texts(form, "title"), currency=form.currency.data,
                     value=form.value.data, probability=form.probability.data, expected_close=form.expected_close.data,
                     notes=form.notes.data, owner=_owner(form), lines=_lines(form))
        flash(_("The opportunity is saved."), "success")
        return _detail(opportunity)
    return page()


@bp.route("/opportunities/<int:opportunity_id>")
@require_role(*READERS)
def detail(opportunity_id: int):
    opportunity, account = _load(opportunity_id)
    stage_form = StageForm(stage=opportunity.stage.value, probability=opportunity.probability)
    quotation_form = QuotationForm()
    quotation_form.languages.choices = _quotation_languages(account)
    quotation_form.languages.data = default_languages(account.document_languages)
    cr_form = ChangeRequestDraftForm()
    contracts = [c for c in db.session.scalars(sa.select(Contract).where(Contract.account_id == account.id)
                                               .order_by(Contract.start_date.desc()))
                 if c.currency == opportunity.currency]
    cr_form.contract.choices = choices((c.id, c.number) for c in contracts)
    current = current_contract(db.session, account)
    cr_form.contract.data = current.id if current in contracts else (contracts[0].id if contracts else None)
    quotations = list(db.session.scalars(sa.select(Document).where(Document.opportunity_id == opportunity.id)
                                         .order_by(Document.id.desc())))
    source_request = db.session.scalar(sa.select(ServiceRequest).where(
        ServiceRequest.id == opportunity.source_request_id)) if opportunity.source_request_id else None
    source_plan = db.session.scalar(sa.select(Plan).where(
        Plan.id == opportunity.source_plan_id)) if opportunity.source_plan_id else None
    return render_template("pipeline/detail.html", opportunity=opportunity, account=account, stage_form=stage_form,
                           quotation_form=quotation_form, cr_form=cr_form, quotations=quotations,
                           source_request=source_request, source_plan=source_plan,
                           source_plan_name=plan_name(source_plan) if source_plan else "",
                           can_issue=current_user.role in ISSUERS,
                           open_stages=service.OPEN_STAGES)


@bp.route("/opportunities/<int:opportunity_id>/stage", methods=["POST"], back="pipeline.detail")
@require_role(*ISSUERS)
def move(opportunity_id: int):
    opportunity, _account = _load(opportunity_id)
    form = StageForm()
    if not form.validate_on_submit():
        flash(_("A probability is between 0 and 100 %."), "error")
        return _detail(opportunity)
    service.move_stage(db.session, opportunity, OpportunityStage(form.stage.data), current_user,
                       probability=form.probability.data if form.probability.data != opportunity.probability else None)
    flash(_("Moved to %(stage)s.", stage=LABELS["opportunity_stage"][opportunity.stage.value]), "success")
    return _detail(opportunity)


def _quotation_languages(account: Account) -> list:
    """Any language, or any two side by side, whichever left: a quotation may be for a
    reader outside the account's document languages. The account's own come first, as
    the other documents' issue forms offer them."""
    own = language_options(account.document_languages)
    offered = {choice.value for choice in own}
    return own + [choice for choice in language_options(list(LANGUAGES), either_order=True)
                  if choice.value not in offered]


@bp.route("/opportunities/<int:opportunity_id>/quotation", methods=["POST"], back="pipeline.detail")
@require_role(*ISSUERS)
def quotation(opportunity_id: int):
    opportunity, account = _load(opportunity_id)
    form = QuotationForm()
    form.languages.choices = _quotation_languages(account)
    if not form.validate_on_submit():
        flash(_("Choose the languages of the quotation."), "error")
        return _detail(opportunity)
    document = issue_quotation(db.session, opportunity, account, current_user, valid_until=form.valid_until.data,
                               languages=form.languages.data.split("+"))
    flash(_("Quotation %(number)s is issued.", number=document.number), "success")
    return _detail(opportunity)


@bp.route("/opportunities/<int:opportunity_id>/change-request", methods=["POST"], back="pipeline.detail")
@require_role(*ISSUERS)
def change_request(opportunity_id: int):
    opportunity, _account = _load(opportunity_id)
    form = ChangeRequestDraftForm()
    contract = get_or_404(db.session, Contract, form.contract.data) if form.contract.data else None
    if contract is None:
        flash(_("Choose a contract of the account in the opportunity's currency."), "error")
        return _detail(opportunity)
    cr = service.to_change_request(db.session, opportunity, contract, current_user)
    flash(_("Draft %(number)s saved. Submit it when it is ready for approval.", number=cr.number), "success")
    return redirect(url_for("change_requests.detail", change_request_id=cr.id))


@bp.route("/requests/<int:request_id>/opportunity", methods=["POST"], back="requests.detail")
@require_role(*ISSUERS)
def from_request(request_id: int):
    """A client's scope request made an opportunity (the firm's button on the request)."""
    service_request = get_or_404(db.session, ServiceRequest, request_id)
    account = get_or_404(db.session, Account, service_request.account_id)
    FromRequestForm().validate_on_submit()
    opportunity = service.from_request(db.session, service_request, account, current_user)
    flash(_("The opportunity is saved."), "success")
    return _detail(opportunity)

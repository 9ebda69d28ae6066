"""The service credits pages: the list per account and month, a credit with its
calculation, and finance's decisions (approve, adjusting the amount; waive)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from docgen.formatting import quantize_money
from portal.accounts import visible_accounts
from portal.credits import service
from portal.credits.forms import ApproveCreditForm, ProposeCreditsForm, WaiveCreditForm
from portal.extensions import db
from portal.i18n import month as month_name
from portal.kpis.service import parse_period
from portal.models import Account, ServiceCredit, ServiceCreditStatus
from portal.security import fresh_login_or_redirect, get_or_404, require_role
from portal.web import Blueprint, keep_form

bp = Blueprint("credits", __name__)


@bp.context_processor
def _figures() -> dict:
    """The calculation keeps figures as text (JSON): the page reads them back."""
    return {"to_decimal": Decimal, "to_date": date.fromisoformat}


@bp.route("/service-credits")
def index():
    """The credits the user sees (a client: approved ones), by account and month."""
    accounts = visible_accounts(db.session)
    account_id = request.args.get("account", type=int)
    period = parse_period(request.args.get("period")) if request.args.get("period") else None
    status = request.args.get("status") or None
    if status is not None and status not in {s.value for s in ServiceCreditStatus}:
        abort(404)
    credits = service.credits_for(db.session, account_id=account_id, period=period,
                                  status=ServiceCreditStatus(status) if status else None)
    names = {a.id: a.name for a in accounts}
    return render_template("credits/index.html", credits=credits, accounts=accounts, names=names,
                           account_id=account_id, period=period, status=status, statuses=list(ServiceCreditStatus),
                           propose_form=ProposeCreditsForm(), can_decide=current_user.role in service.DECIDERS)


@bp.route("/service-credits/propose", methods=["POST"], back="credits.index")
@require_role(*service.DECIDERS)
def propose():
    """Compute the month's credits now (the monthly job does it on its own)."""
    form = ProposeCreditsForm()
    period = parse_period(form.period.data) if form.validate_on_submit() else None
    if period is None:
        flash(_("Give the month as YYYY-MM."), "error")
        return redirect(url_for("credits.index"))
    result = service.propose(db.session, period, by=current_user)
    flash(_("%(month)s: %(new)d service credits proposed, %(again)d computed again, %(decided)d already decided.",
            month=month_name(period), new=result.proposed, again=result.recomputed, decided=result.decided), "success")
    return redirect(url_for("credits.index", period=f"{period:%Y-%m}"))


@bp.route("/service-credits/<int:credit_id>")
def detail(credit_id: int):
    credit = get_or_404(db.session, ServiceCredit, credit_id)
    account = get_or_404(db.session, Account, credit.account_id)
    approve_form = ApproveCreditForm()
    if request.method == "GET" and approve_form.amount.data is None:
        approve_form.amount.data = quantize_money(credit.computed_amount, credit.currency)
    return _detail_page(credit, account, approve_form)


def _detail_page(credit: ServiceCredit, account: Account, approve_form: ApproveCreditForm):
    return render_template("credits/detail.html", credit=credit, account=account, approve_form=approve_form,
                           waive_form=WaiveCreditForm(),
                           can_decide=current_user.role in service.DECIDERS
                           and credit.status is ServiceCreditStatus.PROPOSED)


def _needs_fresh_login(credit: ServiceCredit):
    return fresh_login_or_redirect(_("Confirm your password before deciding on a service credit."),
                                   url_for("credits.detail", credit_id=credit.id))


@bp.route("/service-credits/<int:credit_id>/approve", methods=["POST"], back="credits.detail")
@require_role(*service.DECIDERS)
def approve(credit_id: int):
    credit = get_or_404(db.session, ServiceCredit, credit_id)
    account = get_or_404(db.session, Account, credit.account_id)
    stale = _needs_fresh_login(credit)
    if stale:
        return stale
    form = ApproveCreditForm()
    if not form.validate_on_submit():
        flash(_("Enter the amount as a number such as 4200.00."), "error")
        return redirect(url_for("credits.detail", credit_id=credit.id))
    keep_form(form, lambda: _detail_page(credit, account, form))  # refused: the page again, the amount beside its field
    note = service.approve(db.session, credit, account, current_user, amount=form.amount.data,
                           reason=form.reason.data or "")
    flash(_("Approved: credit note %(number)s is issued.", number=note.number), "success")
    return redirect(url_for("credits.detail", credit_id=credit.id))


@bp.route("/service-credits/<int:credit_id>/waive", methods=["POST"], back="credits.detail")
@require_role(*service.DECIDERS)
def waive(credit_id: int):
    credit = get_or_404(db.session, ServiceCredit, credit_id)
    stale = _needs_fresh_login(credit)
    if stale:
        return stale
    form = WaiveCreditForm()
    if not form.validate_on_submit():
        flash(_("Say why the credit is waived."), "error")
        return redirect(url_for("credits.detail", credit_id=credit.id))
    service.waive(db.session, credit, current_user, reason=form.reason.data)
    flash(_("The service credit is waived."), "success")
    return redirect(url_for("credits.detail", credit_id=credit.id))

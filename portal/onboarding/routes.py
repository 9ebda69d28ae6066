"""Pages of onboarding: a new account (the administrator), its details, its contracts
with their scope lines and service locations, and its PO register (the administrator
and the account's account managers)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.forms import choices
from portal.models import Account, Contract, PurchaseOrder, Role
from portal.onboarding import service
from portal.onboarding.forms import (AccountForm, ContractForm, PurchaseOrderForm, ServiceLevelsForm, currency_choices,
                                     details_of, plain)
from portal.onboarding.service import AccountDetails, ContractDetails, PurchaseOrderDetails, can_manage
from portal.security import ISSUERS, get_or_404, require_role
from portal.service_requests.service import PRIORITIES, service_levels
from portal.web import Blueprint, keep_form

bp = Blueprint("onboarding", __name__)


def _managed(account_id: int) -> Account:
    """The account, for a user who manages it: 404 when they may not see it, 403 when
    they see it without managing it."""
    account = get_or_404(db.session, Account, account_id)
    if not can_manage(current_user, account):
        abort(403)
    return account


def _to_account(account: Account, anchor: str | None = None):
    return redirect(url_for("main.account", account_id=account.id, _anchor=anchor))


# --- the account ---------------------------------------------------------------------------


def _account_page(form: AccountForm, account: Account | None):
    return render_template("onboarding/account_form.html", form=form, account=account)


@bp.route("/accounts/new", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def new_account():
    form = AccountForm()
    form.prepare()
    page = keep_form(form, lambda: _account_page(form, None))
    if form.validate_on_submit():
        blank = AccountDetails(name={}, country="", timezone="", currency="")
        account = service.create_account(db.session, current_user, blank.changed(**form.changes()))
        flash(_("The account %(name)s is created. Add its contract and its team next.", name=account.name), "success")
        return _to_account(account)
    return page()


@bp.route("/accounts/<int:account_id>/edit", methods=["GET", "POST"])
@require_role(*ISSUERS)
def edit_account(account_id: int):
    account = _managed(account_id)
    form = AccountForm()
    if request.method == "GET":
        form.fill(AccountDetails.of(account))
    form.prepare(account)
    page = keep_form(form, lambda: _account_page(form, account))
    if form.validate_on_submit():
        service.update_account(db.session, account, current_user, AccountDetails.of(account).changed(**form.changes()))
        flash(_("Changes saved."), "success")
        return _to_account(account)
    return page()


# --- contracts ------------------------------------------------------------------------------


def _contract_of(account: Account, contract_id: int) -> Contract:
    contract = get_or_404(db.session, Contract, contract_id, selectinload(Contract.scope_lines),
                          selectinload(Contract.locations), selectinload(Contract.kpis))
    if contract.account_id != account.id:
        abort(404)
    return contract


def _languages(account: Account, *texts: dict[str, str]) -> list[str]:
    """The languages a contract's texts are typed in: English, the account's document
    languages, and any other the contract already has (so that saving keeps it)."""
    return list(dict.fromkeys(["en", *account.document_languages, *(lang for text in texts for lang in text)]))


def _contract_texts(contract: Contract | None) -> list[dict[str, str]]:
    if contract is None:
        return []
    return [contract.title, contract.governing_law, *(line.service for line in contract.active_scope_lines)]


def _contract_page(form: ContractForm, account: Account, contract: Contract | None):
    template = "onboarding/contract.html" if contract else "onboarding/contract_form.html"
    return render_template(template, form=form, account=account, contract=contract,
                           blank_line=ContractForm.blank_line(), blank_location=ContractForm.blank_location(),
                           languages=_languages(account, *_contract_texts(contract)),
                           manages=can_manage(current_user, account), today=account.today(),
                           levels=service_levels(contract) if contract else [])


@bp.route("/accounts/<int:account_id>/contracts/new", methods=["GET", "POST"])
@require_role(*ISSUERS)
def new_contract(account_id: int):
    account = _managed(account_id)
    form = ContractForm()
    if request.method == "GET":
        form.currency.data = account.currency
        form.lines.append_entry()
        form.locations.append_entry().form.country.data = account.country
    added = request.method == "POST" and form.add_row()
    form.prepare(currency=account.currency)
    page = keep_form(form, lambda: _contract_page(form, account, None))
    if not added and form.validate_on_submit():
        blank = ContractDetails(number="", title={}, start_date=form.start_date.data, end_date=form.end_date.data,
                                currency="")
        contract = service.create_contract(db.session, account, current_user, blank.changed(**form.changes()))
        flash(_("Contract %(number)s is saved.", number=contract.number), "success")
        return redirect(url_for("onboarding.contract", account_id=account.id, contract_id=contract.id))
    return page()


@bp.route("/accounts/<int:account_id>/contracts/<int:contract_id>", methods=["GET", "POST"])
def contract(account_id: int, contract_id: int):
    """The contract, and for its managers the form that edits it (a signed contract's
    scope lines are read-only: a change request changes them)."""
    account = get_or_404(db.session, Account, account_id)
    record = _contract_of(account, contract_id)
    manages = can_manage(current_user, account)
    if request.method == "POST" and not manages:
        abort(403)
    form = ContractForm()
    edits_lines = not record.signed
    if request.method == "GET" and manages:
        form.fill(details_of(record), lines=edits_lines)
    added = request.method == "POST" and form.add_row()
    form.prepare(record)
    page = keep_form(form, lambda: _contract_page(form, account, record))
    if manages and not added and form.validate_on_submit():
        details = details_of(record).changed(**form.changes(lines=edits_lines))
        service.update_contract(db.session, record, account, current_user, details)
        flash(_("Changes saved."), "success")
        return redirect(url_for("onboarding.contract", account_id=account.id, contract_id=record.id))
    return page()


@bp.route("/accounts/<int:account_id>/contracts/<int:contract_id>/service-levels", methods=["GET", "POST"])
@require_role(*ISSUERS)
def edit_service_levels(account_id: int, contract_id: int):
    """The contract's response and resolution targets for each priority."""
    account = _managed(account_id)
    record = _contract_of(account, contract_id)
    form = ServiceLevelsForm()
    if request.method == "GET":
        form.fill(service_levels(record))
    page = keep_form(form, lambda: render_template("onboarding/service_levels_form.html", form=form, account=account,
                                                   contract=record, priorities=PRIORITIES))
    if form.validate_on_submit():
        service.set_service_levels(db.session, record, account, current_user, form.levels())
        flash(_("The service levels are saved: requests opened from now on run on them."), "success")
        return redirect(url_for("onboarding.contract", account_id=account.id, contract_id=record.id,
                                _anchor="service-levels"))
    return page()


# --- purchase orders ------------------------------------------------------------------------


def _po_page(form: PurchaseOrderForm, account: Account, order: PurchaseOrder | None):
    return render_template("onboarding/purchase_order_form.html", form=form, account=account, order=order)


def _po_choices(form: PurchaseOrderForm, account: Account) -> None:
    contracts = db.session.scalars(sa.select(Contract).where(Contract.account_id == account.id)
                                   .order_by(Contract.start_date.desc())).all()
    form.contract.choices = choices([(0, "—")] + [(c.id, c.number) for c in contracts])
    form.currency.choices = currency_choices(form.currency.data or account.currency)


def _po_details(form: PurchaseOrderForm) -> PurchaseOrderDetails:
    return PurchaseOrderDetails(number=form.number.data or "", amount=form.amount.data, currency=form.currency.data or "",
                                issued_on=form.issued_on.data, valid_until=form.valid_until.data,
                                description=form.description.data or "", contract_id=form.contract.data or None)


@bp.route("/accounts/<int:account_id>/purchase-orders/new", methods=["GET", "POST"])
@require_role(*ISSUERS)
def new_purchase_order(account_id: int):
    account = _managed(account_id)
    form = PurchaseOrderForm()
    if request.method == "GET":
        form.currency.data, form.issued_on.data = account.currency, account.today()
    _po_choices(form, account)
    page = keep_form(form, lambda: _po_page(form, account, None))
    if form.validate_on_submit():
        order = service.save_purchase_order(db.session, account, current_user, _po_details(form))
        flash(_("PO %(number)s is added to the register.", number=order.number), "success")
        return _to_account(account, "purchase-orders")
    return page()


@bp.route("/accounts/<int:account_id>/purchase-orders/<int:purchase_order_id>", methods=["GET", "POST"])
@require_role(*ISSUERS)
def edit_purchase_order(account_id: int, purchase_order_id: int):
    account = _managed(account_id)
    order = get_or_404(db.session, PurchaseOrder, purchase_order_id)
    if order.account_id != account.id:
        abort(404)
    form = PurchaseOrderForm()
    if request.method == "GET":
        for name in ("number", "description", "currency", "issued_on", "valid_until"):
            form[name].data = getattr(order, name)
        form.amount.data = plain(order.amount)
        form.contract.data = order.contract_id or 0
    _po_choices(form, account)
    page = keep_form(form, lambda: _po_page(form, account, order))
    if form.validate_on_submit():
        service.save_purchase_order(db.session, account, current_user, _po_details(form), order)
        flash(_("Changes saved."), "success")
        return _to_account(account, "purchase-orders")
    return page()

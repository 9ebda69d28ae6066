"""Documents: the list per account, downloads, and issuing work orders."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from docgen.formatting import plain_decimal
from portal.change_requests.forms import language_options
from portal.documents import service
from portal.documents.forms import WorkOrderForm, WorkOrderLineForm
from portal.extensions import db
from portal.files import download_response
from portal.accounts import current_contract, visible_accounts
from portal.forms import texts
from portal.models import Account, Document, DocumentKind
from portal.security import ISSUERS, get_or_404, require_role
from portal.web import Blueprint, keep_form

bp = Blueprint("documents", __name__)


@bp.route("/documents")
def index():
    account_id = request.args.get("account", type=int)
    query = sa.select(Document).order_by(Document.created_at.desc(), Document.id.desc()).limit(500)
    if account_id:
        query = query.where(Document.account_id == account_id)
    kind = request.args.get("kind")
    if kind in {k.value for k in DocumentKind}:
        query = query.where(Document.kind == DocumentKind(kind))
    accounts = visible_accounts(db.session)
    return render_template("documents/index.html", documents=db.session.scalars(query).all(), accounts=accounts,
                           names={a.id: a.name for a in accounts}, kinds=DocumentKind, args=request.args)


@bp.route("/documents/<int:document_id>/download")
def download(document_id: int):
    document = get_or_404(db.session, Document, document_id)
    return download_response(f"{document.number}.docx", service.DOCX, document.file.data)


@bp.route("/work-orders/new", methods=["GET", "POST"])
@require_role(*ISSUERS)
def new_work_order():
    account = get_or_404(db.session, Account, request.args.get("account", type=int))
    contract = current_contract(db.session, account)
    if contract is None:
        flash(_("This account has no contract yet."), "error")
        return redirect(url_for("main.account", account_id=account.id))
    form = WorkOrderForm()
    form.languages.choices = language_options(account.document_languages)
    page = keep_form(form, lambda: _work_order_page(form, account, contract))
    if request.method == "POST" and form.add_line.data:
        form.lines.append_entry()
    elif form.validate_on_submit():
        lines = [
            {"description": texts(entry.form, "description"), "unit": entry.form.unit.data or "",
             "quantity": plain_decimal(entry.form.quantity.data),
             "unit_price": plain_decimal(entry.form.unit_price.data)}
            for entry in form.lines if not entry.form.delete.data
        ]
        criteria = [{"en": line.strip()} for line in (form.acceptance.data or "").splitlines() if line.strip()]
        document = service.issue_work_order(
            db.session, account, contract, current_user, title=texts(form, "title"),
            description=texts(form, "description"), po_number=form.po_number.data.strip(),
            start_date=form.start_date.data, end_date=form.end_date.data, lines=lines,
            acceptance_criteria=criteria, languages=form.languages.data.split("+"),
        )
        flash(_("Work order %(number)s issued.", number=document.number), "success")
        return redirect(url_for("documents.index", account=account.id))
    return page()


def _work_order_page(form: WorkOrderForm, account: Account, contract):
    blank = WorkOrderLineForm(prefix="lines-__index__-")
    return render_template("documents/work_order.html", form=form, account=account, contract=contract, blank=blank,
                           languages=account.document_languages or ["en"])

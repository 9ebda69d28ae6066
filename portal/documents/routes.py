"""Documents: the list per account, downloads (Word, and PDF made in the background),
and issuing work orders."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from docgen.formatting import plain_decimal
from portal.change_requests.forms import language_options
from portal.database import may_write
from portal.documents import renditions, service
from portal.documents.forms import WorkOrderForm, WorkOrderLineForm
from portal.extensions import db
from portal.files import download_response
from portal.jobs import job_json
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
    documents = db.session.scalars(query).all()
    return render_template("documents/index.html", documents=documents, accounts=accounts,
                           pdf_ready=renditions.made(db.session, documents),
                           names={a.id: a.name for a in accounts}, kinds=DocumentKind, args=request.args)


@bp.route("/documents/<int:document_id>/download")
def download(document_id: int):
    document = get_or_404(db.session, Document, document_id)
    return download_response(f"{document.number}.docx", service.DOCX, document.file.data)


@bp.route("/documents/<int:document_id>/pdf")
@may_write
def pdf(document_id: int):
    """The document as PDF (``?preview=1``: shown by the browser, in a tab of its own).
    Until it is made, the job making it: as JSON (202) for the link's script
    (``static/js/jobs.js``), which shows its progress and then the link; else a page
    with its progress bar."""
    document = get_or_404(db.session, Document, document_id)
    preview = request.args.get("preview") == "1"
    data = renditions.pdf_of(db.session, document)
    if data is not None:
        return download_response(f"{document.number}.pdf", renditions.PDF, data, inline=preview)
    job = renditions.ask_for_pdf(db.session, document, current_user)
    headers = {"Retry-After": str(renditions.RETRY_AFTER_S)}
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
        return jsonify(job=job_json(job), status_url=url_for("jobs.status", job_id=job.id)), 202, headers
    return render_template("documents/pdf.html", document=document, job=job, job_status=job_json(job),
                           preview=preview), 202, headers


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
        document = service.issue_work_order(
            db.session, account, contract, current_user, title=texts(form, "title"),
            description=texts(form, "description"), po_number=form.po_number.data.strip(),
            start_date=form.start_date.data, end_date=form.end_date.data, lines=lines,
            acceptance_criteria=acceptance_criteria(form), languages=form.languages.data.split("+"),
            show_source_text=form.show_source_text.data,
        )
        flash(_("Work order %(number)s issued.", number=document.number), "success")
        return redirect(url_for("documents.index", account=account.id))
    return page()


def acceptance_criteria(form: WorkOrderForm) -> list[dict[str, str]]:
    """The criteria typed one per line in each language's box, paired by line: the
    third line of every box is the third criterion (a box with fewer lines leaves
    the last criteria without that language, which the issue then names)."""
    typed = {lang: [line.strip() for line in text.splitlines() if line.strip()]
             for lang, text in texts(form, "acceptance").items()}
    count = max((len(lines) for lines in typed.values()), default=0)
    return [{lang: lines[index] for lang, lines in typed.items() if index < len(lines)} for index in range(count)]


def _work_order_page(form: WorkOrderForm, account: Account, contract):
    blank = WorkOrderLineForm(prefix="lines-__index__-")
    return render_template("documents/work_order.html", form=form, account=account, contract=contract, blank=blank,
                           languages=account.document_languages or ["en"])

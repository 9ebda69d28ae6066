"""Documents: the list per account (each number's latest revision), a document's page
(its revisions, and for the firm its regional review), the reviewer's "Documents to
review", downloads (Word, and PDF made in the background), and issuing work orders."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from docgen.formatting import plain_decimal
from portal.change_requests.forms import default_languages, language_options
from portal.database import may_write
from portal.documents import renditions, review, service
from portal.documents.forms import DocumentReviewForm, WorkOrderForm, WorkOrderLineForm
from portal.extensions import db
from portal.files import download_response
from portal.jobs import job_json
from portal.accounts import current_contract, visible_accounts
from portal.forms import flash_errors, texts
from portal.models import Account, Document, DocumentKind, DocumentStatus, Role
from portal.security import ISSUERS, fresh_login_or_redirect, get_or_404, require_role
from portal.web import Blueprint, keep_form

bp = Blueprint("documents", __name__)


def _latest_revisions() -> sa.ColumnElement[bool]:
    """Each number's latest revision the caller sees (a client: the latest issued one,
    the scope's policy hiding drafts in the subquery too)."""
    later = sa.orm.aliased(Document)
    return ~sa.exists().where(later.account_id == Document.account_id, later.number == Document.number,
                              later.revision > Document.revision)


@bp.route("/documents")
def index():
    account_id = request.args.get("account", type=int)
    query = (sa.select(Document).where(_latest_revisions())
             .order_by(Document.created_at.desc(), Document.id.desc()).limit(500))
    if account_id:
        query = query.where(Document.account_id == account_id)
    kind = request.args.get("kind")
    if kind in {k.value for k in DocumentKind}:
        query = query.where(Document.kind == DocumentKind(kind))
    status = request.args.get("status")
    if status in {s.value for s in DocumentStatus}:
        query = query.where(Document.status == DocumentStatus(status))
    accounts = visible_accounts(db.session)
    documents = db.session.scalars(query).all()
    return render_template("documents/index.html", documents=documents, accounts=accounts,
                           pdf_ready=renditions.made(db.session, documents),
                           names={a.id: a.name for a in accounts}, kinds=DocumentKind, statuses=DocumentStatus,
                           args=request.args)


@bp.route("/documents/to-review")
@require_role(Role.REGIONAL_REVIEWER)
def to_review():
    """The drafts waiting for the signed-in reviewer, oldest first."""
    documents = review.waiting_for(db.session, current_user)
    accounts = visible_accounts(db.session)
    return render_template("documents/to_review.html", documents=documents,
                           names={a.id: a.name_in(current_user.language) for a in accounts},
                           pdf_ready=renditions.made(db.session, documents))


@bp.route("/documents/<int:document_id>")
def detail(document_id: int):
    document = get_or_404(db.session, Document, document_id)
    return _detail(document)


def _detail(document: Document, form: DocumentReviewForm | None = None):
    revisions = db.session.scalars(
        sa.select(Document).where(Document.account_id == document.account_id, Document.number == document.number)
        .order_by(Document.revision.desc(), Document.id.desc())).all()
    account = db.session.scalar(sa.select(Account).where(Account.id == document.account_id))
    may_review = (current_user.role is Role.REGIONAL_REVIEWER and document.status is DocumentStatus.IN_REVIEW
                  and document in review.waiting_for(db.session, current_user))
    if form is None:
        form = DocumentReviewForm(formdata=None, version=document.sha256)
    return render_template("documents/detail.html", document=document, account=account, revisions=revisions,
                           form=form, may_review=may_review, approved=review.approved_languages(document),
                           pdf_ready=renditions.made(db.session, revisions))


@bp.route("/documents/<int:document_id>/review", methods=["POST"], back="documents.detail")
@require_role(Role.REGIONAL_REVIEWER)
def decide(document_id: int):
    """The reviewer's comment or approval of the draft at the SHA-256 they were shown."""
    document = get_or_404(db.session, Document, document_id)
    form = DocumentReviewForm()
    if not form.validate_on_submit():
        flash_errors(form)
        return _detail(document, form)
    account = db.session.scalar(sa.select(Account).where(Account.id == document.account_id))
    if form.approve.data:
        stale = fresh_login_or_redirect(_("Confirm your password before approving a document."),
                                        url_for("documents.detail", document_id=document.id))
        if stale:
            return stale
        review.approve(db.session, document, account, current_user, version=form.version.data,
                       text=form.comment.data or "", typed_name=form.typed_name.data or "",
                       ip=request.remote_addr or "")
        if document.status is DocumentStatus.ISSUED:
            flash(_("You approved %(number)s: it is issued.", number=numbered(document)), "success")
        else:
            flash(_("You approved %(number)s: it waits for the review of its other language.",
                    number=numbered(document)), "success")
    else:
        review.comment(db.session, document, account, current_user, version=form.version.data,
                       text=form.comment.data or "", ip=request.remote_addr or "")
        flash(_("Your comment on %(number)s is sent to its issuer.", number=numbered(document)), "success")
    return redirect(url_for("documents.detail", document_id=document.id))


def numbered(document: Document) -> str:
    """The document's number as the reader says it: with its revision from the second on."""
    if document.revision == 1:
        return document.number
    return _("%(number)s rev. %(n)d", number=document.number, n=document.revision)


def preview_response(preview: service.Preview):
    """A document's preview as a download: a .docx named as a preview (AMD-2027-PREVIEW.docx)."""
    return download_response(preview.filename, service.DOCX, preview.content)


def announce(document: Document, issued: str) -> None:
    """Flash what issuing did: ``issued`` (the kind's own "... issued.") or, for a
    draft, that it went to the account's regional reviewer."""
    if document.status is DocumentStatus.IN_REVIEW:
        flash(_("%(number)s is sent to the account's regional reviewer: it is issued once they approve it.",
                number=numbered(document)), "success")
    else:
        flash(issued, "success")


@bp.route("/documents/<int:document_id>/download")
def download(document_id: int):
    document = get_or_404(db.session, Document, document_id)
    return download_response(f"{document.file_stem}.docx", service.DOCX, document.file.data)


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
        return download_response(f"{document.file_stem}.pdf", renditions.PDF, data, inline=preview)
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
    form = WorkOrderForm(languages=default_languages(account.document_languages))
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
        details = dict(title=texts(form, "title"), description=texts(form, "description"),
                       po_number=form.po_number.data.strip(), start_date=form.start_date.data,
                       end_date=form.end_date.data, lines=lines, acceptance_criteria=acceptance_criteria(form),
                       languages=form.languages.data.split("+"), show_source_text=form.show_source_text.data)
        if form.preview.data:
            return preview_response(service.preview_work_order(account, contract, current_user, **details))
        document = service.issue_work_order(db.session, account, contract, current_user, **details)
        announce(document, _("Work order %(number)s issued.", number=numbered(document)))
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

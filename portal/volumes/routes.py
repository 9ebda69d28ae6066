"""The volumes of a contract's scope lines against the contracted quantity (the
account manager, finance and the client alike), and the page that imports them."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from portal.extensions import db
from portal.files import check_spreadsheet
from portal.forms import SpreadsheetForm
from portal.jobs import job_json, visible_job
from portal.kpis.service import parse_period, previous_month
from portal.models import Account, Contract, Role
from portal.security import get_or_404, require_role
from portal.volumes import imports, service
from portal.web import Blueprint, keep_form

bp = Blueprint("volumes", __name__)

IMPORTERS = (Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN)
SAMPLE = "samples/volumes.csv"  # under static/


def _until(account: Account) -> date:
    """The month asked for, else last month (a month's volumes come in after it ends)."""
    raw = request.args.get("period")
    if raw:
        period = parse_period(raw)
        if period is None:
            abort(404)
        return period
    return previous_month(account.today().replace(day=1))


@bp.route("/accounts/<int:account_id>/contracts/<int:contract_id>/volumes")
def show(account_id: int, contract_id: int):
    """Each scope line's monthly volume against the contracted quantity, over and under
    use flagged, for the twelve months to the month asked for."""
    account = get_or_404(db.session, Account, account_id)
    contract = get_or_404(db.session, Contract, contract_id)
    if contract.account_id != account.id:
        abort(404)
    until = _until(account)
    table = service.volume_table(db.session, contract, until)
    following = service.month_end(until) + timedelta(days=1)
    return render_template(
        "volumes/show.html", account=account, contract=contract, table=table, until=until,
        previous=previous_month(until), following=following if following <= account.today() else None,
        tolerance=service.VOLUME_TOLERANCE, can_import=current_user.role in IMPORTERS)


def _page(form: SpreadsheetForm, job=None):
    return render_template("volumes/import.html", form=form, sample=SAMPLE, job=job,
                           job_status=job_json(job) if job is not None else None)


@bp.route("/volumes/import", methods=["GET", "POST"])
@require_role(*IMPORTERS)
def upload():
    form = SpreadsheetForm()
    page = keep_form(form, lambda: _page(form))
    if form.validate_on_submit():
        checked = check_spreadsheet(form.file.data)
        job = imports.ask_for_import(db.session, current_user, checked.filename, checked.data)
        return redirect(url_for("volumes.progress", job_id=job.id))
    return page()


@bp.route("/volumes/import/<job_id>")
@require_role(*IMPORTERS)
def progress(job_id: str):
    """The import's progress, then its counts or its problems; and the form for the next file."""
    job = visible_job(db.session, current_user, job_id)
    if job is None or job.kind != "volume_import":
        abort(404)
    return _page(SpreadsheetForm(), job)

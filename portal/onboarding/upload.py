"""The administrator's page for the account import (``portal.onboarding.imports``):
``/accounts/import`` takes a CSV file or an Excel workbook and creates its accounts,
contracts and scope lines in the background, as the job ``account_import``, all or
nothing as ``flask import accounts`` does.

The page the upload leads to (``/accounts/import/<job_id>``) follows the job, as the
invoice import's does: a bar that moves without reloading, then the counts and the link
to the accounts, or every problem of a refused file by row and column in the reader's
language.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask_login import current_user

from portal.extensions import db
from portal.files import check_spreadsheet
from portal.forms import SpreadsheetForm
from portal.jobs import job_json, visible_job
from portal.models import Role
from portal.onboarding import imports
from portal.security import require_role
from portal.web import Blueprint, keep_form

bp = Blueprint("account_import", __name__)

SAMPLE = "samples/accounts-import.csv"  # under static/


def _page(form: SpreadsheetForm, job=None):
    return render_template("onboarding/import.html", form=form, sample=SAMPLE, job=job,
                           job_status=job_json(job) if job is not None else None)


@bp.route("/accounts/import", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def upload():
    form = SpreadsheetForm()
    page = keep_form(form, lambda: _page(form))
    if form.validate_on_submit():
        checked = check_spreadsheet(form.file.data)
        job = imports.ask_for_import(db.session, current_user, checked.filename, checked.data)
        return redirect(url_for("account_import.progress", job_id=job.id))
    return page()


@bp.route("/accounts/import/<job_id>")
@require_role(Role.ADMIN)
def progress(job_id: str):
    """The import's progress, then its counts or its problems; and the form for the next file."""
    job = visible_job(db.session, current_user, job_id)
    if job is None or job.kind != "account_import":
        abort(404)
    return _page(SpreadsheetForm(), job)

"""Finance's page for the invoice import (``portal.billing.imports``): ``/invoices/import``
takes a CSV file or an Excel workbook and imports it in the background, as the job
``invoice_import``, all or nothing as ``flask import invoices`` does.

The page the upload leads to (``/invoices/import/<job_id>``) follows the job: a bar
that moves without reloading (``static/js/jobs.js``), then the counts and the link to
the invoices, or every problem of a refused file by row and column in the reader's
language. In a browser running ``app.js`` a bar shows the upload's progress first;
without scripts the form posts as any other, and reloading shows how far the job got.
Only who started the job (and admins) see it: anyone else gets 404, as for a missing one.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask_login import current_user

from portal.billing import imports
from portal.extensions import db
from portal.files import check_spreadsheet
from portal.forms import SpreadsheetForm
from portal.jobs import job_json, visible_job
from portal.models import Role
from portal.security import require_role
from portal.web import Blueprint, keep_form

bp = Blueprint("invoice_import", __name__)

IMPORTERS = (Role.FINANCE, Role.ADMIN)
SAMPLE = "samples/invoices.csv"  # under static/


def _page(form: SpreadsheetForm, job=None):
    return render_template("billing/import.html", form=form, sample=SAMPLE, job=job,
                           job_status=job_json(job) if job is not None else None)


@bp.route("/invoices/import", methods=["GET", "POST"])
@require_role(*IMPORTERS)
def upload():
    form = SpreadsheetForm()
    page = keep_form(form, lambda: _page(form))
    if form.validate_on_submit():
        checked = check_spreadsheet(form.file.data)
        job = imports.ask_for_import(db.session, current_user, checked.filename, checked.data)
        return redirect(url_for("invoice_import.progress", job_id=job.id))
    return page()


@bp.route("/invoices/import/<job_id>")
@require_role(*IMPORTERS)
def progress(job_id: str):
    """The import's progress, then its counts or its problems; and the form for the next file."""
    job = visible_job(db.session, current_user, job_id)
    if job is None or job.kind != "invoice_import":
        abort(404)
    return _page(SpreadsheetForm(), job)

"""The upload pages of the file imports (invoices, accounts, volumes): one shape for all.

``add_import_pages`` gives a blueprint two views: ``upload`` (``PATH``: a CSV file or an
Excel workbook, checked by content, handed to the import's background job) and
``progress`` (``PATH/<job_id>``: the job's bar, then its counts or the file's problems by
row and column, and the form for the next file). Only who started the job (and admins)
follow it; anyone else gets 404, as for a job that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask import abort, redirect, render_template, url_for
from flask_login import current_user

from portal.extensions import db
from portal.files import check_spreadsheet
from portal.forms import SpreadsheetForm
from portal.jobs import job_json, visible_job
from portal.models import Role
from portal.security import require_role
from portal.web import Blueprint, keep_form


def add_import_pages(bp: Blueprint, path: str, *, kind: str, roles: Sequence[Role], template: str, sample: str,
                     ask_for_import: Callable) -> None:
    """Register ``upload`` and ``progress`` on ``bp`` for the import job ``kind``, whose
    ``ask_for_import(session, user, filename, content)`` enqueues it; ``sample`` is the
    sample file under static/."""

    def page(form: SpreadsheetForm, job=None):
        return render_template(template, form=form, sample=sample, job=job,
                               job_status=job_json(job) if job is not None else None)

    @require_role(*roles)
    def upload():
        form = SpreadsheetForm()
        shown = keep_form(form, lambda: page(form))
        if form.validate_on_submit():
            checked = check_spreadsheet(form.file.data)
            job = ask_for_import(db.session, current_user, checked.filename, checked.data)
            return redirect(url_for(f"{bp.name}.progress", job_id=job.id))
        return shown()

    @require_role(*roles)
    def progress(job_id: str):
        """The import's progress, then its counts or its problems; and the form for the next file."""
        job = visible_job(db.session, current_user, job_id)
        if job is None or job.kind != kind:
            abort(404)
        return page(SpreadsheetForm(), job)

    bp.add_url_rule(path, "upload", upload, methods=["GET", "POST"])
    bp.add_url_rule(f"{path}/<job_id>", "progress", progress)

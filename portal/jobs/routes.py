"""A job as the page that started it polls it (``static/js/jobs.js``): the API's
answer (``GET /api/v1/jobs/{id}``) for the signed-in browser, which sends its session
cookie, not a bearer token; and the file a finished job made."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, jsonify
from flask_login import current_user

from portal.extensions import db
from portal.files import download_response
from portal.jobs.core import job_json, visible_job
from portal.models import JobOutput, JobStatus
from portal.web import Blueprint

bp = Blueprint("jobs", __name__)


@bp.route("/jobs/<job_id>")
def status(job_id: str):
    """``{id, status, progress, message, result_url}``; 404 for someone else's job."""
    row = visible_job(db.session, current_user, job_id)
    if row is None:
        abort(404)
    return jsonify(job_json(row))


@bp.route("/jobs/<job_id>/file")
def output(job_id: str):
    """The file the job made (``JobContext.keep_output``), once it has finished; 404 for
    someone else's job, one still running, or one that made none."""
    row = visible_job(db.session, current_user, job_id)
    if row is None or row.status is not JobStatus.FINISHED:
        abort(404)
    made = db.session.scalar(sa.select(JobOutput).where(JobOutput.job_id == row.id)
                             .options(sa.orm.undefer(JobOutput.data)))
    if made is None:
        abort(404)
    return download_response(made.filename, made.content_type, made.data)

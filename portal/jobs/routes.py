"""A job as the page that started it polls it (``static/js/jobs.js``): the API's
answer (``GET /api/v1/jobs/{id}``) for the signed-in browser, which sends its session
cookie, not a bearer token."""

from __future__ import annotations

from flask import abort, jsonify
from flask_login import current_user

from portal.extensions import db
from portal.jobs.core import job_json, visible_job
from portal.web import Blueprint

bp = Blueprint("jobs", __name__)


@bp.route("/jobs/<job_id>")
def status(job_id: str):
    """``{id, status, progress, message, result_url}``; 404 for someone else's job."""
    row = visible_job(db.session, current_user, job_id)
    if row is None:
        abort(404)
    return jsonify(job_json(row))

"""Background jobs (``GET /jobs/{id}``): how far the work someone started has got."""

from __future__ import annotations

from typing import Literal

from flask_login import current_user
from pydantic import BaseModel, Field

from portal.api import bp
from portal.api.common import ApiError, route
from portal.extensions import db
from portal.jobs import job_json, visible_job


class JobProblemOut(BaseModel):
    row: int = Field(description="The file's row (the header is row 1); 0 for the file as a whole.")
    column: str
    message: str


class JobOut(BaseModel):
    id: str
    status: Literal["queued", "started", "finished", "failed"]
    progress: float
    message: str
    result_url: str | None
    problems: list[JobProblemOut] | None = Field(
        None, description="Only for a refused import: each problem of the file, by row and column (nothing was "
                          "imported).")


@route(bp, "/jobs/<job_id>", "GET", "A job: its status, progress (0 to 1), message and, once finished, "
       "the URL of what it made. Only who started it (and admins) see it; 404 for others.",
       response=JobOut, tag="jobs")
def get_job(job_id: str):
    row = visible_job(db.session, current_user, job_id)
    if row is None:
        raise ApiError(404)
    return job_json(row)

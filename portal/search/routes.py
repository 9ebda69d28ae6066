"""The results page of the header's search box."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user

from portal.accounts import visible_accounts
from portal.database import reads_only
from portal.extensions import db
from portal.i18n import current_language
from portal.search import service
from portal.web import Blueprint

bp = Blueprint("search", __name__)


@bp.route("/search")
@reads_only
def index():
    """What matches ``q``, by kind; an empty query shows how to search, a query too
    short or too long says so."""
    query = service.normalize(request.args.get("q"))
    problem = service.query_problem(query) if query else None
    results = None
    if query and problem is None:
        results = service.search(db.session, current_user, query, language=current_language())
    names = {}
    if results and results.hits and not current_user.is_client:
        names = {a.id: a.name_in(current_language()) for a in visible_accounts(db.session)}
    return render_template("search/results.html", query=query, problem=problem, results=results, names=names,
                           kind_names=service.KIND_NAMES, limit=service.LIMIT)

"""One unit of work per request, one answer to a refused rule.

A view's changes are committed once, when it returns, by its blueprint; a rule that a
service refuses (``DomainError``) rolls all of the request's changes back and answers:
the API with its JSON error, a page with the message in the user's language and the
form again with what was typed, or the page the route names to go back to. The rules
of the codebase that keep it so (no commit in a view, no rollback in a service) are
checked here too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal import create_app
from portal.database import reads_only
from portal.domain import Conflict, DomainError
from portal.extensions import db
from portal.models import ChangeRequest, CRStatus, StoredFile
from portal.security import unscoped
from portal.web import Blueprint, keep_form
from tests.conftest import Browser, api_token, bearer, csrf_token
from tests.factories import build_account, build_admin
from tests.helpers import translated

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def toy_app(app_config):
    """The portal with a blueprint of test views that write a row, then answer or refuse."""
    bp = Blueprint("toy", __name__)

    def _write(name: str, flush: bool = True) -> None:
        with unscoped():
            account_id = db.session.scalar(sa.text("SELECT min(id) FROM accounts"))
            db.session.add(StoredFile(account_id=account_id, filename=name, content_type="text/plain", size=1,
                                      sha256="0" * 64, data=b"x"))
            if flush:
                db.session.flush()

    @bp.route("/toy/kept", methods=["POST"])
    def kept():
        _write("kept.txt")
        return "done"

    @bp.route("/toy/refused", methods=["POST"], back="toy.page")
    def refused():
        _write("refused.txt")
        raise Conflict(_l("This change request was decided in the meantime."))

    @bp.route("/toy/read")
    @reads_only
    def read():  # marked as only reading, but adds a row: its commit must not be spared
        _write("read.txt", flush=False)
        return "read"

    @bp.route("/toy/page")
    def page():
        return "the page"

    @bp.route("/toy/form", methods=["POST"])
    def form():
        from portal.change_requests.forms import ChangeRequestForm

        typed = ChangeRequestForm()
        keep_form(typed, lambda: f"form again: {typed.title_en.data} / {typed.title_en.errors}")
        _write("form.txt")
        raise DomainError(_l("Give the change request a title."), fields={"title": "required"})

    app = create_app({**app_config, "WTF_CSRF_ENABLED": False})
    app.register_blueprint(bp)
    with app.app_context(), unscoped():
        build_account(db.session, "Alpha")
        db.session.commit()
    return app


def _files(app, name: str) -> int:
    with app.app_context(), unscoped():
        return db.session.scalar(sa.select(sa.func.count()).select_from(StoredFile).where(StoredFile.filename == name))


def _client(app):
    client = app.test_client()
    Browser(client).login("client.approver@alpha.example")
    return client


def test_a_view_that_returns_is_committed_without_committing_itself(toy_app):
    assert _client(toy_app).post("/toy/kept").text == "done"
    assert _files(toy_app, "kept.txt") == 1


def test_a_view_marked_as_reading_that_writes_after_all_is_committed(toy_app):
    """On PostgreSQL a ``reads_only`` GET runs in autocommit and its commit is spared;
    ORM changes it made anyway are still flushed and kept."""
    assert _client(toy_app).get("/toy/read").text == "read"
    assert _files(toy_app, "read.txt") == 1


def test_a_refused_action_keeps_nothing_and_goes_back_with_the_message(toy_app):
    client = _client(toy_app)
    response = client.post("/toy/refused?period=2026-10")
    assert response.status_code == 302
    assert response.headers["Location"] == "/toy/page?period=2026-10", "back to the page, with its query"
    assert _files(toy_app, "refused.txt") == 0
    with client.session_transaction() as cookie_session:
        assert ("error", "This change request was decided in the meantime.") in cookie_session["_flashes"]


def test_a_refused_form_is_shown_again_with_what_was_typed_and_the_problem_beside_its_field(toy_app):
    response = _client(toy_app).post("/toy/form", data={"title_en": "What I typed"})
    assert response.status_code == 200
    assert response.text == "form again: What I typed / ['Required.']"
    assert _files(toy_app, "form.txt") == 0


def test_the_api_answers_a_refused_rule_with_its_error_and_keeps_nothing(app, session):
    world = build_account(session, "Alpha")
    build_admin(session)
    session.commit()
    client = app.test_client()
    token = api_token(client, "account.manager@alpha.example")
    body = {"account_id": world.account.id, "title": "Refused: a remove line without its contract line",
            "effective_date": "2030-01-01",
            "lines": [{"change": "remove", "quantity": "1", "unit_price": "1", "scope_line_id": 987654}]}
    response = client.post("/api/v1/change-requests", headers=bearer(token), json=body)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_failed"
    assert response.json["error"]["fields"] == {"lines.0.scope_line_id": "not a current line of this contract"}
    assert response.json["error"]["message"] == "Choose the contract line to change or remove."
    submitted = world["change_request"]  # pending client approval: the draft rules refuse a new submit
    conflict = client.post(f"/api/v1/change-requests/{submitted.id}/implement", headers=bearer(token))
    assert conflict.status_code == 409 and conflict.json["error"]["code"] == "conflict"
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(ChangeRequest)) == 1


def test_a_refusal_is_flashed_in_the_users_language(app, session):
    world = build_account(session, "Alpha")
    session.commit()
    client = app.test_client()
    Browser(client).login("account.manager@alpha.example")
    client.post("/language", data={"language": "zh", "csrf_token": csrf_token(client.get("/account").text)})
    cr = world["change_request"]
    page = client.get(f"/change-requests/{cr.id}").text
    response = client.post(f"/change-requests/{cr.id}/implement", data={"csrf_token": csrf_token(page)},
                           follow_redirects=True)
    message = "This change request was decided or changed in the meantime. Reload it to see its current version."
    chinese = translated("zh", message)
    assert response.request.path == f"/change-requests/{cr.id}"
    assert chinese != message and chinese in response.text
    assert message not in response.text
    session.rollback()
    assert session.get(ChangeRequest, cr.id).status is CRStatus.PENDING_CLIENT_APPROVAL


# --- the rules of the codebase that keep one unit of work ------------------------------

# Where a commit or a rollback belongs: the unit of work (web.py), the error handlers,
# the CLI commands, the outbox sender and a background job's attempt and the scheduler's
# round (each its own unit of work), and the session check's bookkeeping, which must
# never fail a page.
MAY_COMMIT = {"portal/web.py", "portal/cli.py", "portal/notifications/__init__.py", "portal/auth/__init__.py",
              "portal/imports.py", "portal/demo.py", "portal/jobs/core.py", "portal/jobs/schedule.py"}
MAY_ROLL_BACK = {"portal/web.py", "portal/errors.py", "portal/auth/__init__.py", "portal/imports.py",
                 "portal/jobs/core.py"}


def _calls(method: str) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for path in sorted((ROOT / "portal").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == method:
                found.setdefault(str(path.relative_to(ROOT)), []).append(node.lineno)
    return found


def test_views_and_services_never_commit():
    commits = {path: lines for path, lines in _calls("commit").items() if path not in MAY_COMMIT}
    assert commits == {}, "commit in the blueprint's unit of work, not here"


def test_services_never_roll_back_the_callers_transaction():
    rollbacks = {path: lines for path, lines in _calls("rollback").items() if path not in MAY_ROLL_BACK}
    assert rollbacks == {}, "use a savepoint (session.begin_nested()) where a step may fail and the work goes on"


def test_the_scans_find_what_they_look_for():
    """The two scans above can fail: they see the calls that are allowed."""
    assert "portal/web.py" in _calls("commit") and "portal/errors.py" in _calls("rollback")


def test_every_blueprint_is_a_unit_of_work(app):
    """Every view but static files commits through ``portal.web.unit_of_work``."""
    plain = [endpoint for endpoint, view in app.view_functions.items()
             if endpoint != "static" and not hasattr(view, "refused_back")]
    assert plain == []


def test_one_error_type_per_kind_of_refusal():
    """No feature defines an error class of its own beside ``DomainError`` and
    ``Conflict`` (thin names of them, such as ``UploadError``, subclass them)."""
    defined = []
    for path in sorted((ROOT / "portal").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and re.search(r"(Error|Conflict|Refused)$", node.name):
                bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                defined.append((str(path.relative_to(ROOT)), node.name, bases))
    features = [(p, name) for p, name, bases in defined
                if p != "portal/domain.py" and not bases & {"DomainError", "Conflict"}]
    # Errors that are not a user's rule: configuration, scoping bugs, the API's HTTP errors.
    assert sorted(features) == [("portal/api/common.py", "ApiError"), ("portal/config.py", "ConfigError")]

"""The scoping helper of ``portal.security`` at unit level (battery item 5).

Under ``scoped_to(Scope({A}))`` every ORM statement on an account-owned model sees and
touches account A's rows only: plain selects, relationship loads (lazy, selectin,
joined), ORM updates and deletes; writes of another account's rows are refused; with no
scope at all a query raises. The last tests pin down the known limits (``text()`` and
``session.get()``) and scan the code so that nothing relies on them.
"""

from __future__ import annotations

import ast
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_login import login_user
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.exceptions import NotFound

from portal.extensions import db
from portal.models import (
    Account,
    AccountOwned,
    ActionItem,
    ActionSource,
    Base,
    ChangeRequest,
    ChangeRequestLine,
    Contract,
    Invoice,
    InvoiceLine,
    LineChange,
    PlanSignoff,
    Role,
    ScopeLine,
    User,
)
from portal.security import Scope, ScopeNotSet, ScopeViolation, get_or_404, scoped_to, unscoped

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_OWNED = sorted(
    (m.class_ for m in Base.registry.mappers if issubclass(m.class_, AccountOwned)), key=lambda cls: cls.__name__
)


@pytest.fixture
def world_ids(worlds, session):
    """The ids of Alpha's and Bravo's rows by name (``alpha``, ``alpha_invoice``,
    ``bravo_action``), not the objects: each test loads what it checks."""
    alpha, bravo = worlds
    ids = {
        "alpha": alpha.account.id,
        "bravo": bravo.account.id,
        **{f"alpha_{k}": v.id for k, v in alpha.objects.items()},
        **{f"bravo_{k}": v.id for k, v in bravo.objects.items()},
        "alpha_client_email": alpha.user(Role.CLIENT_APPROVER).email,
    }
    session.expunge_all()  # start from an empty identity map: every load asks the database
    return ids


def only(account_id: int) -> Scope:
    return Scope(frozenset({account_id}))


def account_ids_of(session, model) -> set[int]:
    with unscoped():
        return set(session.scalars(sa.select(model.account_id)))


@pytest.mark.parametrize("model", ACCOUNT_OWNED, ids=lambda cls: cls.__name__)
def test_select_of_an_account_owned_model_returns_only_the_scope_accounts_rows(session, world_ids, model):
    alpha, bravo = world_ids["alpha"], world_ids["bravo"]
    present = account_ids_of(session, model)
    missing = [key for key in ("alpha", "bravo") if world_ids[key] not in present]
    if missing:  # without a row of each account the assertions below would prove nothing
        session.add_all(_extra_row(model, world_ids, key) for key in missing)
        session.commit()
        session.expunge_all()
    assert {alpha, bravo} <= account_ids_of(session, model), f"the factory should make {model.__name__} rows for A and B"
    with scoped_to(only(alpha)):
        rows = session.scalars(sa.select(model)).all()
        counted = session.scalar(sa.select(sa.func.count(model.account_id)))
    assert rows, f"A's {model.__name__} rows are visible"
    assert {row.account_id for row in rows} == {alpha}
    assert counted == len(rows), "an aggregate over the entity's column is filtered too"


def _extra_row(model, world_ids, key: str):
    """A row of a model that ``build_account`` leaves empty, for account ``key``."""
    if model is PlanSignoff:
        return PlanSignoff(account_id=world_ids[key], plan_id=world_ids[f"{key}_plan"], version_hash="f" * 64,
                           signature_name="Signer")
    pytest.fail(f"tests.factories.build_account makes no {model.__name__} row: add one there or here")


def test_select_of_accounts_under_a_scope_gives_only_that_account(session, world_ids):
    with scoped_to(only(world_ids["alpha"])):
        names = session.scalars(sa.select(Account.id)).all()
        accounts = session.scalars(sa.select(Account)).all()
    assert names == [world_ids["alpha"]]
    assert [a.id for a in accounts] == [world_ids["alpha"]]


# Statements whose answer, under A's scope, must be A's alone.
ENTITYLESS = {
    "count-select-from": (lambda: sa.select(sa.func.count()).select_from(ActionItem), 1),
    "exists-of-b-row": (lambda: sa.select(sa.exists().where(ActionItem.title == "Action of Bravo")), False),
    "scalar-subquery": (lambda: sa.select(sa.select(sa.func.count(ActionItem.id)).scalar_subquery()), 1),
}


@pytest.mark.parametrize("kind", list(ENTITYLESS))
def test_statements_without_entity_columns_are_filtered_too(session, world_ids, kind):
    build, expected = ENTITYLESS[kind]
    with scoped_to(only(world_ids["alpha"])):
        assert session.scalar(build()) == expected


def test_an_empty_scope_sees_no_account_owned_rows(session, world_ids):
    with scoped_to(Scope(frozenset())):
        assert session.scalars(sa.select(Invoice)).all() == []
        assert session.scalars(sa.select(Account)).all() == []


# --- relationship loads --------------------------------------------------------------

# (parent model, parent key in the world, relationship, child model)
COLLECTIONS = [
    (Contract, "contract", "scope_lines", ScopeLine),
    (ChangeRequest, "change_request", "lines", ChangeRequestLine),
    (Invoice, "invoice", "lines", InvoiceLine),
]


def _foreign_child(child_model, parent_id: int, account_id: int):
    """A child row labelled with account B but hanging under A's parent: the filter,
    not the foreign key, is what must keep it out of A's collection."""
    if child_model is ScopeLine:
        return ScopeLine(account_id=account_id, contract_id=parent_id, service={"en": "Planted by B"}, unit="x",
                         quantity=Decimal(1), unit_price=Decimal(1))
    if child_model is ChangeRequestLine:
        return ChangeRequestLine(account_id=account_id, change_request_id=parent_id, change=LineChange.ADD,
                                 description={"en": "Planted by B"}, unit="x", quantity=Decimal(1), unit_price=Decimal(1))
    if child_model is InvoiceLine:
        return InvoiceLine(account_id=account_id, invoice_id=parent_id, description="Planted by B",
                           quantity=Decimal(1), unit_price=Decimal(1), amount=Decimal(1))
    raise AssertionError(child_model)


@pytest.mark.parametrize("loading", ["lazy", "selectin", "joined"])
@pytest.mark.parametrize(("parent_model", "key", "relation", "child_model"), COLLECTIONS,
                         ids=[f"{p.__name__}.{r}" for p, _, r, _ in COLLECTIONS])
def test_relationship_loads_do_not_bring_another_accounts_rows(session, world_ids, loading, parent_model, key, relation,
                                                               child_model):
    alpha, bravo = world_ids["alpha"], world_ids["bravo"]
    parent_id = world_ids[f"alpha_{key}"]
    planted = _foreign_child(child_model, parent_id, bravo)
    session.add(planted)
    session.commit()
    planted_id = planted.id
    session.expunge_all()
    with unscoped():  # the planted row really is in A's collection without a scope
        everything = session.scalar(sa.select(parent_model).where(parent_model.id == parent_id))
        assert planted_id in {c.id for c in getattr(everything, relation)}
    session.expunge_all()

    attribute = getattr(parent_model, relation)
    options = {"lazy": [], "selectin": [selectinload(attribute)], "joined": [joinedload(attribute)]}[loading]
    with scoped_to(only(alpha)):
        parent = session.scalars(sa.select(parent_model).where(parent_model.id == parent_id).options(*options)).unique().one()
        children = getattr(parent, relation)  # the lazy load happens here, still under A's scope
    assert children, f"A's own {relation} are loaded"
    assert planted_id not in {c.id for c in children}
    assert {c.account_id for c in children} == {alpha}


def test_a_many_to_one_load_does_not_reach_another_accounts_parent(session, world_ids):
    """B's invoice line pointing at A's invoice: under B's scope the parent is not loaded."""
    line = _foreign_child(InvoiceLine, world_ids["alpha_invoice"], world_ids["bravo"])
    session.add(line)
    session.commit()
    line_id = line.id
    session.expunge_all()
    with scoped_to(only(world_ids["bravo"])):
        loaded = session.scalars(sa.select(InvoiceLine).where(InvoiceLine.id == line_id)).one()
        assert loaded.invoice is None
        joined = session.scalars(
            sa.select(InvoiceLine).where(InvoiceLine.id == line_id).options(joinedload(InvoiceLine.invoice))
        ).unique().one()
        assert joined.invoice is None


# --- ORM updates and deletes -----------------------------------------------------------


def _action_titles(session) -> dict[int, str]:
    with unscoped():
        return {row.account_id: row.title for row in session.execute(sa.select(ActionItem.account_id, ActionItem.title))}


@pytest.mark.parametrize("targeted", [False, True], ids=["every-row", "b-id-in-where"])
def test_orm_update_under_a_scope_does_not_touch_another_accounts_rows(session, world_ids, targeted):
    alpha, bravo = world_ids["alpha"], world_ids["bravo"]
    statement = sa.update(ActionItem).values(title="Changed")
    if targeted:
        statement = statement.where(ActionItem.id.in_([world_ids["alpha_action"], world_ids["bravo_action"]]))
    with scoped_to(only(alpha)):
        session.execute(statement)
    session.commit()
    titles = _action_titles(session)
    assert titles[alpha] == "Changed"
    assert titles[bravo] == "Action of Bravo"


@pytest.mark.parametrize("targeted", [False, True], ids=["every-row", "b-id-in-where"])
def test_orm_delete_under_a_scope_does_not_touch_another_accounts_rows(session, world_ids, targeted):
    alpha, bravo = world_ids["alpha"], world_ids["bravo"]
    statement = sa.delete(ActionItem)
    if targeted:
        statement = statement.where(ActionItem.id.in_([world_ids["alpha_action"], world_ids["bravo_action"]]))
    with scoped_to(only(alpha)):
        session.execute(statement)
    session.commit()
    assert set(_action_titles(session)) == {bravo}


# --- writes ------------------------------------------------------------------------------


def test_inserting_a_row_of_another_account_raises_scope_violation(session, world_ids):
    with scoped_to(only(world_ids["alpha"])):
        session.add(ActionItem(account_id=world_ids["bravo"], title="Planted", source=ActionSource.MEETING,
                               due_date=date.today() + timedelta(days=7)))
        with pytest.raises(ScopeViolation):
            session.flush()
    session.rollback()
    assert "Planted" not in _action_titles(session).values()


def test_a_child_row_inherits_its_parents_account_and_is_refused_outside_the_scope(session, world_ids):
    """An InvoiceLine without account_id takes its invoice's (B's): refused under A."""
    with unscoped():
        invoice = session.scalars(sa.select(Invoice).where(Invoice.id == world_ids["bravo_invoice"])).one()
    with scoped_to(only(world_ids["alpha"])):
        invoice.lines.append(InvoiceLine(description="Planted", quantity=Decimal(1), unit_price=Decimal(1),
                                         amount=Decimal(1)))
        with pytest.raises(ScopeViolation):
            session.flush()
    session.rollback()


@pytest.mark.parametrize("change", ["update", "delete"])
def test_changing_a_row_of_another_account_raises_scope_violation(session, world_ids, change):
    with unscoped():
        action = session.scalars(sa.select(ActionItem).where(ActionItem.id == world_ids["bravo_action"])).one()
    with scoped_to(only(world_ids["alpha"])):
        if change == "update":
            action.title = "Changed under A"
        else:
            session.delete(action)
        with pytest.raises(ScopeViolation):
            session.flush()
    session.rollback()
    assert _action_titles(session)[world_ids["bravo"]] == "Action of Bravo"


def test_moving_a_row_into_another_account_raises_scope_violation(session, world_ids):
    with scoped_to(only(world_ids["alpha"])):
        action = session.scalars(sa.select(ActionItem)).one()
        action.account_id = world_ids["bravo"]
        with pytest.raises(ScopeViolation):
            session.flush()
    session.rollback()


# --- no scope ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [Account, Invoice, ScopeLine, ChangeRequestLine], ids=lambda cls: cls.__name__)
def test_a_query_outside_a_request_without_a_scope_raises_scope_not_set(app, model):
    # Deliberately not the ``session`` fixture: that one runs under ``unscoped()``.
    with app.app_context():
        with pytest.raises(ScopeNotSet):
            db.session.scalars(sa.select(model)).all()
        with pytest.raises(ScopeNotSet):
            db.session.execute(sa.update(model).values(id=model.id))
        db.session.rollback()


def test_a_count_outside_a_request_without_a_scope_raises_scope_not_set(app):
    with app.app_context():
        with pytest.raises(ScopeNotSet):
            db.session.scalar(sa.select(sa.func.count()).select_from(Invoice))


def test_models_that_belong_to_no_account_are_not_scoped(app):
    with app.app_context():
        assert db.session.scalars(sa.select(User)).all() == []


# --- get_or_404 in a request ---------------------------------------------------------------


@pytest.mark.parametrize("which", ["bravo", "missing", "not-a-number"])
def test_get_or_404_answers_404_for_another_accounts_id_in_a_request(app, session, world_ids, which):
    ident = {"bravo": world_ids["bravo_invoice"], "missing": 987654, "not-a-number": "1 or 1=1"}[which]
    with app.test_request_context("/login"):
        app.preprocess_request()  # the request's own scope: its signed-in user's, not the test's unscoped()
        user = db.session.scalars(sa.select(User).where(User.email == world_ids["alpha_client_email"])).one()
        login_user(user)
        assert get_or_404(db.session, Invoice, world_ids["alpha_invoice"]).id == world_ids["alpha_invoice"]
        with pytest.raises(NotFound):
            get_or_404(db.session, Invoice, ident)


def test_a_request_without_a_signed_in_user_sees_no_account(app, session, world_ids):
    with app.test_request_context("/login"):
        app.preprocess_request()
        assert db.session.scalars(sa.select(Account)).all() == []
        with pytest.raises(NotFound):
            get_or_404(db.session, Account, world_ids["alpha"])


# --- known limits, and the scan that keeps the code away from them ----------------------


def test_known_limit_text_queries_are_not_filtered(session, world_ids):
    """``text()`` bypasses the ORM filter: the portal must never use it on client tables
    (see ``test_portal_code_uses_no_unscoped_loading``)."""
    with scoped_to(only(world_ids["alpha"])):
        seen = set(session.scalars(sa.text("SELECT DISTINCT account_id FROM invoices")))
    assert seen == {world_ids["alpha"], world_ids["bravo"]}


def test_known_limit_core_table_selects_are_not_filtered(session, world_ids):
    """Selecting from ``Model.__table__`` is Core, not ORM: no filter (the scan below
    refuses ``__table__`` outside ``portal/models``)."""
    with scoped_to(only(world_ids["alpha"])):
        seen = set(session.scalars(sa.select(Invoice.__table__.c.account_id)))
    assert seen == {world_ids["alpha"], world_ids["bravo"]}


def test_known_limit_session_get_returns_an_object_already_in_the_identity_map(session, world_ids):
    """``session.get()`` asks the database through the filter only when the object is
    not loaded yet; an object already in the session comes back unfiltered."""
    bravo_invoice = world_ids["bravo_invoice"]
    with scoped_to(only(world_ids["alpha"])):
        assert session.get(Invoice, bravo_invoice) is None
    with unscoped():
        loaded = session.scalars(sa.select(Invoice).where(Invoice.id == bravo_invoice)).one()
    with scoped_to(only(world_ids["alpha"])):
        leaked = session.get(Invoice, bravo_invoice)
    assert leaked is loaded and leaked.account_id == world_ids["bravo"]


# Where raw SQL is allowed: the health check's SELECT 1.
# Statements that load no rows: the health check, and the bulk loader resetting a
# sequence and refreshing statistics after COPY.
TEXT_ALLOWED = {("portal/main/routes.py", "health"), ("portal/billing/scale.py", "load_scale")}
# Modules that build Core statements on tables and run them on the connection, each
# such function adding ``security.scope_condition`` (or ``bound_scope_condition``)
# itself (checked below): the invoice list and the bell's unread count.
TABLE_ALLOWED = {"portal/billing/service.py", "portal/notifications/service.py"}


def _unsafe_loading(source: str, relative: str) -> list[str]:
    """Calls that load rows without the scope filter: ``text(...)`` (except as a
    column's server default or a partial index's condition), ``<db.>session.get(...)``/``get_one`` on the SQLAlchemy
    session, ``db.get_or_404``/``db.first_or_404``/``db.one_or_404``, a model's
    ``__table__`` outside ``portal/models`` (and ``TABLE_ALLOWED``), and a statement run
    with ``connection().execute`` (or ``scalar``, ``scalars``) in a function that does not
    call ``scope_condition`` or ``bound_scope_condition`` (the ORM's scope listener never
    sees it)."""
    tree = ast.parse(source, filename=relative)

    def calls_scope_condition(function: ast.AST) -> bool:
        return any(isinstance(call, ast.Call) and {"scope_condition", "bound_scope_condition"} & {
            getattr(call.func, "id", None), getattr(call.func, "attr", None)}
                   for call in ast.walk(function))

    scoping_functions = {node.name for node in ast.walk(tree)
                         if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and calls_scope_condition(node)}
    flask_session = any(
        isinstance(node, ast.ImportFrom) and node.module == "flask" and any(a.name == "session" and a.asname is None
                                                                          for a in node.names)
        for node in ast.walk(tree)
    )
    defaults = {id(kw.value) for node in ast.walk(tree) if isinstance(node, ast.Call)
                for kw in node.keywords
                if kw.arg in ("server_default", "server_onupdate", "postgresql_where", "sqlite_where")}
    problems = []

    def visit(node, function: str | None):
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Call):
                func = child.func
                where = f"{relative}:{child.lineno}"
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                receiver = func.value if isinstance(func, ast.Attribute) else None
                if called == "text" and id(child) not in defaults and (relative, function) not in TEXT_ALLOWED:
                    if receiver is None or (isinstance(receiver, ast.Name) and receiver.id in ("sa", "sqlalchemy")):
                        problems.append(f"{where}: text()")
                if called in ("get", "get_one") and receiver is not None:
                    is_db_session = isinstance(receiver, ast.Attribute) and receiver.attr == "session"
                    is_session_name = isinstance(receiver, ast.Name) and receiver.id == "session" and not flask_session
                    if is_db_session or is_session_name:
                        problems.append(f"{where}: session.{called}()")
                if (called in ("get_or_404", "first_or_404", "one_or_404", "paginate")
                        and isinstance(receiver, ast.Name) and receiver.id == "db"):
                    problems.append(f"{where}: db.{called}()")
                if (called in ("execute", "scalar", "scalars") and isinstance(receiver, ast.Call)
                        and getattr(receiver.func, "attr", None) == "connection" and function not in scoping_functions):
                    problems.append(f"{where}: connection().execute() without scope_condition")
            if (isinstance(child, ast.Attribute) and child.attr == "__table__"
                    and not relative.startswith("portal/models/") and relative not in TABLE_ALLOWED):
                problems.append(f"{relative}:{child.lineno}: __table__")
            visit(child, name)

    visit(tree, None)
    return problems


def test_portal_code_uses_no_unscoped_loading():
    files = sorted((ROOT / "portal").rglob("*.py"))
    assert files
    problems = [problem for path in files
                for problem in _unsafe_loading(path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix())]
    assert problems == [], "load account-owned rows through a scoped select or security.get_or_404"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import sqlalchemy as sa\ndef f(s):\n    s.execute(sa.text('select * from invoices'))\n", ["text()"]),
        ("from sqlalchemy import text\ndef f(s):\n    s.execute(text('select 1'))\n", ["text()"]),
        ("def f(db, Invoice):\n    return db.session.get(Invoice, 1)\n", ["session.get()"]),
        ("def f(session, Invoice):\n    return session.get(Invoice, 1)\n", ["session.get()"]),
        ("def f(db, Invoice):\n    return db.get_or_404(Invoice, 1)\n", ["db.get_or_404()"]),
        ("from flask import session\ndef f():\n    return session.get('language')\n", []),
        ("import sqlalchemy as sa\nc = sa.Column('n', sa.Integer, server_default=sa.text('0'))\n", []),
        ("import sqlalchemy as sa\ndef f(s, Invoice):\n    s.execute(sa.select(Invoice.__table__))\n", ["__table__"]),
        ("import sqlalchemy as sa\ndef f(s, Invoice):\n    s.connection().execute(sa.select(Invoice.id))\n",
         ["connection().execute() without scope_condition"]),
        ("import sqlalchemy as sa\ndef f(s, Invoice):\n"
         "    s.connection().execute(sa.select(Invoice.id).where(scope_condition(Invoice.account_id)))\n", []),
    ],
)
def test_the_scan_finds_unscoped_loading(code, expected):
    """The scan itself must be able to fail, or the test above proves nothing."""
    problems = _unsafe_loading(code, "portal/probe.py")
    assert [p.split(": ", 1)[1] for p in problems] == expected

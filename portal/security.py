"""Who may see and do what: the one place client data is scoped.

Every ORM statement that touches an account-owned row (``AccountOwned`` models and
``Account`` itself) is filtered to the accounts of the current *scope*:

* in a request, the signed-in user's accounts (a client user: its own; a firm user:
  those assigned to it; an admin: all; nobody signed in: none);
* in the CLI, a worker or a test, whatever ``scoped_to``/``unscoped`` says;
* anywhere else the statement raises ``ScopeNotSet`` rather than guess.

The filter is added in ``do_orm_execute`` with ``with_loader_criteria``, so it holds for
selects, relationship loads (lazy, selectin, joined) and ORM updates and deletes; rows
inserted or updated outside the scope are refused at flush. Views load single objects
with ``get_or_404`` and the API with ``route(load=...)``, which answer 404 for another
account's object exactly as for a missing one. ``session.get()`` is not used for these
models: it can return an object from the identity map without asking the database.

Within their own account, client users see only what each model's ``client_visible``
policy allows (not the firm's drafts and internal notes): the same filter adds it to
their statements, so a hidden row is absent everywhere, lists and 404s alike.

Core statements run on a connection skip that listener. The two places that do so, the
invoice list (the busiest page) and the bell's count of unread notifications (on every
page), add ``scope_condition`` (or its bound form, ``bound_scope_condition``) themselves,
and for a client the model's policy with ``client_condition`` (an invoice held for
finance's review).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import abort, current_app, flash, has_request_context, redirect, session, url_for
from flask_login import current_user, login_fresh
from sqlalchemy import event
from sqlalchemy.sql import util as sql_util
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from portal.models import Account, AccountOwned, Role, User

T = TypeVar("T")


class ScopeNotSet(RuntimeError):
    """An account-owned row was queried with no scope: a bug, never a user error."""


class ScopeViolation(RuntimeError):
    """A row of an account outside the scope was about to be written."""


@dataclass(frozen=True)
class Scope:
    """The accounts a caller may see; ``account_ids=None`` means every account.
    ``client``: the caller is a client user, who sees only the rows each model's
    ``client_visible`` allows."""

    account_ids: frozenset[int] | None
    client: bool = False

    @property
    def is_all(self) -> bool:
        return self.account_ids is None

    def allows(self, account_id: int | None) -> bool:
        return self.account_ids is None or account_id in self.account_ids


ALL_ACCOUNTS = Scope(None)
NO_ACCOUNTS = Scope(frozenset())
_explicit_scope: ContextVar[Scope | None] = ContextVar("portal_scope", default=None)


@contextmanager
def scoped_to(scope: Scope) -> Iterator[Scope]:
    """Run a block (CLI command, job, test) as a caller who sees ``scope``."""
    token = _explicit_scope.set(scope)
    try:
        yield scope
    finally:
        _explicit_scope.reset(token)


def unscoped() -> Any:
    """System work that may touch every account (seeding, imports, scheduled jobs)."""
    return scoped_to(ALL_ACCOUNTS)


def scope_for(user: Any) -> Scope:
    if user is None or not user.is_authenticated:
        return NO_ACCOUNTS
    if user.role is Role.ADMIN:
        return ALL_ACCOUNTS
    if user.is_client:
        return Scope(frozenset({user.account_id}), client=True)
    return Scope(frozenset(user.account_ids))


def current_scope() -> Scope:
    scope = _explicit_scope.get()
    if scope is not None:
        return scope
    if has_request_context():
        return scope_for(current_user._get_current_object())
    raise ScopeNotSet("account-owned data queried outside a request without scoped_to()/unscoped()")


def scope_condition(account_id: sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
    """The current scope as a condition on an ``account_id`` column, for a Core
    statement, which the ORM listener below never sees."""
    scope = current_scope()
    if scope.is_all:
        return sa.true()
    return _in_accounts(account_id, scope.account_ids)


def bound_scope_condition(account_id: sa.ColumnElement[int]) -> tuple[sa.ColumnElement[bool], dict[str, Any]]:
    """``scope_condition`` with the accounts as a bound parameter, and that parameter's
    value. The condition is one object per column and kind of scope (every account,
    one, several), so a statement built on it can be built once and serve every caller
    of that kind (``billing.service.list_page``): building a statement and its cache
    key on each request costs more than running it."""
    scope = current_scope()
    if scope.is_all:
        return _bound_in_accounts(account_id, "all"), {}
    if len(scope.account_ids) == 1:
        return _bound_in_accounts(account_id, "one"), {"scope_account": next(iter(scope.account_ids))}
    return _bound_in_accounts(account_id, "several"), {"scope_accounts": sorted(scope.account_ids)}


@functools.lru_cache(maxsize=256)
def _bound_in_accounts(account_id: sa.ColumnElement[int], kind: str) -> sa.ColumnElement[bool]:
    if kind == "all":
        return sa.true()
    if kind == "one":
        return account_id == sa.bindparam("scope_account")
    return account_id.in_(sa.bindparam("scope_accounts", expanding=True))


def client_condition(model: type) -> sa.ColumnElement[bool]:
    """The model's ``client_visible`` policy when the caller is a client user (else
    true), for a Core statement: the same rule ``_client_policies`` adds to the ORM's.
    One object per model and kind of caller, so a statement built on it can be kept."""
    return _client_condition(model, current_scope().client)


@functools.lru_cache(maxsize=128)
def _client_condition(model: type, client: bool) -> sa.ColumnElement[bool]:
    return model.client_visible if client else sa.true()


@functools.lru_cache(maxsize=1024)
def _in_accounts(account_id: sa.ColumnElement[int], account_ids: frozenset[int]) -> sa.ColumnElement[bool]:
    """Built once per column and scope, as the criteria below; one account (every client
    user) is a plain comparison, which needs no expanding of an IN list per statement."""
    if len(account_ids) == 1:
        return account_id == next(iter(account_ids))
    return account_id.in_(sorted(account_ids))


def _is_account_owned(cls: type) -> bool:
    return issubclass(cls, (AccountOwned, Account))


@functools.cache
def _account_tables() -> frozenset[sa.Table]:
    from portal.models import Base

    return frozenset(m.local_table for m in Base.registry.mappers if _is_account_owned(m.class_))


def _touches_accounts(state: ORMExecuteState) -> bool:
    """Whether the statement reads or writes account-owned rows anywhere: as its
    entities, or only in a FROM, an EXISTS or a subquery (``count()`` of a model)."""
    mapper = state.bind_mapper  # the first entity's: cheap, and the answer for most statements
    if mapper is not None and _is_account_owned(mapper.class_):
        return True
    if any(_is_account_owned(m.class_) for m in state.all_mappers):
        return True
    tables = _account_tables()
    return any(t in tables for t in sql_util.find_tables(state.statement, include_crud=True))


def _add_scope_criteria(state: ORMExecuteState) -> None:
    if state.is_column_load:  # refreshing a row already loaded under this scope
        return
    if not (state.is_select or state.is_update or state.is_delete):
        return
    explicit = _explicit_scope.get()
    if explicit is not None and explicit.is_all:  # unscoped(): nothing to add, nothing to inspect
        return
    if not _touches_accounts(state):
        return
    scope = current_scope()
    if scope.is_all:
        return
    state.statement = state.statement.options(*_scope_criteria(scope.account_ids, scope.client))


@functools.lru_cache(maxsize=1024)
def _scope_criteria(account_ids: frozenset[int], client: bool) -> tuple:
    """The criteria of one scope, built once per set of accounts (a worker sees a few
    hundred users at most): each statement then only attaches them."""
    ids = sorted(account_ids)
    if len(ids) == 1:  # every client user: a comparison, not an IN list expanded on each execution
        (only,) = ids
        accounts = (
            with_loader_criteria(AccountOwned, lambda cls: cls.account_id == only, include_aliases=True),
            with_loader_criteria(Account, lambda cls: cls.id == only, include_aliases=True),
        )
    else:
        accounts = (
            with_loader_criteria(AccountOwned, lambda cls: cls.account_id.in_(ids), include_aliases=True),
            with_loader_criteria(Account, lambda cls: cls.id.in_(ids), include_aliases=True),
        )
    return accounts + _client_policies() if client else accounts


@functools.cache
def _client_policies() -> tuple:
    """Each model's ``client_visible`` as a criterion of every statement of a client user."""
    from portal.models import Base

    return tuple(
        with_loader_criteria(mapper.class_, lambda cls: cls.client_visible, include_aliases=True)
        for mapper in Base.registry.mappers if "client_visible" in mapper.all_orm_descriptors
    )


def client_may_see(user: Any, obj: Any) -> bool:
    """Whether ``user`` may see ``obj`` of an account it sees: what the filter decides
    for rows it loads, for a row loaded in another scope (a job, an e-mail)."""
    return not getattr(user, "is_client", False) or getattr(obj, "client_visible", True)


def _check_write(mapper, connection, target) -> None:
    if target.account_id is None:
        _inherit_account(mapper, target)
    if not current_scope().allows(target.account_id):
        raise ScopeViolation(f"{mapper.class_.__name__} of account {target.account_id} is outside the scope")


def _inherit_account(mapper, target) -> None:
    """Child rows take their parent's account (a CR line its CR's, and so on)."""
    for rel in mapper.relationships:
        if rel.direction is sa.orm.MANYTOONE and issubclass(rel.mapper.class_, AccountOwned):
            parent = target.__dict__.get(rel.key)
            if parent is not None and parent.account_id is not None:
                target.account_id = parent.account_id
                return


def init_app(app) -> None:
    """A request starts with no explicit scope: its scope is its signed-in user's, even
    when the code that issued it (a CLI command, a test) runs under ``unscoped()``."""
    from flask import g

    @app.before_request
    def _request_scope():
        g._portal_scope_token = _explicit_scope.set(None)

    @app.teardown_request
    def _end_request_scope(_error=None):
        token = g.pop("_portal_scope_token", None)
        if token is not None:
            _explicit_scope.reset(token)

    install_scoping()


def install_scoping() -> None:
    """Register the listeners once per process (idempotent)."""
    if event.contains(Session, "do_orm_execute", _add_scope_criteria):
        return
    event.listen(Session, "do_orm_execute", _add_scope_criteria)
    event.listen(AccountOwned, "before_insert", _check_write, propagate=True)
    event.listen(AccountOwned, "before_update", _check_write, propagate=True)
    event.listen(AccountOwned, "before_delete", _check_write, propagate=True)


# --- loading and permission helpers for views -------------------------------------


def get_or_404(session: Session, model: type[T], ident: Any, *options: Any) -> T:
    """Load one row by primary key through the scope: absent and foreign look the same."""
    try:
        ident = int(ident)
    except (TypeError, ValueError):
        abort(404)
    if not 0 < ident < 2**63:  # no row has such a key, and the database would refuse the number
        abort(404)
    obj = session.scalar(sa.select(model).where(model.id == ident).options(*options))
    if obj is None:
        abort(404)
    return obj


def get_user_or_404(session: Session, viewer: Any, ident: Any) -> User:
    """A user ``viewer`` may see (``User.sees_user``). Users belong to no one account, so
    the scope does not filter them: a user outside the viewer's accounts answers 404 here,
    exactly like a missing one."""
    user = get_or_404(session, User, ident)
    if not viewer.sees_user(user):
        abort(404)
    return user


FRESH_AT = "fresh_at"


def mark_fresh() -> None:
    """The password (and code) were given just now: at sign-in, or confirmed again."""
    session[FRESH_AT] = int(time.time())


def sign_in_is_fresh() -> bool:
    """The password (and code) were given in this session within ``FRESH_SIGN_IN``, as
    an API token's decision needs: not a session restored from remember-me, nor one
    signed in hours ago."""
    window = current_app.config["FRESH_SIGN_IN"].total_seconds()
    return login_fresh() and time.time() - session.get(FRESH_AT, 0) <= window


def fresh_login_or_redirect(message: str, next_url: str):
    """Decisions need a fresh sign-in (``sign_in_is_fresh``): ``None`` when it is, else
    the redirect to confirm the password, which comes back to ``next_url`` (the page of
    the decision: the decision itself is a POST)."""
    if sign_in_is_fresh():
        return None
    flash(message, "info")
    return redirect(url_for("auth.reauthenticate", next=next_url))


def has_role(user: Any, *roles: Role) -> bool:
    return bool(user and user.is_authenticated and user.role in roles)


def require_role(*roles: Role) -> Callable:
    """View decorator: signed in (else the login redirect or 401) and one of ``roles`` (else 403)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            from portal.extensions import login_manager

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


FIRM_STAFF = (Role.ACCOUNT_MANAGER, Role.FINANCE, Role.REGIONAL_REVIEWER, Role.ADMIN)
ISSUERS = (Role.ACCOUNT_MANAGER, Role.ADMIN)
APPROVERS = (Role.CLIENT_APPROVER,)
INVITERS = (Role.ADMIN, Role.ACCOUNT_MANAGER, Role.CLIENT_APPROVER)  # who may invite someone (User.may_invite)

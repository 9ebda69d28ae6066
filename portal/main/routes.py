"""Home page, accounts and the language switcher."""

from __future__ import annotations

from itertools import groupby
from operator import attrgetter

import sqlalchemy as sa
from babel.dates import format_time, get_datetime_format
from flask import jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale, to_user_timezone
from flask_login import current_user

from portal.auth.routes import safe_next
from portal import inbox
from portal.extensions import db
from portal.i18n import day, normalise_language
from portal.accounts import current_contract, escalation_matrix, team, visible_accounts
from portal.main import service
from portal.main.readiness import run_checks
from portal.billing.service import purchase_orders
from portal.models import Account, Contract, Role, User
from portal.models.base import utcnow
from portal.onboarding.service import can_manage
from portal.people.service import can_edit_matrix
from portal.security import FIRM_STAFF, get_or_404, require_role
from portal.web import Blueprint

bp = Blueprint("main", __name__)


@bp.route("/")
def home():
    """The signed-in user's work: their inbox, then their accounts."""
    accounts = visible_accounts(db.session)
    summaries = service.account_summaries(db.session, accounts)
    now = utcnow()
    items = inbox.items_for(db.session, current_user, accounts=accounts, now=now)
    names = {a.id: a.name_in(current_user.language) for a in accounts} if len(accounts) > 1 else {}
    return render_template("main/home.html", accounts=accounts, summaries=summaries, items=items, now=now, names=names,
                           due_text=_due_text)


def _due_text(item: inbox.InboxItem) -> str:
    """When an item is due, in the reader's words: a whole-day deadline as its date (of
    the account's calendar), an SLA target as date and time in the reader's time zone."""
    if item.due_on is not None:
        return day(item.due_on)
    if item.due_at is None:
        return ""
    local = to_user_timezone(item.due_at)
    joined = get_datetime_format("medium", locale=get_locale())
    return joined.replace("{1}", day(local.date())).replace("{0}", format_time(local, "short", locale=get_locale()))


@bp.route("/accounts")
@require_role(*FIRM_STAFF)
def accounts():
    accounts = visible_accounts(db.session)
    summaries = service.account_summaries(db.session, accounts)
    return render_template("main/accounts.html", accounts=accounts, summaries=summaries)


@bp.route("/accounts/<int:account_id>")
def account(account_id: int):
    account = get_or_404(db.session, Account, account_id)
    contract = current_contract(db.session, account)
    firm = current_user.is_firm
    return render_template("main/account.html", account=account, contract=contract,
                           escalation=escalation_matrix(db.session, account),
                           team=_by_role(team(db.session, account)) if firm else [],
                           edits_matrix=can_edit_matrix(current_user, account),
                           contracts=_contracts(account) if firm else [],
                           orders=purchase_orders(db.session, account) if firm else [],
                           manages=can_manage(current_user, account), today=account.today())


def _contracts(account: Account) -> list[Contract]:
    """Every contract of the account, the latest first."""
    return list(db.session.scalars(sa.select(Contract).where(Contract.account_id == account.id)
                                   .order_by(Contract.start_date.desc(), Contract.id.desc())))


def _by_role(users: list[User]) -> list[tuple[Role, list[User]]]:
    return [(role, list(members)) for role, members in groupby(users, key=attrgetter("role"))]


@bp.route("/language", methods=["POST"])
def set_language():
    language = normalise_language(request.form.get("language"))
    if language:
        if current_user.is_authenticated:
            current_user.language = language
        else:
            session["language"] = language
    return redirect(safe_next(request.form.get("next")) or url_for("main.home"))


@bp.route("/healthz")
def health():
    """For load balancers: the app answers and the database does too."""
    db.session.execute(sa.text("SELECT 1"))
    return jsonify(status="ok")


@bp.route("/readyz")
def readiness():
    """For load balancers and orchestrators: 200 when the database and the other
    services the portal uses answer, else 503 naming what failed."""
    checks = run_checks()
    return jsonify(checks=checks), 200 if all(result == "ok" for result in checks.values()) else 503

"""The Master Action Registry: the list with ageing and the quarter view, raising and
editing items (the firm), comments and closing own items (the client), exports."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.actions import service
from portal.actions.forms import ActionCommentForm, ActionForm, DoneForm
from portal.exports import table_response
from portal.extensions import db
from portal.forms import choices, fill_texts, texts
from portal.i18n import day, label, localized
from portal.accounts import firm_team, todays as local_todays, visible_accounts
from portal.models import Account, ActionItem, ActionSource, ActionStatus, Kpi, OwnerSide, User
from portal.security import ISSUERS, get_or_404, require_role
from portal.web import Blueprint, keep_form

bp = Blueprint("actions", __name__)


def _quarter() -> tuple[int, int] | None:
    raw = request.args.get("quarter", "")  # 2026-Q2
    try:
        year, q = raw.split("-Q")
        return (int(year), int(q)) if 1 <= int(q) <= 4 else None
    except ValueError:
        return None


@bp.route("/actions")
def index():
    accounts = visible_accounts(db.session)
    todays = local_todays(accounts)
    quarter = _quarter()
    # A quarter's registry is every item due in it, closed or not, unless filtered.
    status = request.args.get("status") or ("all" if quarter else "open")
    query = service.registry_query(account_id=request.args.get("account", type=int), status=status,
                                   owner_side=request.args.get("owner"), quarter=quarter)
    items = db.session.scalars(query.limit(1000)).all()
    by_id = {a.id: a for a in accounts}
    if request.args.get("overdue"):
        items = [i for i in items if service.is_overdue(i, todays[i.account_id])]
    fmt = request.args.get("format")
    if fmt:
        header = [_("Account"), _("Title"), _("Owned by"), _("Owner"), _("Source"), _("Raised"), _("Due date"),
                  _("Status"), _("Closed"), _("Overdue"), _("Age")]
        rows = [[by_id[i.account_id].name, localized(i, "title"), label("owner_side", i.owner_side), i.owner_name,
                 label("action_source", i.source), service.raised_on(i, by_id[i.account_id]), i.due_date,
                 label("action_status", i.status), i.closed_on or "", _("yes") if service.is_overdue(i, todays[i.account_id]) else "",
                 label("age", service.age_bucket(i, by_id[i.account_id], todays[i.account_id]))] for i in items]
        return table_response(fmt, "action-registry", header, rows)
    ages = {i.id: service.age_bucket(i, by_id[i.account_id], todays[i.account_id]) for i in items}
    age_counts = {b: sum(1 for i in items if ages[i.id] == b and i.status in service.OPEN) for b in service.AGE_BUCKETS}
    summary = None
    if quarter:
        whole = db.session.scalars(service.registry_query(account_id=request.args.get("account", type=int),
                                                          status="all", quarter=quarter)).all()
        summary = service.summarize(whole, todays)
    return render_template("actions/index.html", items=items, accounts=accounts, names={a.id: a.name for a in accounts},
                           todays=todays, ages=ages, age_counts=age_counts, quarter=quarter, status=status,
                           summary=summary, args=request.args,
                           is_overdue=service.is_overdue, can_edit=current_user.role in ISSUERS)


def _form_choices(form: ActionForm, account: Account) -> None:
    form.owner.choices = choices([(0, "—")] + [(u.id, u.name) for u in firm_team(db.session, account)])


def _owner(form: ActionForm) -> User | None:
    if not form.owner.data:
        return None
    return db.session.scalar(sa.select(User).where(User.id == form.owner.data))


@bp.route("/actions/new", methods=["GET", "POST"])
@require_role(*ISSUERS)
def new():
    account = get_or_404(db.session, Account, request.args.get("account", type=int))
    kpi = get_or_404(db.session, Kpi, request.args.get("kpi", type=int)) if request.args.get("kpi") else None
    form = ActionForm()
    _form_choices(form, account)
    if request.method == "GET" and kpi is not None:
        form.source.data = ActionSource.KPI.value
        form.title.data = _("Bring %(kpi)s back to target", kpi=localized(kpi.name))
    page = keep_form(form, lambda: render_template("actions/form.html", form=form, account=account, item=None, kpi=kpi))
    if form.validate_on_submit():
        item = service.create(
            db.session, account, current_user, title=form.title.data, description=form.description.data or "",
            owner_side=OwnerSide(form.owner_side.data), owner=_owner(form), owner_name=form.owner_name.data or "",
            source=ActionSource(form.source.data), due_date=form.due_date.data,
            extension_reason=form.extension_reason.data or "", kpi_id=kpi.id if kpi else None,
            title_translations=texts(form, "title"),
        )
        flash(_("Action item raised, due %(date)s.", date=day(item.due_date)), "success")
        return redirect(url_for("actions.detail", action_id=item.id))
    return page()


@bp.route("/actions/<int:action_id>", methods=["GET", "POST"])
def detail(action_id: int):
    item = get_or_404(db.session, ActionItem, action_id)
    account = get_or_404(db.session, Account, item.account_id)
    form = ActionForm(obj=None)
    _form_choices(form, account)
    can_edit = current_user.role in ISSUERS
    if request.method == "POST" and not can_edit:
        abort(403)
    page = keep_form(form, lambda: _detail_page(item, account, form, can_edit))
    if request.method == "GET":
        form.title.data, form.description.data = item.title, item.description
        fill_texts(form, "title", item.title_translations)
        form.owner_side.data, form.owner.data, form.owner_name.data = item.owner_side.value, item.owner_id or 0, item.owner_name
        form.source.data, form.due_date.data, form.status.data = item.source.value, item.due_date, item.status.value
    elif can_edit and form.validate_on_submit():
        service.update(db.session, item, account, current_user, title=form.title.data,
                       description=form.description.data or "", owner_side=OwnerSide(form.owner_side.data),
                       owner=_owner(form), owner_name=None if form.owner.data else (form.owner_name.data or ""),
                       due_date=form.due_date.data, extension_reason=form.extension_reason.data or "",
                       status=ActionStatus(form.status.data), title_translations=texts(form, "title"))
        flash(_("Changes saved."), "success")
        return redirect(url_for("actions.detail", action_id=item.id))
    return page()


def _detail_page(item: ActionItem, account: Account, form: ActionForm, can_edit: bool):
    today = account.today()
    return render_template("actions/detail.html", item=item, account=account, form=form, can_edit=can_edit,
                           comment_form=ActionCommentForm(), done_form=DoneForm(), overdue=service.is_overdue(item, today),
                           age=service.age_bucket(item, account, today), raised=service.raised_on(item, account))


@bp.route("/actions/<int:action_id>/comments", methods=["POST"], back="actions.detail")
def comment(action_id: int):
    item = get_or_404(db.session, ActionItem, action_id)
    form = ActionCommentForm()
    if form.validate_on_submit():
        service.comment(db.session, item, current_user, form.body.data)
        flash(_("Your comment is added."), "success")
    else:
        flash(_("Write a comment first."), "error")
    return redirect(url_for("actions.detail", action_id=item.id, _anchor="comments"))


@bp.route("/actions/<int:action_id>/done", methods=["POST"], back="actions.detail")
def done(action_id: int):
    item = get_or_404(db.session, ActionItem, action_id)
    account = get_or_404(db.session, Account, item.account_id)
    if DoneForm().validate_on_submit():
        if current_user.is_client:
            service.mark_done_by_client(db.session, item, account, current_user)
        elif current_user.role in ISSUERS:
            service.update(db.session, item, account, current_user, status=ActionStatus.DONE)
        else:
            flash(_("You do not have permission to do this."), "error")
            return redirect(url_for("actions.detail", action_id=item.id))
        flash(_("Marked as done."), "success")
    return redirect(url_for("actions.detail", action_id=item.id))

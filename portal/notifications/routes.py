"""In-app notifications: the bell's count in the header, the list page, following a
notification to its item (which marks it read), marking read, and the choice of e-mail
saved from the settings page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal.accounts import visible_accounts
from portal.database import is_outage, may_write
from portal.extensions import db
from portal.forms import flash_errors
from portal.notifications import service
from portal.notifications.forms import EmailChoiceForm, MarkAllReadForm, MarkReadForm
from portal.web import Blueprint

bp = Blueprint("notifications", __name__)


@bp.app_template_global()
def unread_notifications() -> int:
    """The signed-in user's unread count, for the bell: asked once per request. An error
    page shown while the database is gone (a 404 of a request whose connection dropped)
    is shown without the count rather than not at all. Any other page is not: its
    request's work could no longer be committed, and it is answered 503."""
    if "_unread_notifications" not in g:
        try:
            count = service.unread_count(db.session, current_user) if current_user.is_authenticated else 0
        except sa.exc.SQLAlchemyError as error:
            if not (is_outage(error) and g.get("error_page")):
                raise
            count = 0
        g._unread_notifications = count
    return g._unread_notifications


@bp.app_template_global()
def notifications_label(count: int) -> str:
    """The bell's accessible name: "Notifications, 3 unread"."""
    if not count:
        return _("Notifications, none unread")
    return ngettext("Notifications, %(num)d unread", "Notifications, %(num)d unread", count)


@bp.route("/notifications")
def index():
    """The signed-in user's notifications, newest first (``?unread=1``: only the unread
    ones; ``?before=ID``: the older page)."""
    unread_only = request.args.get("unread") == "1"
    items, older = service.page(db.session, current_user, before=request.args.get("before", type=int),
                                unread_only=unread_only)
    names = {a.id: a.name_in(current_user.language) for a in visible_accounts(db.session)}
    return render_template("notifications/list.html", items=items, older=older, unread_only=unread_only, names=names,
                           mark_one=MarkReadForm(), mark_all=MarkAllReadForm())


@bp.route("/notifications/<int:notification_id>")
@may_write
def follow(notification_id: int):
    """Open the item a notification is about, marking it read."""
    notification = service.own_or_404(db.session, current_user, notification_id)
    target = service.followed(notification)
    return redirect(target or url_for("notifications.index"))


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
def mark_read(notification_id: int):
    notification = service.own_or_404(db.session, current_user, notification_id)
    if MarkReadForm().validate_on_submit():
        service.mark_read(notification)
    return redirect(_back_to_list())


@bp.route("/notifications/read", methods=["POST"])
def mark_all_read():
    if MarkAllReadForm().validate_on_submit():
        marked = service.mark_all_read(db.session, current_user)
        flash(ngettext("%(num)d notification marked read.", "%(num)d notifications marked read.", marked), "success")
    return redirect(_back_to_list())


@bp.route("/account/notifications", methods=["POST"], back="auth.settings")
def email_choices():
    """The choice of e-mail per kind, from the settings page."""
    form = EmailChoiceForm.for_user(current_user, service.settings_of(db.session, current_user))
    if form.validate_on_submit():
        service.choose_email(db.session, current_user, by_email=form.by_email.data or [],
                             daily_digest=form.daily_digest.data)
        flash(_("Your e-mail choices are saved."), "success")
    else:
        flash_errors(form)
    return redirect(url_for("auth.settings", _anchor="notifications"))


def _back_to_list() -> str:
    """The list as it was shown (only unread, an older page)."""
    args = {key: request.args[key] for key in ("unread", "before") if request.args.get(key)}
    return url_for("notifications.index", **args)

"""/notifications: the caller's own in-app notifications, and marking them read."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field

from portal.api import bp
from portal.api.common import PAGE_QUERY, ApiError, iso_time, paginate, route
from portal.extensions import db
from portal.models import InAppNotification
from portal.notifications import service


class NotificationOut(BaseModel):
    id: int
    account_id: int
    kind: str = Field(description="What happened: cr_awaiting_approval, request_reply, document_issued, ...")
    title: str = Field(description="A short title, in the caller's language when it was made.")
    url: str | None = Field(description="The path of the item it is about, under the portal's address.")
    created_at: str
    read_at: str | None


class NotificationList(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int


class MarkedRead(BaseModel):
    marked: int


def notification_json(n: InAppNotification) -> dict:
    return {"id": n.id, "account_id": n.account_id, "kind": n.kind, "title": n.title, "url": n.link,
            "created_at": iso_time(n.created_at), "read_at": iso_time(n.read_at)}


@route(bp, "/notifications", "GET", "The caller's in-app notifications (the same events as the e-mails), newest "
       "first, each with read_at (null while unread); and how many are unread.", response=NotificationList,
       tag="notifications", query={**PAGE_QUERY, "unread": "true: only the unread ones"})
def list_notifications():
    query = service.of_user(current_user)
    unread = request.args.get("unread", "").lower()
    if unread not in ("", "true", "false", "1", "0"):
        raise ApiError(422, _("Some fields are not valid."), fields={"unread": "true or false"})
    if unread in ("true", "1"):
        query = query.where(InAppNotification.read_at.is_(None))
    listed = paginate(db.session, query, [InAppNotification.created_at, InAppNotification.id], notification_json)
    return {**listed, "unread_count": service.unread_count(db.session, current_user)}


@route(bp, "/notifications/<int:notification_id>/read", "POST", "Mark one of the caller's notifications read "
       "(again: it keeps when it was first read). Another user's answers 404.", response=NotificationOut,
       tag="notifications")
def read_notification(notification_id: int):
    notification = service.mark_read(service.own_or_404(db.session, current_user, notification_id))
    db.session.flush()
    return notification_json(notification)


@route(bp, "/notifications/read", "POST", "Mark every unread notification of the caller read.",
       response=MarkedRead, tag="notifications")
def read_all_notifications():
    return {"marked": service.mark_all_read(db.session, current_user)}

"""/requests, /requests/{id}, /requests/{id}/comments and /feedback."""

from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field

from portal.api import bp
from portal.api.common import PAGE_QUERY, ApiError, iso_time, paginate, route
from portal.extensions import db
from portal.models import Account, Priority, RequestCategory, RequestComment, RequestStatus, ServiceRequest
from portal.security import get_or_404
from portal.service_requests import service
from portal.service_requests.routes import CLIENTS, RAISERS

Text = Field(min_length=1, max_length=20_000)


class RequestIn(BaseModel):
    category: Literal["billing", "service", "scope", "other"]
    subject: str = Field(min_length=1, max_length=200)
    description: str = Text
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    account_id: int | None = None  # firm users say which account; a client's is its own


class CommentIn(BaseModel):
    body: str = Text
    internal: bool = False


class FeedbackIn(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=5000)
    request_id: int | None = None


class UserRef(BaseModel):
    id: int
    name: str


class CommentOut(BaseModel):
    id: int
    account_id: int
    author: UserRef | None
    body: str
    internal: bool
    created_at: str


class RequestOut(BaseModel):
    id: int
    account_id: int
    category: str
    subject: str
    description: str
    priority: str
    status: str
    escalation_level: int
    sla_due_at: str | None
    first_response_due_at: str | None
    resolution_due_at: str | None
    assignee: UserRef | None
    created_at: str
    updated_at: str


class RequestDetail(RequestOut):
    comments: list[CommentOut]


class RequestList(BaseModel):
    items: list[RequestOut]
    next_cursor: str | None


class FeedbackOut(BaseModel):
    id: int
    account_id: int
    rating: int
    comment: str
    request_id: int | None
    created_at: str


def _user(user) -> dict | None:
    return {"id": user.id, "name": user.name} if user else None


def request_json(r: ServiceRequest) -> dict:
    return {
        "id": r.id, "account_id": r.account_id, "category": r.category.value, "subject": r.subject,
        "description": r.description, "priority": r.priority.value, "status": r.status.value,
        "escalation_level": r.escalation_level, "sla_due_at": iso_time(service.next_due(r)),
        "first_response_due_at": iso_time(r.first_response_due_at), "resolution_due_at": iso_time(r.resolution_due_at),
        "assignee": _user(r.assignee), "created_at": iso_time(r.created_at), "updated_at": iso_time(r.updated_at),
    }


def comment_json(c: RequestComment) -> dict:
    return {"id": c.id, "account_id": c.account_id, "author": _user(c.author), "body": c.body, "internal": c.internal,
            "created_at": iso_time(c.created_at)}


@route(bp, "/requests", "GET", "Service requests, newest first", response=RequestList, tag="requests",
       query={**PAGE_QUERY, "status": "open, in_progress, waiting_client, resolved or closed"})
def list_requests():
    query = sa.select(ServiceRequest)
    wanted = request.args.get("status")
    if wanted:
        if wanted not in {s.value for s in RequestStatus}:
            raise ApiError(422, _("Some fields are not valid."), fields={"status": "unknown status"})
        query = query.where(ServiceRequest.status == RequestStatus(wanted))
    return paginate(db.session, query, [ServiceRequest.created_at, ServiceRequest.id], request_json)


@route(bp, "/requests", "POST", "Raise a service request", roles=RAISERS, body=RequestIn, response=RequestOut,
       status=201, tag="requests")
def create_request(body: RequestIn):
    if current_user.is_client:
        account_id = current_user.account_id
    elif body.account_id is None:
        raise ApiError(422, _("Some fields are not valid."), fields={"account_id": "required"})
    else:
        account_id = body.account_id
    account = get_or_404(db.session, Account, account_id)
    created = service.create_request(
        db.session, account, current_user, category=RequestCategory(body.category), subject=body.subject,
        description=body.description, priority=Priority(body.priority),
    )
    return request_json(created), 201


@route(bp, "/requests/<int:request_id>", "GET", "A request with its conversation", response=RequestDetail,
       tag="requests", load={"request_id": ServiceRequest})
def get_request(service_request: ServiceRequest):
    comments = service.visible_comments(service_request, current_user)
    return {**request_json(service_request), "comments": [comment_json(c) for c in comments]}


@route(bp, "/requests/<int:request_id>/comments", "POST", "Reply on a request", roles=RAISERS, body=CommentIn,
       response=CommentOut, status=201, tag="requests", load={"request_id": ServiceRequest})
def add_comment(service_request: ServiceRequest, body: CommentIn):
    account = get_or_404(db.session, Account, service_request.account_id)
    comment = service.add_comment(db.session, service_request, account, current_user, body.body,
                                  internal=body.internal and current_user.is_firm)
    return comment_json(comment), 201


@route(bp, "/feedback", "POST", "Rate the service, or one resolved request", roles=CLIENTS, body=FeedbackIn,
       response=FeedbackOut, status=201, tag="requests")
def give_feedback(body: FeedbackIn):
    account = get_or_404(db.session, Account, current_user.account_id)
    rated = get_or_404(db.session, ServiceRequest, body.request_id) if body.request_id is not None else None
    feedback = service.give_feedback(db.session, account, current_user, rating=body.rating, comment=body.comment,
                                     request=rated)
    return {"id": feedback.id, "account_id": feedback.account_id, "rating": feedback.rating, "comment": feedback.comment,
            "request_id": feedback.request_id, "created_at": iso_time(feedback.created_at)}, 201

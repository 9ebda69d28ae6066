"""GET /inbox: what waits for the caller, as the home page lists it."""

from __future__ import annotations

from typing import Literal

from flask_login import current_user
from pydantic import BaseModel, Field

from portal import inbox
from portal.api import bp
from portal.api.common import iso_time, route
from portal.extensions import db


class InboxItemOut(BaseModel):
    kind: Literal[inbox.KINDS] = Field(description="The work waiting: approve a change request (the client's approver; "
                                                    "internally, an administrator), review or sign off a plan, review a "
                                                    "document, reply to a request, an action item due within 7 days or "
                                                    "overdue, acknowledge the latest scorecard, an overdue invoice, an "
                                                    "invoice held for its prices (finance)")
    id: int = Field(description="The object's id (a scorecard: its month as YYYYMM)")
    account_id: int
    title: str = Field(description="In the caller's language")
    due_at: str | None = Field(description="ISO 8601 UTC; a due date is due at the end of that day in the account's "
                                           "time zone; null when the work has no deadline")
    url: str = Field(description="The page where the work is done, relative to the portal's address")


class InboxOut(BaseModel):
    items: list[InboxItemOut] = Field(description="Oldest due first, those without a due time last")


def item_json(item: inbox.InboxItem) -> dict:
    return {"kind": item.kind, "id": item.id, "account_id": item.account_id, "title": item.title,
            "due_at": iso_time(item.due_at), "url": item.url}


@route(bp, "/inbox", "GET", "What waits for the caller", response=InboxOut, tag="inbox")
def inbox_items():
    return {"items": [item_json(item) for item in inbox.items_for(db.session, current_user)]}

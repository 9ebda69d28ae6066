"""GET /search: what the caller may see, found by number or by words in any language."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from pydantic import BaseModel, Field

from portal.api import bp
from portal.api.common import route
from portal.extensions import db
from portal.i18n import current_language
from portal.search import service


class SearchHit(BaseModel):
    kind: str = Field(description="request, change_request, invoice, document, plan or action")
    id: int
    account_id: int
    title: str = Field(description="with its number, in the caller's language")
    url: str = Field(description="the object's page in the portal")


class SearchResults(BaseModel):
    items: list[SearchHit]
    more: bool = Field(description=f"more matched than the {service.LIMIT} listed: add words to narrow the search")


@route(bp, "/search", "GET", "Requests, change requests, invoices, documents, plans and action items the caller may "
       "see, by number or by words of their titles in any of the three languages", response=SearchResults, tag="search",
       query={"q": f"a number (CR-0042, INV-2026-0001) or words, {service.MIN_LENGTH} to {service.MAX_LENGTH} "
                   "characters; every word must match"})
def search():
    results = service.search(db.session, current_user, request.args.get("q"), language=current_language())
    return {"items": [{"kind": hit.kind, "id": hit.id, "account_id": hit.account_id, "title": hit.title, "url": hit.url}
                      for hit in results.hits], "more": results.more}

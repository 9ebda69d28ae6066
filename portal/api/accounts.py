"""GET /me and GET /accounts."""

from __future__ import annotations

import sqlalchemy as sa
from flask_login import current_user
from pydantic import BaseModel

from portal.api import bp
from portal.api.common import PAGE_QUERY, paginate, route
from portal.extensions import db
from portal.models import Account


class AccountRef(BaseModel):
    id: int
    name: str


class Me(BaseModel):
    email: str
    name: str
    role: str
    language: str
    timezone: str
    account: AccountRef | None


class AccountOut(BaseModel):
    id: int
    account_id: int
    name: str
    country: str
    tier: str
    timezone: str
    document_languages: list[str]


class AccountList(BaseModel):
    items: list[AccountOut]
    next_cursor: str | None


def account_json(account: Account) -> dict:
    return {
        "id": account.id,
        "account_id": account.id,
        "name": account.name,
        "country": account.country,
        "tier": account.tier.value,
        "timezone": account.timezone,
        "document_languages": account.document_languages,
    }


@route(bp, "/me", "GET", "The signed-in user", response=Me, tag="accounts")
def me():
    user = current_user
    account = db.session.scalar(sa.select(Account).where(Account.id == user.account_id)) if user.account_id else None
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "language": user.language,
        "timezone": user.timezone,
        "account": {"id": account.id, "name": account.name} if account else None,
    }


@route(bp, "/accounts", "GET", "Accounts the caller may see", response=AccountList, tag="accounts", query=PAGE_QUERY)
def accounts():
    return paginate(db.session, sa.select(Account), [Account.id], account_json)

"""GET /me and GET /accounts."""

from __future__ import annotations

import sqlalchemy as sa
from flask_login import current_user
from pydantic import BaseModel, Field

from portal.api import bp
from portal.api.common import PAGE_QUERY, money, paginate, route
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
    locale: str | None = Field(description="the regional form of the language dates follow, e.g. en-GB; "
                                           "null: the language's own")
    timezone: str
    account: AccountRef | None


class RepresentativeOut(BaseModel):
    name: dict[str, str]
    title: dict[str, str]


class AccountOut(BaseModel):
    id: int
    account_id: int
    name: str = Field(description="The legal name as registered: in the language of the account's country "
                                  "(Chinese for CN, Vietnamese for VN) when given, else in English")
    names: dict[str, str] = Field(description="The legal name per language, English first")
    country: str
    tier: str
    timezone: str
    currency: str
    document_languages: list[str]
    approval_threshold: str | None = Field(
        default=None, description="A change request whose price impact exceeds it needs the firm's internal "
                                  "approval first; the firm's own: shown to firm users only")
    address: dict[str, str]
    tax_id: str
    representative: RepresentativeOut
    prevailing_language: str | None = Field(description="The language that prevails in a bilingual document")
    review_languages: list[str] | None = Field(
        default=None, description="Languages whose documents its regional reviewer approves before issue; "
                                  "firm users only")


class AccountList(BaseModel):
    items: list[AccountOut]
    next_cursor: str | None


def account_json(account: Account) -> dict:
    """The account as the caller may read it: the firm's internal approval threshold
    only for the firm's users."""
    answer = {
        "id": account.id,
        "account_id": account.id,
        "name": account.name,
        "names": account.names,
        "country": account.country,
        "tier": account.tier.value,
        "timezone": account.timezone,
        "currency": account.currency,
        "document_languages": account.document_languages,
        "address": account.address,
        "tax_id": account.tax_id,
        "representative": {"name": account.representative_name, "title": account.representative_title},
        "prevailing_language": account.prevailing_language,
    }
    if current_user.is_firm:
        answer["approval_threshold"] = money(account.cr_approval_threshold, account.currency)
        answer["review_languages"] = account.review_languages
    return answer


@route(bp, "/me", "GET", "The signed-in user", response=Me, tag="accounts")
def me():
    user = current_user
    account = db.session.scalar(sa.select(Account).where(Account.id == user.account_id)) if user.account_id else None
    return {
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "language": user.language,
        "locale": user.locale,
        "timezone": user.timezone,
        "account": {"id": account.id, "name": account.name} if account else None,
    }


@route(bp, "/accounts", "GET", "Accounts the caller may see", response=AccountList, tag="accounts", query=PAGE_QUERY)
def accounts():
    return paginate(db.session, sa.select(Account), [Account.id], account_json)

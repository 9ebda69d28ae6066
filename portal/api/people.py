"""The people around an account: its escalation matrix (``/accounts/{id}/escalation-contacts``),
the firm's team on it (``/accounts/{id}/team``) and the client's approval limits
(``/accounts/{id}/approval-limits``), each read and replaced whole."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from flask_login import current_user
from pydantic import BaseModel, Field

from portal.accounts import escalation_matrix, team
from portal.api import bp
from portal.api.change_requests import Text
from portal.api.common import money, route
from portal.extensions import db
from portal.models import Account, EscalationContact, OwnerSide, Role, User
from portal.people import service
from portal.security import FIRM_STAFF, ISSUERS


class ContactIn(BaseModel):
    level: int = Field(ge=1, le=3)
    side: Literal["firm", "client"]
    name: str = Field(max_length=200)
    title: Text
    email: str = Field(max_length=254)
    phone: str = Field(default="", max_length=50)


class EscalationContactsIn(BaseModel):
    contacts: list[ContactIn] = Field(max_length=60)


class ContactOut(BaseModel):
    id: int
    account_id: int
    level: int
    side: str
    name: str
    title: dict[str, str]
    email: str
    phone: str
    user_id: int | None


class EscalationContactsOut(BaseModel):
    account_id: int
    contacts: list[ContactOut]


class MemberIn(BaseModel):
    user_id: int = Field(ge=1, lt=2**63)
    role: Literal["account_manager", "regional_reviewer", "finance"]


class TeamIn(BaseModel):
    members: list[MemberIn] = Field(max_length=500)


class MemberOut(BaseModel):
    user_id: int
    email: str
    name: str
    role: str
    active: bool


class TeamOut(BaseModel):
    account_id: int
    members: list[MemberOut]


class ApprovalLimitIn(BaseModel):
    user_id: int = Field(ge=1, lt=2**63)
    approval_limit: Decimal | None = Field(ge=0, max_digits=16, decimal_places=4,
                                           description="In the account's currency; null: no limit")


class ApprovalLimitsIn(BaseModel):
    approvers: list[ApprovalLimitIn] = Field(max_length=200, description="The approvers whose limit is set")
    higher_authority_id: int | None = Field(default=None, description="The client approver who may approve any "
                                                                      "amount; null: none")


class ApprovalLimitOut(BaseModel):
    user_id: int
    name: str
    active: bool
    approval_limit: str | None
    higher_authority: bool


class ApprovalLimitsOut(BaseModel):
    account_id: int
    currency: str
    approvers: list[ApprovalLimitOut]


def _limits_json(account: Account, approvers: list[User]) -> dict:
    return {"account_id": account.id, "currency": account.currency, "approvers": [
        {"user_id": u.id, "name": u.name, "active": u.active, "approval_limit": money(u.approval_limit, account.currency),
         "higher_authority": u.higher_authority} for u in approvers]}


def _contact_json(contact: EscalationContact) -> dict:
    return {"id": contact.id, "account_id": contact.account_id, "level": contact.level, "side": contact.side.value,
            "name": contact.name, "title": contact.title, "email": contact.email, "phone": contact.phone,
            "user_id": contact.user_id}


def _matrix_json(account: Account, contacts: list[EscalationContact]) -> dict:
    return {"account_id": account.id, "contacts": [_contact_json(c) for c in contacts]}


def _team_json(account: Account, members: list[User]) -> dict:
    return {"account_id": account.id, "members": [
        {"user_id": u.id, "email": u.email, "name": u.name, "role": u.role.value, "active": u.active} for u in members]}


@route(bp, "/accounts/<int:account_id>/escalation-contacts", "GET", "The account's escalation matrix, by level",
       response=EscalationContactsOut, load={"account_id": Account}, tag="accounts")
def get_escalation_contacts(account: Account):
    return _matrix_json(account, [c for level in escalation_matrix(db.session, account).values() for c in level])


@route(bp, "/accounts/<int:account_id>/escalation-contacts", "PUT",
       "Replace the account's escalation matrix (title: text, or per language)", roles=ISSUERS,
       body=EscalationContactsIn, response=EscalationContactsOut, load={"account_id": Account}, tag="accounts")
def put_escalation_contacts(account: Account, body: EscalationContactsIn):
    contacts = [service.ContactInput(level=c.level, side=OwnerSide(c.side), name=c.name, email=c.email,
                                     title=c.title, phone=c.phone) for c in body.contacts]
    return _matrix_json(account, service.replace_escalation_matrix(db.session, account, current_user, contacts))


@route(bp, "/accounts/<int:account_id>/team", "GET", "The firm's team on the account", roles=FIRM_STAFF,
       response=TeamOut, load={"account_id": Account}, tag="accounts")
def get_team(account: Account):
    return _team_json(account, team(db.session, account, active_only=False))


@route(bp, "/accounts/<int:account_id>/team", "PUT",
       "Replace the firm's team on the account; each member in the role the user has", roles=(Role.ADMIN,),
       body=TeamIn, response=TeamOut, load={"account_id": Account}, tag="accounts")
def put_team(account: Account, body: TeamIn):
    members = [service.TeamMember(user_id=m.user_id, role=Role(m.role)) for m in body.members]
    return _team_json(account, service.set_team(db.session, account, current_user, members))


@route(bp, "/accounts/<int:account_id>/approval-limits", "GET",
       "The client's delegation of authority: each client approver's limit on a change request's price impact",
       roles=(Role.ADMIN, Role.ACCOUNT_MANAGER), response=ApprovalLimitsOut, load={"account_id": Account},
       tag="accounts")
def get_approval_limits(account: Account):
    return _limits_json(account, service.account_approvers(db.session, account))


@route(bp, "/accounts/<int:account_id>/approval-limits", "PUT",
       "Set client approvers' limits and the account's higher authority; above an approver's limit a change request "
       "needs a second approver whose limit covers it, or the higher authority",
       roles=(Role.ADMIN, Role.ACCOUNT_MANAGER), body=ApprovalLimitsIn, response=ApprovalLimitsOut,
       load={"account_id": Account}, tag="accounts")
def put_approval_limits(account: Account, body: ApprovalLimitsIn):
    limits = [service.ApprovalLimit(a.user_id, a.approval_limit) for a in body.approvers]
    return _limits_json(account, service.set_approval_limits(db.session, account, current_user, limits,
                                                             body.higher_authority_id))

"""The people around an account: its escalation matrix (``/accounts/{id}/escalation-contacts``)
and the firm's team on it (``/accounts/{id}/team``), each read and replaced whole."""

from __future__ import annotations

from typing import Literal

from flask_login import current_user
from pydantic import BaseModel, Field

from portal.accounts import escalation_matrix, team
from portal.api import bp
from portal.api.change_requests import Text
from portal.api.common import route
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

"""GET /users and POST /users: the users the caller sees, and inviting one."""

from __future__ import annotations

from typing import Literal

from flask_login import current_user
from pydantic import BaseModel, Field

from portal.api import bp
from portal.api.common import PAGE_QUERY, paginate, route
from portal.extensions import db
from portal.models import Account, Role, User
from portal.security import INVITERS, get_or_404
from portal.users import service


class UserIn(BaseModel):
    email: str = Field(min_length=1, max_length=254)
    name: str = Field(min_length=1, max_length=200)
    role: Role
    account_id: int | None = Field(default=None, description="A client user's account (a client approver's own by "
                                   "default); for a firm user, an account to work on")
    language: Literal["en", "zh", "vi"]
    timezone: str | None = Field(default=None, max_length=64, description="Default: a client account's, else UTC")


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    account_id: int | None
    language: str
    active: bool


class UserList(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


def user_json(user: User) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role.value,
            "account_id": user.account_id, "language": user.language, "active": user.active}


@route(bp, "/users", "GET", "Users: the admin's all; an account manager's and a client approver's those of their "
       "accounts", roles=INVITERS, response=UserList, query=PAGE_QUERY, tag="users")
def list_users():
    return paginate(db.session, service.users_seen_by(current_user), [User.id], user_json)


@route(bp, "/users", "POST", "Invite a user: the admin anyone; account managers and client approvers client "
       "users of their accounts. The invitation is e-mailed", roles=INVITERS, body=UserIn, response=UserOut,
       status=201, tag="users")
def invite_user(body: UserIn):
    account_id = body.account_id
    if account_id is None and current_user.role is Role.CLIENT_APPROVER:
        account_id = current_user.account_id
    account = get_or_404(db.session, Account, account_id) if account_id is not None else None
    user = service.invite_user(db.session, current_user, email=body.email, name=body.name, role=body.role,
                               account=account, language=body.language, timezone=body.timezone)
    return user_json(user), 201

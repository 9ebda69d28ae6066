"""What every feature asks of an account: the caller's accounts, the contract in force,
the firm's people on it, its escalation matrix, and each account's date."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from portal.models import Account, Contract, EscalationContact, Role, User, account_members


def visible_accounts(session: Session) -> list[Account]:
    """The accounts the caller may see (the scope filters the select)."""
    return list(session.scalars(sa.select(Account).order_by(Account.name)))


def todays(accounts: list[Account]) -> dict[int, date]:
    """Each account's local date, by account id."""
    return {account.id: account.today() for account in accounts}


def contract_in_force(contracts: list[Contract], on: date) -> Contract | None:
    """Of an account's contracts, the one in force on ``on``: the latest started by then,
    else the latest one (the rule ``current_contract`` asks the database)."""
    return max(contracts, key=lambda c: (c.start_date <= on, c.start_date), default=None)


def current_contract(session: Session, account: Account, on: date | None = None) -> Contract | None:
    """The contract in force on ``on`` (the account's today), else the latest one, with
    its lines, KPIs and locations."""
    on = on or account.today()
    query = (
        sa.select(Contract)
        .where(Contract.account_id == account.id)
        .options(selectinload(Contract.scope_lines), selectinload(Contract.kpis), selectinload(Contract.locations))
        .order_by((Contract.start_date <= on).desc(), Contract.start_date.desc())
        .limit(1)
    )
    return session.scalar(query)


def _team(account: Account, *roles: Role) -> sa.Select:
    return (sa.select(User).join(account_members, account_members.c.user_id == User.id)
            .where(account_members.c.account_id == account.id, User.role.in_(roles), User.active))


def account_managers(session: Session, account: Account) -> list[User]:
    """The active account managers assigned to the account, oldest assignment first."""
    return list(session.scalars(_team(account, Role.ACCOUNT_MANAGER).order_by(User.id)))


def assigned(session: Session, account: Account, role: Role) -> list[User]:
    """The active firm users of ``role`` assigned to the account."""
    return list(session.scalars(_team(account, role).order_by(User.id)))


def client_approvers(session: Session, account: Account) -> list[User]:
    """The account's active client approvers, who decide its change requests and sign
    off its plans, by name."""
    return list(session.scalars(sa.select(User).where(User.account_id == account.id, User.role == Role.CLIENT_APPROVER,
                                                      User.active).order_by(User.name, User.id)))


def client_users(session: Session, account: Account) -> list[User]:
    """The account's active client users (viewers and approvers), by name."""
    return list(session.scalars(sa.select(User).where(User.account_id == account.id, User.active,
                                                      User.role.in_((Role.CLIENT_VIEWER, Role.CLIENT_APPROVER)))
                                .order_by(User.name, User.id)))


# The roles of the firm's team on an account (an administrator sees every account unassigned).
TEAM_ROLES = (Role.ACCOUNT_MANAGER, Role.REGIONAL_REVIEWER, Role.FINANCE)


def team(session: Session, account: Account, *, active_only: bool = True) -> list[User]:
    """The firm's team on the account: the users assigned to it, by role (account
    managers, regional reviewers, finance) and name."""
    query = _team(account, *TEAM_ROLES) if active_only else (
        sa.select(User).join(account_members, account_members.c.user_id == User.id)
        .where(account_members.c.account_id == account.id, User.role.in_(TEAM_ROLES)))
    order = sa.case({role: i for i, role in enumerate(TEAM_ROLES)}, value=User.role)
    return list(session.scalars(query.order_by(order, User.name, User.id)))


def _working_on(account: Account, *roles: Role) -> sa.Select:
    return (sa.select(User)
            .outerjoin(account_members, sa.and_(account_members.c.user_id == User.id,
                                                account_members.c.account_id == account.id))
            .where(User.active, sa.or_(User.role == Role.ADMIN, account_members.c.account_id == account.id),
                   User.role.in_(roles))
            .order_by(User.name))


def firm_team(session: Session, account: Account) -> list[User]:
    """Firm users who may be assigned the account's requests and actions: its account
    managers and finance, and every administrator."""
    return list(session.scalars(_working_on(account, Role.ACCOUNT_MANAGER, Role.FINANCE, Role.ADMIN)))


def firm_people(session: Session, account: Account) -> list[User]:
    """Every firm user who works on the account: its team, whatever their role, and
    every administrator (who attend its meetings and own its relationships)."""
    return list(session.scalars(_working_on(account, *TEAM_ROLES, Role.ADMIN)))


def escalation_matrix(session: Session, account: Account) -> dict[int, list[EscalationContact]]:
    """The account's escalation contacts by level (1 to 3)."""
    contacts = session.scalars(
        sa.select(EscalationContact).where(EscalationContact.account_id == account.id)
        .order_by(EscalationContact.level, EscalationContact.id)
    )
    matrix: dict[int, list[EscalationContact]] = {1: [], 2: [], 3: []}
    for contact in contacts:
        matrix[contact.level].append(contact)
    return matrix

"""Read models for the home page and the account pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from portal.models import (
    Account,
    ActionItem,
    ActionStatus,
    ChangeRequest,
    Contract,
    CRStatus,
    EscalationContact,
    Invoice,
    InvoiceStatus,
    RequestStatus,
    ServiceRequest,
)

OPEN_REQUEST = (RequestStatus.OPEN, RequestStatus.IN_PROGRESS, RequestStatus.WAITING_CLIENT)
PENDING_CR = (CRStatus.PENDING_INTERNAL_APPROVAL, CRStatus.PENDING_CLIENT_APPROVAL)
OPEN_ACTION = (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)


@dataclass
class AccountSummary:
    open_requests: int = 0
    pending_change_requests: int = 0
    unpaid_invoices: int = 0
    open_actions: int = 0


def visible_accounts(session: Session) -> list[Account]:
    """The accounts the caller may see (the scope filters the select)."""
    return list(session.scalars(sa.select(Account).order_by(Account.name)))


def _count_by_account(session: Session, model, *conditions) -> dict[int, int]:
    query = sa.select(model.account_id, sa.func.count()).where(*conditions).group_by(model.account_id)
    return dict(session.execute(query).all())


def account_summaries(session: Session, accounts: list[Account]) -> dict[int, AccountSummary]:
    """Counts per account for the home page, in four grouped queries."""
    requests = _count_by_account(session, ServiceRequest, ServiceRequest.status.in_(OPEN_REQUEST))
    crs = _count_by_account(session, ChangeRequest, ChangeRequest.status.in_(PENDING_CR))
    invoices = _count_by_account(session, Invoice, Invoice.status.in_((InvoiceStatus.ISSUED, InvoiceStatus.DISPUTED)))
    actions = _count_by_account(session, ActionItem, ActionItem.status.in_(OPEN_ACTION))
    return {
        a.id: AccountSummary(requests.get(a.id, 0), crs.get(a.id, 0), invoices.get(a.id, 0), actions.get(a.id, 0))
        for a in accounts
    }


def current_contract(session: Session, account: Account, on: date | None = None) -> Contract | None:
    """The contract in force today (else the latest one)."""
    on = on or date.today()
    query = (
        sa.select(Contract)
        .where(Contract.account_id == account.id)
        .options(selectinload(Contract.scope_lines), selectinload(Contract.kpis), selectinload(Contract.locations))
        .order_by((Contract.start_date <= on).desc(), Contract.start_date.desc())
        .limit(1)
    )
    return session.scalar(query)


def escalation_matrix(session: Session, account: Account) -> dict[int, list[EscalationContact]]:
    contacts = session.scalars(
        sa.select(EscalationContact).where(EscalationContact.account_id == account.id).order_by(EscalationContact.level, EscalationContact.id)
    )
    matrix: dict[int, list[EscalationContact]] = {1: [], 2: [], 3: []}
    for contact in contacts:
        matrix[contact.level].append(contact)
    return matrix

"""Read models for the home page and the account pages."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.actions.service import OPEN as OPEN_ACTIONS
from portal.billing.service import UNPAID
from portal.change_requests.service import PENDING as PENDING_CHANGE_REQUESTS
from portal.models import Account, ActionItem, ChangeRequest, Invoice, ServiceRequest
from portal.service_requests.service import OPEN_STATUSES as OPEN_REQUESTS


@dataclass
class AccountSummary:
    open_requests: int = 0
    pending_change_requests: int = 0
    unpaid_invoices: int = 0
    open_actions: int = 0


def _count_by_account(session: Session, model, *conditions) -> dict[int, int]:
    query = sa.select(model.account_id, sa.func.count()).where(*conditions).group_by(model.account_id)
    return dict(session.execute(query).all())


def account_summaries(session: Session, accounts: list[Account]) -> dict[int, AccountSummary]:
    """Counts per account for the home page, in four grouped queries."""
    requests = _count_by_account(session, ServiceRequest, ServiceRequest.status.in_(OPEN_REQUESTS))
    crs = _count_by_account(session, ChangeRequest, ChangeRequest.status.in_(PENDING_CHANGE_REQUESTS))
    invoices = _count_by_account(session, Invoice, Invoice.status.in_(UNPAID))
    actions = _count_by_account(session, ActionItem, ActionItem.status.in_(OPEN_ACTIONS))
    return {
        a.id: AccountSummary(requests.get(a.id, 0), crs.get(a.id, 0), invoices.get(a.id, 0), actions.get(a.id, 0))
        for a in accounts
    }

"""Read models for the home page and the account pages."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.actions.service import OPEN as OPEN_ACTIONS
from portal.billing.service import UNPAID
from portal.change_requests.service import PENDING as PENDING_CHANGE_REQUESTS
from portal.models import Account, ActionItem, ChangeRequest, Contract, Invoice, ServiceRequest
from portal.service_requests.service import OPEN_STATUSES as OPEN_REQUESTS


@dataclass
class AccountSummary:
    open_requests: int = 0
    pending_change_requests: int = 0
    unpaid_invoices: int = 0
    open_actions: int = 0
    # The state of the contract in force (``Contract.state``), None without a contract.
    contract_state: str | None = None


def _count_by_account(session: Session, model, *conditions) -> dict[int, int]:
    query = sa.select(model.account_id, sa.func.count()).where(*conditions).group_by(model.account_id)
    return dict(session.execute(query).all())


def account_summaries(session: Session, accounts: list[Account]) -> dict[int, AccountSummary]:
    """Counts per account for the home page, in four grouped queries, and the state of
    each account's contract in force in a fifth."""
    requests = _count_by_account(session, ServiceRequest, ServiceRequest.status.in_(OPEN_REQUESTS))
    crs = _count_by_account(session, ChangeRequest, ChangeRequest.status.in_(PENDING_CHANGE_REQUESTS))
    invoices = _count_by_account(session, Invoice, Invoice.status.in_(UNPAID))
    actions = _count_by_account(session, ActionItem, ActionItem.status.in_(OPEN_ACTIONS))
    states = contract_states(session, accounts)
    return {
        a.id: AccountSummary(requests.get(a.id, 0), crs.get(a.id, 0), invoices.get(a.id, 0), actions.get(a.id, 0),
                             states.get(a.id))
        for a in accounts
    }


def contract_states(session: Session, accounts: list[Account]) -> dict[int, str]:
    """The state of each account's contract in force on its today (else its latest, as
    ``accounts.current_contract`` chooses), by account id, in one query."""
    todays = {a.id: a.today() for a in accounts}
    chosen: dict[int, Contract] = {}
    for contract in session.scalars(sa.select(Contract)):  # the scope keeps the caller's accounts
        if contract.account_id not in todays:
            continue
        today, best = todays[contract.account_id], chosen.get(contract.account_id)
        if best is None or (contract.start_date <= today, contract.start_date) > (best.start_date <= today, best.start_date):
            chosen[contract.account_id] = contract
    return {account_id: contract.state(todays[account_id]) for account_id, contract in chosen.items()}

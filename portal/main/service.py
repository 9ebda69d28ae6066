"""Read models for the home page and the account pages."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.accounts import todays
from portal.actions.service import OPEN as OPEN_ACTIONS
from portal.billing.service import UNPAID
from portal.change_requests.service import PENDING as PENDING_CHANGE_REQUESTS
from portal.models import Account, ActionItem, ChangeRequest, Contract, Invoice, ServiceRequest
from portal.service_requests.service import OPEN_STATUSES as OPEN_REQUESTS


# How long an ended contract stays on the accounts list, beside its renewal.
RECENTLY_ENDED_DAYS = 90


@dataclass(frozen=True)
class ContractState:
    """A contract as the accounts list shows it: its number and ``Contract.state``."""

    id: int
    number: str
    state: str


@dataclass
class AccountSummary:
    open_requests: int = 0
    pending_change_requests: int = 0
    unpaid_invoices: int = 0
    open_actions: int = 0
    # The contracts in force, signed ones not yet started, and those ended within
    # ``RECENTLY_ENDED_DAYS``, by start date (``contract_states``).
    contracts: list[ContractState] = field(default_factory=list)
    # Whether the account has any contract at all (else "No contract yet").
    has_contracts: bool = False


def _count_by_account(session: Session, model, *conditions) -> dict[int, int]:
    query = sa.select(model.account_id, sa.func.count()).where(*conditions).group_by(model.account_id)
    return dict(session.execute(query).all())


def account_summaries(session: Session, accounts: list[Account]) -> dict[int, AccountSummary]:
    """Counts per account for the home page, in four grouped queries, and its contracts
    with their states in a fifth."""
    requests = _count_by_account(session, ServiceRequest, ServiceRequest.status.in_(OPEN_REQUESTS))
    crs = _count_by_account(session, ChangeRequest, ChangeRequest.status.in_(PENDING_CHANGE_REQUESTS))
    invoices = _count_by_account(session, Invoice, Invoice.status.in_(UNPAID))
    actions = _count_by_account(session, ActionItem, ActionItem.status.in_(OPEN_ACTIONS))
    states, contracted = contract_states(session, accounts)
    return {
        a.id: AccountSummary(requests.get(a.id, 0), crs.get(a.id, 0), invoices.get(a.id, 0), actions.get(a.id, 0),
                             states.get(a.id, []), a.id in contracted)
        for a in accounts
    }


def contract_states(session: Session, accounts: list[Account]) -> tuple[dict[int, list[ContractState]], set[int]]:
    """Each account's contracts worth a glance on its today, by account id: those in
    force, those signed and not yet started (a renewal waiting behind an ending one),
    and those ended within ``RECENTLY_ENDED_DAYS``, by start date; and the ids of the
    accounts that have any contract. One query, however many accounts."""
    days = todays(accounts)
    shown: dict[int, list[ContractState]] = {}
    contracted: set[int] = set()
    # The scope keeps the caller's accounts (no list of ids: an admin's may be long).
    for contract in session.scalars(sa.select(Contract).order_by(Contract.start_date, Contract.id)):
        if contract.account_id not in days:
            continue
        contracted.add(contract.account_id)
        today = days[contract.account_id]
        if (today - contract.end_date).days > RECENTLY_ENDED_DAYS or (today < contract.start_date
                                                                         and not contract.signed):
            continue  # long ended, or a draft not yet signed
        shown.setdefault(contract.account_id, []).append(
            ContractState(contract.id, contract.number, contract.state(today)))
    return shown, contracted

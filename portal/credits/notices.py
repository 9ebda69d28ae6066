"""Telling the client's users that a service credit was approved and its credit note issued."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal.accounts import client_users
from portal.models import Account, CreditNote, ServiceCredit
from portal.notifications import Recipient, link, notify


def tell_clients(session: Session, credit: ServiceCredit, note: CreditNote, account: Account) -> None:
    """Notify the account's active client users of the credit note (in-app and e-mail)."""
    recipients = [Recipient.of_user(user) for user in client_users(session, account)]
    notify(session, "service_credit_issued", recipients, account_id=account.id,
           credit=credit, note=note, account=account,
           url=link(f"/scorecards/{account.id}?period={credit.period:%Y-%m}#kpi-{credit.kpi_id}"))

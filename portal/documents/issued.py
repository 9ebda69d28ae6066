"""Telling an account's client users that a document is issued to them: by e-mail and
in the portal, whether it was issued at once or after its regional review."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import CLIENT_ROLES, Account, Document, DocumentKind, User
from portal.notifications import Recipient, link, notify

# The kinds issued to the client. Invoices and statements are made when someone asks for
# one (``portal.billing.documents``): that is no news to anyone.
ISSUED_TO_CLIENT = (DocumentKind.AMENDMENT, DocumentKind.WORK_ORDER, DocumentKind.PLAN, DocumentKind.REVIEW_PACK)


def tell_clients(session: Session, document: Document, account: Account) -> None:
    """Notify the account's active client users that ``document`` is issued to them."""
    if document.kind not in ISSUED_TO_CLIENT:
        return
    users = session.scalars(sa.select(User).where(User.account_id == account.id, User.role.in_(CLIENT_ROLES),
                                                  User.active).order_by(User.id))
    notify(session, "document_issued", [Recipient.of_user(user) for user in users], account_id=account.id,
           document=document, account=account, url=link(f"/documents/{document.id}"))

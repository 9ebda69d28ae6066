"""An opportunity's quotation as a document (docgen's ``quotation``): its lines and
total, numbered in its own gap-free series (QUO-2026-0001), stored and served as every
document the portal issues (``portal.documents``), Word and PDF. A quotation is the
firm's (``FIRM_ONLY_KINDS``): the firm sends the file to the client itself."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from docgen.formatting import plain_decimal
from portal.billing.documents import buyer, firm_party, for_readers, languages_of
from portal.documents.service import next_number, store_document
from portal.domain import DomainError
from portal.models import Account, Document, DocumentKind, Opportunity, User

VALID_FOR = timedelta(days=30)  # how long a quotation's prices hold unless the issuer says


def quotation_input(opportunity: Opportunity, account: Account, *, issued_on: date, valid_until: date,
                    languages: list[str]) -> dict[str, Any]:
    """docgen's input: the parties, the opportunity's title and lines, the validity."""
    return for_readers(account, {
        "kind": "quotation", "languages": languages, "date": issued_on.isoformat(),
        "valid_until": valid_until.isoformat(), "currency": opportunity.currency,
        "provider": firm_party(), "client": buyer(account), "title": dict(opportunity.title),
        "lines": [{"description": dict(line.description), "unit": line.unit, "quantity": plain_decimal(line.quantity),
                   "unit_price": plain_decimal(line.unit_price)} for line in opportunity.lines],
    })


def issue_quotation(session: Session, opportunity: Opportunity, account: Account, by: User, *,
                    valid_until: date | None = None, languages: list[str] | None = None) -> Document:
    """Render and store the opportunity's quotation under the next QUO number."""
    if not opportunity.lines:
        raise DomainError(_l("Add the opportunity's lines first: a quotation is made of them."))
    issued_on = account.today()
    valid_until = valid_until or issued_on + VALID_FOR
    if valid_until < issued_on:
        raise DomainError(_l("A quotation is valid until a day after it is issued."), fields={"valid_until": "invalid"})
    data = quotation_input(opportunity, account, issued_on=issued_on, valid_until=valid_until,
                           languages=languages or languages_of(account))
    number = next_number(session, DocumentKind.QUOTATION, issued_on.year)
    return store_document(session, account, None, DocumentKind.QUOTATION, number, data, by,
                          opportunity_id=opportunity.id)

"""Invoices and statements of account as documents (docgen's ``invoice`` and
``statement``), in the account's document languages: the first two, side by side.

A document is made when someone first asks for it, not when invoices are imported: an
import may bring a million invoices, most of which nobody downloads, and rendering each
(and converting it to PDF) would cost far more than the import itself. The input is built
from the invoice's data alone, so it is the same until the invoice, its account or the
firm's details change; the document stored with that very input is served again, and a
changed input (a credit note, a corrected line, new bank details) makes a new document.
Its PDF is the ``document_pdf`` job's, cached by the .docx's SHA-256 like any other.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from docgen.formatting import plain_decimal, quantize_money
from portal.billing import service
from portal.documents.service import conventions, numbering, prevailing_language, store_document
from portal.models import (
    Account,
    Contract,
    Document,
    DocumentKind,
    Invoice,
    InvoiceStatus,
    User,
)

# A tax rate is shown when the tax is that rate of the subtotal to the cent: 0.01 %.
RATE_STEP = Decimal("0.0001")


def languages_of(account: Account) -> list[str]:
    """The languages an account's invoices are written in: its document languages, the
    first two side by side (a document holds one language or two)."""
    return list((account.document_languages or ["en"])[:2])


def invoice_document(session: Session, invoice: Invoice, account: Account, by: User) -> Document:
    """The invoice as a document in ``account``'s languages: the one made before from
    the same input, else a new one (its PDF asked for as any issued document's)."""
    data = invoice_input(session, invoice, account)
    mine = sa.select(Document).where(Document.invoice_id == invoice.id)
    made = _made_from(session, data, mine)
    if made is not None:
        return made
    # An invoice has one number, its own: a changed invoice's document is its next revision.
    numbered = numbering(session, f"invoice:{invoice.id}", mine, lambda: invoice.number)
    return store_document(session, account, None, DocumentKind.INVOICE, numbered, data, by, invoice_id=invoice.id)


def statement_document(session: Session, account: Account, by: User) -> Document:
    """The account's statement of account on its today, as ``invoice_document`` makes
    an invoice's: the same open items on the same day give the same document."""
    data = statement_input(session, account)
    days = sa.select(Document).where(Document.account_id == account.id, Document.kind == DocumentKind.STATEMENT,
                                     Document.number == data["number"])
    made = _made_from(session, data, days)
    if made is not None:
        return made
    # One number a day: the day's statement made again (a payment came in) is its next revision.
    numbered = numbering(session, f"statement:{data['number']}", days, lambda: data["number"])
    return store_document(session, account, None, DocumentKind.STATEMENT, numbered, data, by)


def _made_from(session: Session, data: dict[str, Any], candidates: sa.Select) -> Document | None:
    """The newest of ``candidates`` rendered from exactly ``data``, if any.

    Documents hold their input (``source``) as JSON, compared here in Python without the
    revision storing adds: the candidates are one invoice's documents, or one account's
    statements of one day."""
    for document in session.scalars(candidates.order_by(Document.id.desc())):
        if {key: value for key, value in document.source.items() if key != "revision"} == data:
            return document
    return None


def invoice_input(session: Session, invoice: Invoice, account: Account) -> dict[str, Any]:
    """docgen's input for ``invoice``: its lines, tax, credit notes and PO as imported,
    the account as the buyer, the firm (and its bank for the currency) as the seller."""
    currency = invoice.currency
    data: dict[str, Any] = {
        "kind": "invoice", "languages": languages_of(account), "number": invoice.number,
        "date": invoice.issue_date.isoformat(), "due_date": invoice.due_date.isoformat(),
        "period_start": invoice.period_start.isoformat(), "period_end": invoice.period_end.isoformat(),
        "currency": currency, "provider": firm_party(), "client": buyer(account),
        "lines": [{"description": line.description, "quantity": plain_decimal(line.quantity),
                   "unit_price": plain_decimal(line.unit_price)} for line in invoice.lines],
        "tax": plain_decimal(quantize_money(invoice.tax, currency)),
        "credit_notes": [{"number": note.number, "date": note.issue_date.isoformat(),
                          "amount": plain_decimal(quantize_money(note.amount, currency)),
                          **({"reason": note.reason} if note.reason.strip() else {})}
                         for note in invoice.credit_notes],
    }
    rate = tax_rate(invoice)
    if rate is not None:
        data["tax_rate"] = plain_decimal(rate)
    if invoice.po_number:
        data["po_number"] = invoice.po_number
    contract = _contract(session, invoice)
    if contract is not None:
        data["contract"] = {"number": contract.number, "title": contract.title}
    bank = current_app.config["BANK_DETAILS"].get(currency)
    if bank:
        data["bank_details"] = bank
    return for_readers(account, data)


def tax_rate(invoice: Invoice) -> Decimal | None:
    """The tax as a rate of the subtotal (0.06), when it is one to the cent; None for an
    invoice without tax, or whose tax is no single rate (lines taxed differently)."""
    if invoice.tax <= 0 or invoice.subtotal <= 0:
        return None
    rate = (invoice.tax / invoice.subtotal).quantize(RATE_STEP)
    if quantize_money(invoice.subtotal * rate, invoice.currency) != quantize_money(invoice.tax, invoice.currency):
        return None
    return rate


def statement_input(session: Session, account: Account) -> dict[str, Any]:
    """docgen's input for the account's statement on its today: each open invoice with
    what was credited on it (paid, for the statement), the disputed ones marked."""
    result = service.statement(session, account)
    items = []
    for invoice, open_amount, _bucket, _days in result.items:
        items.append({
            "invoice": invoice.number, "issue_date": invoice.issue_date.isoformat(),
            "due_date": invoice.due_date.isoformat(), "currency": invoice.currency,
            "total": plain_decimal(invoice.total), "paid": plain_decimal(invoice.total - open_amount),
            "disputed": invoice.status is InvoiceStatus.DISPUTED,
        })
    return for_readers(account, {
        "kind": "statement", "languages": languages_of(account), "number": f"SOA-{account.id}-{result.today:%Y%m%d}",
        "date": result.today.isoformat(), "provider": firm_party(), "client": buyer(account), "items": items,
        **({"credits": [{"number": note.number, "date": note.issue_date.isoformat(), "currency": note.currency,
                         "amount": plain_decimal(note.amount)} for note in result.credits]} if result.credits else {}),
    })


def for_readers(account: Account, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with what the account's readers expect (spelling, place, the prevailing
    language of a bilingual document), as ``store_document`` would add it: the input
    compared with a stored document's is then the whole of it. Made when a reader asks,
    with no issuer to add a missing translation, a text in one language only (a
    contract's title) is shown as written, marked as the source text."""
    data.update(conventions(account), untranslated="show_source")
    prevailing = prevailing_language(account, None, data["languages"])
    if prevailing:
        data["prevailing_language"] = prevailing
    return data


def firm_party() -> dict[str, Any]:
    """The firm as it bills: name, address and tax number from the configuration."""
    config = current_app.config
    party: dict[str, Any] = {"name": config["FIRM_NAME"], "address": config["FIRM_ADDRESS"]}
    if config["FIRM_TAX_ID"]:
        party["tax_id"] = config["FIRM_TAX_ID"]
    return party


def buyer(account: Account) -> dict[str, Any]:
    """The account as it is billed: legal name and address per language, tax number."""
    party: dict[str, Any] = {"name": _given(account.names) or account.name, "timezone": account.timezone}
    if _given(account.address):
        party["address"] = _given(account.address)
    if account.tax_id:
        party["tax_id"] = account.tax_id
    return party


def _given(texts: dict[str, str]) -> dict[str, str]:
    """Texts per language without the blank ones (a form may have left them empty)."""
    return {lang: text for lang, text in texts.items() if text and text.strip()}


def _contract(session: Session, invoice: Invoice) -> Contract | None:
    if invoice.contract_id is None:
        return None
    return session.scalar(sa.select(Contract).where(Contract.id == invoice.contract_id))


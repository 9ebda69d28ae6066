"""GET /invoices, GET /invoices/{id}, POST /invoices/{id}/dispute."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP

import sqlalchemy as sa
from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import BaseModel, Field

from portal.api import bp
from portal.api.change_requests import PdfPendingOut, document_file
from portal.api.common import (PAGE_QUERY, ApiError, decode_cursor, encode_cursor, iso_date, money, money_quantum,
                               page_limit, route)
from portal.api.requests import RequestOut, request_json
from portal.billing import documents, service
from portal.database import may_write, reads_only
from portal.documents import renditions
from portal.documents.service import DOCX
from portal.extensions import db
from portal.models import Account, Invoice
from portal.security import get_or_404
from portal.billing.routes import FINANCE
from portal.service_requests.routes import CLIENTS
from portal.accounts import todays as local_todays

STATUSES = service.SHOWN_STATUSES


class InvoiceLineOut(BaseModel):
    description: str
    quantity: str
    unit_price: str
    amount: str
    scope_line_id: int | None = Field(description="The contract's scope line the line bills, if named")
    expected_unit_price: str | None = Field(
        description="Firm users: the contract's unit price in force for the invoice's period (null: none in force, "
                    "or no scope line named)")


class CreditNoteOut(BaseModel):
    number: str
    issue_date: str
    amount: str
    reason: str


class InvoiceOut(BaseModel):
    id: int
    account_id: int
    contract_id: int | None
    number: str
    service_location: str
    period_start: str
    period_end: str
    issue_date: str
    due_date: str
    currency: str
    subtotal: str
    tax: str
    total: str
    po_number: str | None
    status: str
    overdue: bool
    paid_on: str | None
    created_at: str
    held: bool = Field(description="Held for finance's review: a line's unit price is not the contract's. "
                                   "Only firm users ever see a held invoice")


class InvoiceDetail(InvoiceOut):
    lines: list[InvoiceLineOut]
    credit_notes: list[CreditNoteOut]
    outstanding: str


class InvoiceList(BaseModel):
    items: list[InvoiceOut]
    next_cursor: str | None


class DisputeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=5000)
    line_ids: list[int] = []


def invoice_json(invoice: Invoice, today: date) -> dict:
    return row_json(tuple(getattr(invoice, column.key) for column in service.API_COLUMNS), today)


def row_json(row, today: date) -> dict:
    """An invoice as the API gives it, from its values in the order of
    ``service.API_COLUMNS`` (a row of the list, unpacked rather than read by name).
    A page writes fifty: the amounts (never null) are rounded half up to the currency's
    decimals here, as ``money`` does; the dates and the UTC time are left to the JSON
    writer, which writes them as ``iso_date`` and ``iso_time`` do (``web.JSONProvider``)."""
    (ident, account_id, contract_id, number, location, period_start, period_end, issued, due, currency, subtotal,
     tax, total, po_number, status, paid_on, created_at, held_at) = row
    quantum = money_quantum(currency)
    return {
        "id": ident, "account_id": account_id, "contract_id": contract_id, "number": number,
        "service_location": location, "period_start": period_start, "period_end": period_end,
        "issue_date": issued, "due_date": due, "currency": currency,
        "subtotal": str(subtotal.quantize(quantum, ROUND_HALF_UP)), "tax": str(tax.quantize(quantum, ROUND_HALF_UP)),
        "total": str(total.quantize(quantum, ROUND_HALF_UP)), "po_number": po_number,
        "status": status.value, "overdue": status in service.UNPAID and due < today,  # service.is_overdue
        "paid_on": paid_on, "created_at": created_at, "held": held_at is not None,
    }


def _todays() -> dict[int, date]:
    if current_user.is_client:
        return local_todays([current_user.account])
    return local_todays(list(db.session.scalars(sa.select(Account))))


PAGE_KEY = (Invoice.issue_date, Invoice.id)


@route(bp, "/invoices", "GET", "Invoices, newest issue date first", response=InvoiceList, tag="invoices",
       query={**PAGE_QUERY, "status": ", ".join(STATUSES) + "; firm users also held"})
@reads_only
def list_invoices():
    """Keyset pages as ``paginate`` makes them, read as plain rows of the columns the
    answer shows (``service.list_page``, scoped as the invoice page is): the busiest call
    of the API builds no ORM objects."""
    status = request.args.get("status")
    statuses = STATUSES if current_user.is_client else service.FIRM_STATUSES
    if status and status not in statuses:
        raise ApiError(422, _("Some fields are not valid."), fields={"status": f"one of {', '.join(statuses)}"})
    todays = _todays()
    conditions = service.InvoiceFilters(status=status).conditions(todays)
    limit = page_limit()
    cursor = request.args.get("cursor")
    after = tuple(decode_cursor(cursor, PAGE_KEY)) if cursor else None
    rows, next_key = service.list_page(db.session, conditions, after=after, limit=limit, columns=service.API_COLUMNS)
    fallback = date.today()
    return {"items": [row_json(row, todays.get(row.account_id, fallback)) for row in rows],
            "next_cursor": encode_cursor(next_key) if next_key else None}


@route(bp, "/invoices/<int:invoice_id>", "GET", "An invoice with its lines and credit notes", response=InvoiceDetail,
       load={"invoice_id": Invoice}, tag="invoices")
def get_invoice(invoice: Invoice):
    account = get_or_404(db.session, Account, invoice.account_id)
    c = invoice.currency
    firm_only = current_user.is_client  # the contract's price beside the invoiced one is finance's check
    return {
        **invoice_json(invoice, account.today()),
        "lines": [{"description": line.description, "quantity": money(line.quantity),
                   "unit_price": money(line.unit_price, c), "amount": money(line.amount, c),
                   "scope_line_id": line.scope_line_id,
                   "expected_unit_price": None if firm_only or line.expected_unit_price is None
                   else money(line.expected_unit_price, c)} for line in invoice.lines],
        "credit_notes": [{"number": n.number, "issue_date": iso_date(n.issue_date), "amount": money(n.amount, c),
                          "reason": n.reason} for n in invoice.credit_notes],
        "outstanding": money(service.outstanding(invoice), c),
    }


@route(bp, "/invoices/<int:invoice_id>/dispute", "POST", "Dispute an invoice: raises a billing enquiry",
       roles=CLIENTS, body=DisputeIn, response=RequestOut, status=201, load={"invoice_id": Invoice}, tag="invoices")
def dispute_invoice(invoice: Invoice, body: DisputeIn):
    account = get_or_404(db.session, Account, invoice.account_id)
    enquiry = service.dispute(db.session, invoice, account, current_user, reason=body.reason,
                              disputed_lines=body.line_ids)
    return {**request_json(enquiry), "invoice_id": invoice.id}, 201



class ReleaseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


@route(bp, "/invoices/<int:invoice_id>/release", "POST",
       "Release an invoice held for its prices (a line's unit price is not the contract's): it stands as invoiced "
       "and the client sees it; 409 when it is not held", roles=FINANCE, body=ReleaseIn, response=InvoiceOut,
       load={"invoice_id": Invoice}, tag="invoices")
def release_invoice(invoice: Invoice, body: ReleaseIn):
    service.release_invoice(db.session, invoice, current_user, reason=body.reason)
    account = get_or_404(db.session, Account, invoice.account_id)
    return invoice_json(invoice, account.today())


FORMATS = ("docx", "pdf")


@route(bp, "/invoices/<int:invoice_id>/file", "GET",
       "The invoice as a document in the account's languages: the .docx, or with ?format=pdf its PDF/A, made in the "
       "background: 202 with Retry-After and the job making it (as GET /jobs/{id}) until it is ready",
       load={"invoice_id": Invoice}, query={"format": "docx (the default) or pdf"}, tag="invoices",
       files=(DOCX, renditions.PDF),
       more={202: ("The PDF is being made: ask again after Retry-After seconds, or follow the job", PdfPendingOut)})
@may_write
def get_invoice_file(invoice: Invoice):
    if request.args.get("format", "docx") not in FORMATS:  # before anything is made
        raise ApiError(422, _("Some fields are not valid."), fields={"format": "docx or pdf"})
    account = get_or_404(db.session, Account, invoice.account_id)
    return document_file(documents.invoice_document(db.session, invoice, account, current_user))

"""POST /invoices: the billing system creates or updates one invoice or credit note,
with the same checks as ``flask import invoices`` (``portal.billing.imports``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, RootModel

from portal.api import bp
from portal.api.common import OPERATIONS, iso_date, money, parse_body, route
from portal.api.invoices import InvoiceOut, invoice_json
from portal.billing import imports
from portal.billing.schema import InvoiceIn
from portal.extensions import db
from portal.models import CreditNote, Invoice, Role
from portal.security import get_or_404

BILLING_SYSTEM = (Role.FINANCE, Role.ADMIN)


class _JsonObject(BaseModel):
    """Any JSON object: ``parse_body`` answers 400 for anything else, and the fields are
    then validated by ``imports.validate_invoice`` so that every 422 names its field."""

    model_config = ConfigDict(extra="allow")


class PostedInvoice(InvoiceOut):
    kind: Literal["invoice"]


class PostedCreditNote(BaseModel):
    kind: Literal["credit_note"]
    id: int
    account_id: int
    number: str
    invoice_id: int
    invoice_number: str
    issue_date: str
    currency: str
    amount: str
    reason: str


class Posted(RootModel[PostedInvoice | PostedCreditNote]):
    """The invoice, or the credit note, as stored."""


def posted_json(written: imports.Written) -> dict:
    if written.kind == "invoice":
        invoice = get_or_404(db.session, Invoice, written.id)
        return {"kind": "invoice", **invoice_json(invoice, invoice.account.today())}
    row = get_or_404(db.session, CreditNote, written.id)
    invoice = row.invoice
    return {"kind": "credit_note", "id": row.id, "account_id": row.account_id, "number": row.number,
            "invoice_id": invoice.id, "invoice_number": invoice.number, "issue_date": iso_date(row.issue_date),
            "currency": row.currency, "amount": money(row.amount, row.currency), "reason": row.reason}


@route(bp, "/invoices", "POST", "Create or update (by number) an invoice or a credit note: 201 new, 200 updated",
       roles=BILLING_SYSTEM, response=Posted, status=201, idempotent=True, tag="invoices")
def post_invoice():
    data = parse_body(_JsonObject).model_extra
    written = imports.upsert_invoices(db.session, imports.Incoming([imports.validate_invoice(data)])).written[0]
    return posted_json(written), 201 if written.created else 200


# The body is validated in the view: through ``route(body=InvoiceIn)`` the model's
# cross-field rules (a due date before the issue date) would all be named ``body``, not
# their field. The OpenAPI document still shows the body.
next(op for op in OPERATIONS if (op.method, op.path) == ("post", "/invoices")).body = InvoiceIn

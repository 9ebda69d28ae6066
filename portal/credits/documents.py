"""The credit note of an approved service credit as a document (docgen's
``credit_note``), in the account's document languages, stored and issued as every
document the portal issues (``portal.documents``), so the client downloads it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from docgen.formatting import plain_decimal
from docgen.units import unit_text
from portal.billing.documents import buyer, firm_party, for_readers, languages_of
from portal.documents.service import store_document
from portal.models import Account, CreditNote, Document, DocumentKind, Invoice, ServiceCredit, User


def credit_note_input(credit: ServiceCredit, note: CreditNote, invoice: Invoice | None,
                      account: Account) -> dict[str, Any]:
    """docgen's input: the SLA's month, the calculation's lines and caps as computed,
    the amount credited (and finance's reason when it differs), the invoice it reduces."""
    calculation = credit.calculation
    kpi = calculation["kpi"]
    data: dict[str, Any] = {
        "kind": "credit_note", "languages": languages_of(account), "number": note.number,
        "date": note.issue_date.isoformat(), "currency": note.currency, "period": credit.period.isoformat(),
        "provider": firm_party(), "client": buyer(account),
        "contract": {"number": credit.contract.number},
        "sla": {"code": kpi["code"], "name": kpi["name"], "unit": unit_text(kpi["unit"]) if kpi["unit"] else None, "target": kpi["target"],
                "actual": kpi["actual"]},
        "lines": [{"service": line["service"], "monthly_charge": line["monthly_charge"], "percent": line["percent"]}
                  for line in calculation["lines"]],
        "caps": [{"cap": cap["cap"], "reduction": cap["reduction"]} for cap in calculation["caps"]],
        "amount": plain_decimal(note.amount),
    }
    if credit.adjusted and credit.reason:
        data["reason"] = credit.reason
    if invoice is not None:
        data["invoice"] = {"number": invoice.number, "date": invoice.issue_date.isoformat()}
    return for_readers(account, data)


def credit_note_document(session: Session, credit: ServiceCredit, note: CreditNote, invoice: Invoice | None,
                         account: Account, by: User) -> Document:
    """Render and store the credit note under its own number."""
    data = credit_note_input(credit, note, invoice, account)
    return store_document(session, account, credit.contract, DocumentKind.CREDIT_NOTE, note.number, data, by)

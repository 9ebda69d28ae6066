"""Documents issued from the portal: contract amendments and work orders rendered by
docgen, numbered without gaps per contract and year, stored immutably with their
SHA-256, each issue a chained audit event."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import docgen
from docgen.formatting import plain_decimal
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portal import audit
from portal.documents import renditions
from portal.change_requests.service import client_approval
from portal.domain import Conflict, DomainError
from portal.models import (
    Account,
    ChangeRequest,
    Contract,
    CRStatus,
    Document,
    DocumentKind,
    StoredFile,
    User,
)
from portal.sequences import next_value

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PREFIXES = {DocumentKind.AMENDMENT: "AMD", DocumentKind.WORK_ORDER: "WO"}


def check_languages(account: Account, languages: list[str]) -> list[str]:
    """One language or two side by side, from the account's document languages."""
    allowed = account.document_languages or ["en"]
    if not 1 <= len(languages) <= 2 or len(set(languages)) != len(languages) or any(l not in allowed for l in languages):
        raise DomainError(_l("Choose one or two of this account's document languages: %(languages)s",
                             languages=", ".join(allowed)), fields={"languages": "not allowed"})
    return languages


# Clients in these countries read British English (authorised, organisation); others American.
BRITISH_ENGLISH = frozenset({"GB", "IE", "SG", "HK", "AU", "NZ", "IN", "MY"})


def provider(issuer: User) -> dict[str, Any]:
    """The firm as a party, represented by the issuer. The issuer's title is passed as
    stored: docgen writes a common title (Client Service Director) in each language."""
    config = current_app.config
    return {"name": config["FIRM_NAME"], "address": config["FIRM_ADDRESS"], "representative": issuer.name,
            "title": issuer.title or None}


def client_party(account: Account, representative: User | None) -> dict[str, Any]:
    """The client as a party: its legal name and address per language, represented by
    ``representative`` or else by the account's legal representative. The account's
    representative title per language is used for that person (a 'Tổng Giám đốc' is
    written as one, not as an authorised representative)."""
    party: dict[str, Any] = {"name": account.names, "timezone": account.timezone}
    if account.address:
        party["address"] = account.address
    legal_names = {name for name in account.representative_name.values() if name}
    if representative is None and legal_names:
        party["representative"] = dict(account.representative_name)
        if account.representative_title:
            party["title"] = dict(account.representative_title)
    elif representative is not None:
        party["representative"] = representative.name
        if representative.name in legal_names and account.representative_title:
            party["title"] = dict(account.representative_title)
        elif representative.title:
            party["title"] = representative.title
    return party


def conventions(account: Account) -> dict[str, Any]:
    """What docgen needs to write for the account's readers: the English spelling of
    the client's country and the place the document is made (the firm's city)."""
    return {"english": "GB" if account.country in BRITISH_ENGLISH else "US", "place": current_app.config["FIRM_CITY"]}


def contract_part(contract: Contract) -> dict[str, Any]:
    part = {"number": contract.number, "title": contract.title, "currency": contract.currency}
    if contract.signed_on:
        part["signed_on"] = contract.signed_on.isoformat()
    return part


def amendment_input(cr: ChangeRequest, account: Account, issuer: User, number: str, languages: list[str]) -> dict:
    """docgen's input for the amendment resting on ``cr``'s client approval."""
    from docgen.units import unit_text

    approval = client_approval(cr)
    lines = []
    for line in cr.lines:
        item = {"change": line.change.value, "description": line.description, "quantity": plain_decimal(line.quantity),
                "unit": unit_text(line.unit), "unit_price": plain_decimal(line.unit_price)}
        if line.old_quantity is not None and line.old_unit_price is not None:
            item["old_quantity"], item["old_unit_price"] = plain_decimal(line.old_quantity), plain_decimal(line.old_unit_price)
        lines.append(item)
    request_part = {"number": cr.number, "title": cr.title, "approved_by": approval.signature_name,
                    "approved_at": approval.decided_at.isoformat().replace("+00:00", "Z"), "version": cr.version}
    if cr.description:
        request_part["description"] = cr.description
    return {
        "kind": "amendment", "languages": languages, "number": number, "date": account.today().isoformat(),
        "effective_date": cr.effective_date.isoformat(), "contract": contract_part(cr.contract),
        "provider": provider(issuer), "client": client_party(account, approval.user), "change_request": request_part,
        "lines": lines, **conventions(account),
    }


def store_document(session: Session, account: Account, contract: Contract | None, kind: DocumentKind, number: str,
                   data: dict, by: User, **links: Any) -> Document:
    """Render ``data`` with docgen and store it immutably with its SHA-256; the issue
    is a chained audit event. Its PDF is asked for in the same unit of work (unless
    ``DOCUMENT_PDF_ON_ISSUE`` is off), to be made in the background once it commits."""
    try:
        content = docgen.render(data)
    except docgen.ValidationError as error:
        raise DomainError(_l("The document could not be made from this data."),
                          fields={path: message for path, message in error.errors}) from None
    digest = hashlib.sha256(content).hexdigest()
    stored = StoredFile(account_id=account.id, filename=f"{number}.docx", content_type=DOCX, size=len(content),
                        sha256=digest, data=content)
    session.add(stored)
    session.flush()
    document = Document(account_id=account.id, contract_id=contract.id if contract else None, kind=kind,
                        number=number, title=_title(data), languages=list(data["languages"]), sha256=digest,
                        file_id=stored.id, source=data, created_by_id=by.id, **links)
    session.add(document)
    session.flush()
    audit.record(session, "document.issued", document, actor=by, chained=True,
                 data={"kind": kind.value, "number": number, "sha256": digest, "languages": data["languages"]})
    if current_app.config["DOCUMENT_PDF_ON_ISSUE"]:
        renditions.ask_for_pdf(session, document, by)
    return document


def _title(data: dict) -> str:
    if data["kind"] == "amendment":
        title = data["change_request"]["title"]
    elif data["kind"] == "review_pack":
        title = f"Monthly service review {data['period']}"
    elif data["kind"] == "invoice":
        title = f"Invoice {data['number']}"
    elif data["kind"] == "statement":
        title = f"Statement of account {data['date']}"
    else:
        title = data.get("title", "")
    if isinstance(title, dict):
        title = title.get("en") or next(iter(title.values()), "")
    return str(title)[:300]


def next_number(session: Session, contract: Contract, kind: DocumentKind, year: int) -> str:
    """AMD-2026-0003: per contract, kind and year, gap-free under concurrency (the
    counter's row lock is held until the issuing transaction ends)."""
    prefix = PREFIXES[kind]
    value = next_value(session, f"doc:{prefix}:{contract.id}:{year}")
    return f"{prefix}-{year}-{value:04d}"


def issue_amendment(session: Session, cr: ChangeRequest, account: Account, by: User, languages: list[str]) -> Document:
    """Render and store the amendment for an approved (or implemented) CR."""
    if cr.status not in (CRStatus.APPROVED, CRStatus.IMPLEMENTED) or client_approval(cr) is None:
        raise Conflict(_l("An amendment is issued from an approved change request."))
    languages = check_languages(account, languages)
    number = next_number(session, cr.contract, DocumentKind.AMENDMENT, account.today().year)
    data = amendment_input(cr, account, by, number, languages)
    return store_document(session, account, cr.contract, DocumentKind.AMENDMENT, number, data, by, change_request_id=cr.id)


def issue_work_order(session: Session, account: Account, contract: Contract, by: User, *, title: dict[str, str],
                     description: dict[str, str], po_number: str, start_date: date, end_date: date,
                     lines: list[dict[str, Any]], acceptance_criteria: list[dict[str, str]],
                     languages: list[str]) -> Document:
    """Render and store a work order under ``contract``."""
    from docgen.units import unit_text

    if end_date < start_date:
        raise DomainError(_l("The end date is before the start date."), fields={"end_date": "before start_date"})
    if not lines:
        raise DomainError(_l("Add at least one line."), fields={"lines": "required"})
    languages = check_languages(account, languages)
    number = next_number(session, contract, DocumentKind.WORK_ORDER, account.today().year)
    data = {
        "kind": "work_order", "languages": languages, "number": number, "date": account.today().isoformat(),
        "contract": contract_part(contract), "provider": provider(by), "client": client_party(account, None),
        "po_number": po_number, "title": title, "description": description,
        "start_date": start_date.isoformat(), "end_date": end_date.isoformat(),
        "lines": [{**line, "unit": unit_text(line["unit"]) if isinstance(line["unit"], str) else line["unit"]}
                  for line in lines],
        "acceptance_criteria": acceptance_criteria, **conventions(account),
    }
    return store_document(session, account, contract, DocumentKind.WORK_ORDER, number, data, by)

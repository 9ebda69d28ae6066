"""Documents issued from the portal: contract amendments and work orders rendered by
docgen, numbered without gaps in the firm per kind and year (one number per subject,
issued again as its next revision), stored immutably with their SHA-256, each issue a
chained audit event; in a language the account has reviewed, first a draft for its
regional reviewer (``portal.documents.review``)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

import docgen
from docgen.formatting import plain_decimal
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portal import audit
from portal.documents import renditions, review
from portal.change_requests.service import client_approval
from portal.domain import Conflict, DomainError
from portal.models import (
    Account,
    ChangeRequest,
    Contract,
    CRStatus,
    Document,
    DocumentKind,
    DocumentStatus,
    StoredFile,
    User,
)
from portal.models.base import utcnow
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


def provider(issuer: User) -> dict[str, Any]:
    config = current_app.config
    return {"name": config["FIRM_NAME"], "address": config["FIRM_ADDRESS"], "representative": issuer.name,
            "title": issuer.title or None}


def client_party(account: Account, representative: User | None) -> dict[str, Any]:
    party: dict[str, Any] = {"name": account.name, "timezone": account.timezone}
    if account.address:
        party["address"] = account.address
    if representative is not None:
        party["representative"] = representative.name
        if representative.title:
            party["title"] = representative.title
    return party


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
        "lines": lines,
    }


def prevailing_language(account: Account, contract: Contract | None, languages: list[str]) -> str | None:
    """The language that prevails in a bilingual document: the contract's, else the
    account's, if it is one of the document's languages."""
    chosen = (contract.prevailing_language if contract is not None else None) or account.prevailing_language
    return chosen if len(languages) == 2 and chosen in languages else None


def _render(data: dict) -> bytes:
    try:
        return docgen.render(data)
    except docgen.ValidationError as error:
        raise DomainError(_l("The document could not be made from this data."),
                          fields={path: message for path, message in error.errors}) from None


@dataclass(frozen=True)
class Numbering:
    """The number and revision a document is issued under, and the draft in review it
    replaces, if its subject has one."""

    number: str
    revision: int = 1
    draft: Document | None = None


def numbering(session: Session, subject: str, latest: sa.Select | None, new_number: Callable[[], str]) -> Numbering:
    """A subject (a change request, a plan, an account's month) has one number: its
    first document takes a new one (``new_number``), each one after it is the next
    revision of that number, and one issued while a draft of it is in review makes that
    draft again. ``latest`` selects the subject's documents; the subject's own counter
    (``next_value``) holds its lock until the transaction ends, so concurrent issues of
    one subject queue instead of both taking revision 2."""
    next_value(session, f"issue:{subject}")
    previous = session.scalar(latest.order_by(Document.revision.desc(), Document.id.desc()).limit(1)) if latest is not None else None
    if previous is None:
        return Numbering(new_number())
    if previous.status is DocumentStatus.IN_REVIEW:
        return Numbering(previous.number, previous.revision, previous)
    return Numbering(previous.number, previous.revision + 1)


def store_document(session: Session, account: Account, contract: Contract | None, kind: DocumentKind,
                   numbered: Numbering | str, data: dict, by: User, **links: Any) -> Document:
    """Render ``data`` with docgen and store it immutably with its SHA-256. A document in
    a language the account has reviewed (``review``) is stored as a draft and sent to
    its reviewers; any other is issued, a chained audit event. Its PDF is asked for in
    the same unit of work (unless ``DOCUMENT_PDF_ON_ISSUE`` is off), to be made in the
    background once it commits: the reviewer reads the draft as PDF too."""
    if isinstance(numbered, str):
        numbered = Numbering(numbered)
    data = {**data, "number": numbered.number}
    if numbered.revision > 1:
        data["revision"] = numbered.revision
    prevailing = prevailing_language(account, contract, list(data["languages"]))
    if prevailing:
        data["prevailing_language"] = prevailing
    content = _render(data)
    digest = hashlib.sha256(content).hexdigest()
    stem = numbered.number if numbered.revision == 1 else f"{numbered.number}-rev{numbered.revision}"  # file_stem
    stored = StoredFile(account_id=account.id, filename=f"{stem}.docx", content_type=DOCX, size=len(content),
                        sha256=digest, data=content)
    session.add(stored)
    session.flush()
    if numbered.draft is not None:
        document = review.redraft(session, numbered.draft, account, by, file_id=stored.id, sha256=digest, data=data,
                                  title=_title(data))
    else:
        document = _new_document(session, account, contract, kind, numbered, data, by, stored, **links)
    if current_app.config["DOCUMENT_PDF_ON_ISSUE"]:
        renditions.ask_for_pdf(session, document, by)
    return document


def _new_document(session: Session, account: Account, contract: Contract | None, kind: DocumentKind,
                  numbered: Numbering, data: dict, by: User, stored: StoredFile, **links: Any) -> Document:
    to_review = review.languages_to_review(session, account, kind, list(data["languages"]))
    now = utcnow()
    document = Document(account_id=account.id, contract_id=contract.id if contract else None, kind=kind,
                        number=numbered.number, revision=numbered.revision, title=_title(data),
                        languages=list(data["languages"]), sha256=stored.sha256, file_id=stored.id, source=data,
                        created_by_id=by.id, drafted_by_id=by.id, review_languages=to_review,
                        status=DocumentStatus.IN_REVIEW if to_review else DocumentStatus.ISSUED,
                        issued_at=None if to_review else now, created_at=now, updated_at=now, **links)
    session.add(document)
    session.flush()
    if to_review:
        review.start(session, document, account, by)
    else:
        audit.record(session, "document.issued", document, actor=by, chained=True,
                     data={"kind": kind.value, "number": document.number, "revision": document.revision,
                           "sha256": document.sha256, "languages": document.languages})
    return document


def _title(data: dict) -> str:
    if data["kind"] == "amendment":
        title = data["change_request"]["title"]
    elif data["kind"] == "review_pack":
        title = f"Monthly service review {data['period']}"
    else:
        title = data.get("title", "")
    if isinstance(title, dict):
        title = title.get("en") or next(iter(title.values()), "")
    return str(title)[:300]


def next_number(session: Session, kind: DocumentKind, year: int) -> str:
    """AMD-2026-0003: unique in the firm, per kind and year, gap-free under concurrency
    (the counter's row lock is held until the issuing transaction ends)."""
    prefix = PREFIXES[kind]
    value = next_value(session, f"doc:{prefix}:{year}")
    return f"{prefix}-{year}-{value:04d}"


def issue_amendment(session: Session, cr: ChangeRequest, account: Account, by: User, languages: list[str]) -> Document:
    """Render and store the amendment for an approved (or implemented) CR. A change
    request has one amendment number: issuing it again (in other languages) is the
    next revision of that number."""
    if cr.status not in (CRStatus.APPROVED, CRStatus.IMPLEMENTED) or client_approval(cr) is None:
        raise Conflict(_l("An amendment is issued from an approved change request."))
    languages = check_languages(account, languages)
    numbered = numbering(session, f"cr:{cr.id}", sa.select(Document).where(Document.change_request_id == cr.id),
                         lambda: next_number(session, DocumentKind.AMENDMENT, account.today().year))
    data = amendment_input(cr, account, by, numbered.number, languages)
    return store_document(session, account, cr.contract, DocumentKind.AMENDMENT, numbered, data, by,
                          change_request_id=cr.id)


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
    number = next_number(session, DocumentKind.WORK_ORDER, account.today().year)
    data = {
        "kind": "work_order", "languages": languages, "number": number, "date": account.today().isoformat(),
        "contract": contract_part(contract), "provider": provider(by), "client": client_party(account, None),
        "po_number": po_number, "title": title, "description": description,
        "start_date": start_date.isoformat(), "end_date": end_date.isoformat(),
        "lines": [{**line, "unit": unit_text(line["unit"]) if isinstance(line["unit"], str) else line["unit"]}
                  for line in lines],
        "acceptance_criteria": acceptance_criteria,
    }
    return store_document(session, account, contract, DocumentKind.WORK_ORDER, number, data, by)

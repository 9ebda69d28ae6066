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
import docgen.preflight
from docgen.formatting import plain_decimal
from flask import current_app
from flask_babel import gettext, lazy_gettext as _l, lazy_pgettext as _lp
from sqlalchemy.orm import Session

from portal import audit
from portal.documents import issued, renditions, review
from portal.change_requests.service import client_approval, client_approvals
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
PREFIXES = {DocumentKind.AMENDMENT: "AMD", DocumentKind.WORK_ORDER: "WO", DocumentKind.QUOTATION: "QUO"}

# The parts of a docgen field path in the user's words: ``lines.2.description.zh`` is
# "Line 3 › Description (Chinese)". A part not named here is shown as it is.
PATH_NAMES = {
    "contract": _l("Contract"), "change_request": _l("Change request"), "provider": _l("Service provider"),
    "client": _l("Client"), "title": _l("Title"), "description": _l("Description"), "name": _lp("field", "Name"),
    "unit": _l("Unit"), "item": _l("Item"), "risk": _l("Risk"), "mitigation": _l("Mitigation"),
    "owner": _l("Owner"), "address": _l("Address"), "representative": _l("Representative"),
    "po_number": _l("Purchase order (PO) number"),
}
NUMBERED_PATH_NAMES = {
    "lines": _l("Line %(n)s"), "clauses": _l("Clause %(n)s"), "acceptance_criteria": _l("Acceptance criterion %(n)s"),
    "objectives": _l("Objective %(n)s"), "kpis": _l("KPI %(n)s"), "initiatives": _l("Initiative %(n)s"),
    "budget": _l("Budget line %(n)s"), "risks": _l("Risk %(n)s"), "reviews": _l("Review %(n)s"),
}
LANGUAGE_NAMES = {"en": _l("English"), "zh": _l("Chinese"), "vi": _l("Vietnamese")}


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


def amendment_input(cr: ChangeRequest, account: Account, issuer: User, number: str, languages: list[str],
                    show_source_text: bool = False) -> dict:
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
    approvers = client_approvals(cr)
    if len(approvers) > 1:  # the client's delegation of authority needed a second approver
        request_part["approvers"] = [{"name": a.signature_name, "at": a.decided_at.isoformat().replace("+00:00", "Z")}
                                     for a in approvers]
    if cr.description:
        request_part["description"] = cr.description
    return {
        "kind": "amendment", "languages": languages, "number": number, "date": account.today().isoformat(),
        "effective_date": cr.effective_date.isoformat(), "contract": contract_part(cr.contract),
        "provider": provider(issuer), "client": client_party(account, approval.user), "change_request": request_part,
        "lines": lines, **conventions(account), "untranslated": untranslated_policy(show_source_text),
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
        raise refusal(error) from None


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


def _rendered(account: Account, contract: Contract | None, data: dict) -> tuple[dict, bytes]:
    """docgen's input as the document is made from it (with the language that prevails
    in a bilingual one), and the rendered .docx."""
    prevailing = prevailing_language(account, contract, list(data["languages"]))
    if prevailing:
        data = {**data, "prevailing_language": prevailing}
    return data, _render(data)


# The number a preview is made under: it takes none of the series, and says what it is.
PREVIEW = "PREVIEW"


def preview_number(prefix: str, period: object) -> str:
    """AMD-2027-PREVIEW: where a preview shows its number, in the file name too."""
    return f"{prefix}-{period}-{PREVIEW}"


@dataclass(frozen=True)
class Preview:
    """A document as issuing it would make it, for the issuer's eyes only: rendered
    under ``preview_number``, stored nowhere, numbered nothing, reviewed by nobody."""

    filename: str
    content: bytes


def preview(account: Account, contract: Contract | None, data: dict) -> Preview:
    """Render ``data`` (its number a ``preview_number``) as its document would be; the
    same refusals as an issue (a text without a translation, a character no font has)."""
    data, content = _rendered(account, contract, data)
    return Preview(f"{data['number']}.docx", content)


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
    data, content = _rendered(account, contract, data)
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


def untranslated_policy(show_source_text: bool) -> str:
    """docgen's ``untranslated`` option for the issuer's choice: by default a text
    without a translation refuses the issue; chosen, its source text is shown marked."""
    return "show_source" if show_source_text else "refuse"


def refusal(error: docgen.ValidationError) -> DomainError:
    """docgen's refusal in the user's words: each text without a translation, or each
    character no font of the document has, named by its field."""
    if isinstance(error, docgen.UntranslatedError):
        return DomainError(
            _l("Some texts have no translation in a language of the document: %(fields)s. Add the translations, or "
               "choose to show the source text where a translation is missing.",
               fields=_Listed([FieldName(path, lang) for path, lang in error.missing])),
            fields={f"{path}.{lang}": "no translation" for path, lang in error.missing})
    if isinstance(error, docgen.GlyphError):
        return DomainError(
            _l("No font of the document has these characters, which would print as empty boxes: %(characters)s. "
               "Replace or remove them.",
               characters=_Listed([_CharacterIn(item) for item in error.uncovered])),
            fields={item.path: f"no font has {item.char} ({item.codepoint})" for item in error.uncovered})
    return DomainError(_l("The document could not be made from this data."),
                       fields={path: message for path, message in error.errors})


class FieldName:
    """A docgen field path as the user reads it, in the language it is shown in:
    ``lines.2.description`` and ``zh`` is "Line 3 › Description (Chinese)"."""

    def __init__(self, path: str, language: str | None = None) -> None:
        self.path, self.language = path, language

    def __str__(self) -> str:
        parts = self.path.split(".")
        if self.language is None and parts[-1] in LANGUAGE_NAMES:
            *parts, self.language = parts
        words = []
        for index, part in enumerate(parts):
            if part.isdigit() and index and parts[index - 1] in NUMBERED_PATH_NAMES:
                words[-1] = str(NUMBERED_PATH_NAMES[parts[index - 1]] % {"n": int(part) + 1})
            else:
                words.append(str(PATH_NAMES.get(part, part)))
        name = " › ".join(words)
        if self.language is None:
            return name
        return gettext("%(field)s (%(language)s)", field=name, language=LANGUAGE_NAMES[self.language])


class _CharacterIn:
    def __init__(self, item: docgen.preflight.Uncovered) -> None:
        self.item = item

    def __str__(self) -> str:
        where = gettext("the document's own text") if self.item.path == docgen.preflight.LABEL_PATH \
            else str(FieldName(self.item.path))
        return gettext("%(char)s (%(code)s) in %(field)s", char=self.item.char, code=self.item.codepoint, field=where)


class _Listed:
    """Items joined as a list of the language the message is shown in."""

    def __init__(self, items: list) -> None:
        self.items = items

    def __str__(self) -> str:
        return gettext("; ").join(str(item) for item in self.items)


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
        issued.tell_clients(session, document, account)
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


def next_number(session: Session, kind: DocumentKind, year: int) -> str:
    """AMD-2026-0003: unique in the firm, per kind and year, gap-free under concurrency
    (the counter's row lock is held until the issuing transaction ends)."""
    prefix = PREFIXES[kind]
    value = next_value(session, f"doc:{prefix}:{year}")
    return f"{prefix}-{year}-{value:04d}"


def _check_amendment(cr: ChangeRequest, account: Account, languages: list[str]) -> list[str]:
    if cr.status not in (CRStatus.APPROVED, CRStatus.IMPLEMENTED) or client_approval(cr) is None:
        raise Conflict(_l("An amendment is issued from an approved change request."))
    return check_languages(account, languages)


def preview_amendment(cr: ChangeRequest, account: Account, by: User, languages: list[str],
                      show_source_text: bool = False) -> Preview:
    """The amendment ``issue_amendment`` would make, without issuing it (``preview``)."""
    languages = _check_amendment(cr, account, languages)
    number = preview_number(PREFIXES[DocumentKind.AMENDMENT], account.today().year)
    return preview(account, cr.contract, amendment_input(cr, account, by, number, languages, show_source_text))


def issue_amendment(session: Session, cr: ChangeRequest, account: Account, by: User, languages: list[str],
                    show_source_text: bool = False) -> Document:
    """Render and store the amendment for an approved (or implemented) CR; a text of the
    CR without a translation refuses it unless ``show_source_text``. A change request
    has one amendment number: issuing it again (in other languages) is the next
    revision of that number."""
    languages = _check_amendment(cr, account, languages)
    numbered = numbering(session, f"cr:{cr.id}", sa.select(Document).where(Document.change_request_id == cr.id),
                         lambda: next_number(session, DocumentKind.AMENDMENT, account.today().year))
    data = amendment_input(cr, account, by, numbered.number, languages, show_source_text)
    return store_document(session, account, cr.contract, DocumentKind.AMENDMENT, numbered, data, by,
                          change_request_id=cr.id)


def work_order_input(account: Account, contract: Contract, by: User, number: str, *, title: dict[str, str],
                     description: dict[str, str], po_number: str, start_date: date, end_date: date,
                     lines: list[dict[str, Any]], acceptance_criteria: list[dict[str, str]],
                     languages: list[str], show_source_text: bool = False) -> dict[str, Any]:
    """docgen's input for a work order under ``contract`` numbered ``number``, or why not."""
    from docgen.units import unit_text

    if end_date < start_date:
        raise DomainError(_l("The end date is before the start date."), fields={"end_date": "before the start date"})
    if not lines:
        raise DomainError(_l("Add at least one line."), fields={"lines": "required"})
    languages = check_languages(account, languages)
    return {
        "kind": "work_order", "languages": languages, "number": number, "date": account.today().isoformat(),
        "contract": contract_part(contract), "provider": provider(by), "client": client_party(account, None),
        "po_number": po_number, "title": title,
        **({"description": description} if description else {}),  # optional: left blank, none
        "start_date": start_date.isoformat(), "end_date": end_date.isoformat(),
        "lines": [{**line, "unit": unit_text(line["unit"]) if isinstance(line["unit"], str) else line["unit"]}
                  for line in lines],
        "acceptance_criteria": acceptance_criteria, **conventions(account),
        "untranslated": untranslated_policy(show_source_text),
    }


def preview_work_order(account: Account, contract: Contract, by: User, **details: Any) -> Preview:
    """The work order ``issue_work_order`` would make, without issuing it (``preview``)."""
    number = preview_number(PREFIXES[DocumentKind.WORK_ORDER], account.today().year)
    return preview(account, contract, work_order_input(account, contract, by, number, **details))


def issue_work_order(session: Session, account: Account, contract: Contract, by: User, **details: Any) -> Document:
    """Render and store a work order under ``contract`` (``work_order_input`` names what
    it takes); a text without a translation refuses it unless ``show_source_text``."""
    number = next_number(session, DocumentKind.WORK_ORDER, account.today().year)  # a refusal rolls it back
    data = work_order_input(account, contract, by, number, **details)
    return store_document(session, account, contract, DocumentKind.WORK_ORDER, number, data, by)

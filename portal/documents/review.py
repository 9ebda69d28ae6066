"""Regional review before issue: an account may require that its documents in Chinese
or Vietnamese are read and approved by its regional reviewer of that language before
the client gets them (``Account.review_languages``).

Issuing such a document makes a *draft* (``DocumentStatus.IN_REVIEW``): numbered,
rendered and stored with its SHA-256 like an issued one, but the firm's only (the
model's ``client_visible`` policy). Its reviewers are told (e-mail, and their
"Documents to review" page, ``waiting_for``). A reviewer reads it as PDF and comments
or approves; comments are kept and shown to the issuer.

An approval is evidence in the way a client's approval of a change request is
(``portal.versioning``): it names the SHA-256 of the draft the reviewer read, lands only
while the draft is still at that hash (a conditional update: one winner), is recorded
once per hash and language (the partial unique index, a ``Conflict`` past it) and is a
chained audit event. A draft made again (issued again while in review: new content, new
hash) needs a new review: nothing given on the old hash counts for it.

Once every language the draft needs is approved on its current hash, it is issued at
that moment: what the reviewer approved is exactly the file the client receives, so
there is nothing left for the issuer to decide, and a second click would only delay
the client and leave approved drafts forgotten. The issuer is told.

Four eyes: the reviewer is never whoever issued or re-drafted the document (a user
whose role changed since does not review their own work).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from portal import audit, versioning
from portal.accounts import assigned
from portal.documents import issued
from portal.domain import Conflict, DomainError
from portal.i18n import LANGUAGE_NAMES
from portal.models import (
    REVIEWED_KINDS,
    Account,
    Document,
    DocumentKind,
    DocumentReview,
    DocumentStatus,
    ReviewVerdict,
    Role,
    User,
)
from portal.models.base import utcnow
from portal.notifications import Recipient, link, notify

# The languages whose documents a regional reviewer may be asked to approve.
REVIEWABLE = ("zh", "vi")
MOVED_ON = _l("This draft was changed, reviewed or issued in the meantime. Reload it to see its current version.")


def reviewers(session: Session, account: Account, language: str) -> list[User]:
    """The account's regional reviewers of ``language``: the team's regional reviewers
    whose own language it is (the language they read and write the portal in)."""
    return [user for user in assigned(session, account, Role.REGIONAL_REVIEWER) if user.language == language]


def languages_to_review(session: Session, account: Account, kind: DocumentKind, languages: list[str]) -> list[str]:
    """Which of a new document's languages need their reviewer's approval before it is
    issued; refused (409) when the account's team has no reviewer of one of them, so
    that a draft never waits for nobody."""
    if kind not in REVIEWED_KINDS:
        return []
    wanted = [language for language in languages if language in (account.review_languages or [])]
    for language in wanted:
        if not reviewers(session, account, language):
            raise DomainError(
                _l("This account's documents in %(language)s are reviewed before they are issued, but its team has "
                   "no regional reviewer of %(language)s. An administrator adds one to the account's team.",
                   language=LANGUAGE_NAMES[language]),
                status=409, fields={"languages": f"no regional reviewer of {language} on the account's team"})
    return wanted


def start(session: Session, document: Document, account: Account, by: User) -> None:
    """Send a new draft to its reviewers."""
    audit.record(session, "document.drafted", document, actor=by, chained=True,
                 data=_facts(document) | {"review_languages": document.review_languages})
    _notify_reviewers(session, document, account, by)


def redraft(session: Session, document: Document, account: Account, by: User, *, file_id: int, sha256: str,
            data: dict, title: str) -> Document:
    """The draft in review made again (its subject issued again: new languages, new
    content). A new hash voids every approval given so far: it needs a new review."""
    versioning.claim(session, document, conflict=MOVED_ON)
    before = document.sha256
    document.file_id, document.sha256, document.source, document.title = file_id, sha256, data, title
    document.languages = list(data["languages"])
    document.review_languages = languages_to_review(session, account, document.kind, document.languages)
    document.drafted_by_id = by.id
    session.flush()
    if not document.review_languages:  # the languages chosen now need no review
        _issue(session, document, account, by, version=sha256)
        return document
    if sha256 != before:
        audit.record(session, "document.redrafted", document, actor=by, chained=True,
                     data=_facts(document) | {"previous_sha256": before})
        _notify_reviewers(session, document, account, by)
    return document


def _check_reviewer(session: Session, document: Document, account: Account, by: User) -> str:
    """The language ``by`` reviews the draft in, or why not (403)."""
    if by.role is not Role.REGIONAL_REVIEWER:
        raise DomainError(_l("Only a regional reviewer reviews a draft."), status=403)
    if by.id in authors(document):
        raise DomainError(_l("Someone other than the issuer of a document must review it."), status=403)
    if by.language not in document.review_languages or by not in reviewers(session, account, by.language):
        raise DomainError(_l("This draft waits for the review of the account's regional reviewer of its language."),
                          status=403)
    return by.language


def _check_version(document: Document, version: str) -> None:
    if document.status is not DocumentStatus.IN_REVIEW or version != document.sha256:
        raise Conflict(MOVED_ON)


def authors(document: Document) -> set[int]:
    """Who made the document: its issuer and whoever made its current draft."""
    return {user_id for user_id in (document.created_by_id, document.drafted_by_id) if user_id}


def comment(session: Session, document: Document, account: Account, by: User, *, version: str, text: str,
            ip: str = "") -> DocumentReview:
    """A reviewer's comment on the draft at ``version``: kept, shown to the issuer, and
    sent to them; the draft stays in review."""
    language = _check_reviewer(session, document, account, by)
    if not text.strip():
        raise DomainError(_l("Write your comment."), fields={"comment": "required"})
    _check_version(document, version)
    review = DocumentReview(account_id=document.account_id, document_id=document.id, version_hash=version,
                            language=language, verdict=ReviewVerdict.COMMENTED, reviewer_id=by.id,
                            comment=text.strip(), ip=ip[:45])
    session.add(review)
    session.flush()
    audit.record(session, "document.review_commented", document, actor=by, chained=True, ip=ip,
                 data=_facts(document) | {"language": language, "comment": review.comment})
    _notify_issuer(session, document, account, review)
    return review


def approve(session: Session, document: Document, account: Account, by: User, *, version: str, text: str = "",
            typed_name: str = "", ip: str = "") -> DocumentReview:
    """A reviewer's approval of the draft at ``version`` (the SHA-256 of the file they
    read), with their typed name if they give one. ``Conflict`` when the draft has
    changed or been decided since. The last language needed issues the document."""
    language = _check_reviewer(session, document, account, by)
    signature = versioning.check_signature(typed_name, by) if typed_name.strip() else ""
    _check_version(document, version)
    # Take the draft as the reviewer saw it: a redraft or another approval committed
    # since then wins, one arriving now waits for this one.
    versioning.claim(session, document, conflict=MOVED_ON)
    review = DocumentReview(account_id=document.account_id, document_id=document.id, version_hash=version,
                            language=language, verdict=ReviewVerdict.APPROVED, reviewer_id=by.id,
                            comment=text.strip(), signature_name=signature, ip=ip[:45], created_at=utcnow())
    versioning.record_decision(
        session, document, review, action="document.review_approved", by=by, ip=ip,
        data=_facts(document) | {"language": language, "signature_name": signature, "comment": review.comment},
        conflict=_l("This draft was approved in this language in the meantime."))
    session.refresh(document, ["reviews"])
    if set(document.review_languages) <= approved_languages(document):
        _issue(session, document, account, by, version=version)
    else:
        _notify_issuer(session, document, account, review)
    return review


def approved_languages(document: Document) -> set[str]:
    """The languages whose approval stands on the draft's current hash."""
    return {r.language for r in document.reviews
            if r.verdict is ReviewVerdict.APPROVED and r.version_hash == document.sha256}


def _issue(session: Session, document: Document, account: Account, by: User, *, version: str) -> None:
    versioning.transition(session, document, (DocumentStatus.IN_REVIEW,), DocumentStatus.ISSUED, version=version,
                          conflict=MOVED_ON, issued_at=utcnow())
    audit.record(session, "document.issued", document, actor=by, chained=True,
                 data=_facts(document) | {"reviewed": sorted(approved_languages(document))})
    issued.tell_clients(session, document, account)
    issuer = session.scalar(sa.select(User).where(User.id == document.created_by_id)) if document.created_by_id else None
    if issuer is not None and issuer.active and issuer.id != by.id:
        notify(session, "document_issued_after_review", [Recipient.of_user(issuer)], account_id=account.id,
               document=document, account=account, by=by, url=link(f"/documents/{document.id}"))


def waiting_for(session: Session, user: User) -> list[Document]:
    """The drafts waiting for ``user``'s review: in review, in their language, of the
    accounts whose regional reviewer they are, and not already approved by them on
    the current hash, nor made by them. The "Documents to review" page and the inbox's
    ``document_review`` items read this."""
    if user.role is not Role.REGIONAL_REVIEWER:
        return []
    drafts = session.scalars(
        sa.select(Document).where(Document.status == DocumentStatus.IN_REVIEW)
        .options(selectinload(Document.reviews)).order_by(Document.updated_at, Document.id))
    return [d for d in drafts if user.language in d.review_languages and user.id not in authors(d)
            and user.language not in approved_languages(d)]


def _facts(document: Document) -> dict:
    return {"kind": document.kind.value, "number": document.number, "revision": document.revision,
            "sha256": document.sha256, "languages": document.languages}


def _notify_reviewers(session: Session, document: Document, account: Account, by: User) -> None:
    recipients = [Recipient.of_user(user) for language in document.review_languages
                  for user in reviewers(session, account, language) if user.id != by.id]
    notify(session, "document_review_requested", recipients, account_id=account.id, document=document,
           account=account, by=by, url=link(f"/documents/{document.id}"))


def _notify_issuer(session: Session, document: Document, account: Account, review: DocumentReview) -> None:
    issuer = session.scalar(sa.select(User).where(User.id == (document.drafted_by_id or document.created_by_id)))
    if issuer is None or not issuer.active:
        return
    notify(session, "document_reviewed", [Recipient.of_user(issuer)], account_id=account.id, document=document,
           account=account, review=review, url=link(f"/documents/{document.id}"))

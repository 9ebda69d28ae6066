"""Documents as PDF: a PDF/A rendition of each distinct .docx, made once in the
background by the ``document_pdf`` job and kept by the file's SHA-256, whoever asks
for it and however many documents hold that file.

Asking for a document's PDF finds it in ``pdf_renditions``, or else asks for the job
(one per file: the same key finds the job already asked for, by anyone). Issuing a
document asks for it at once (``store_document``), so it is usually ready by the time
someone wants it. LibreOffice runs off the request path, in the job's worker.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from docgen.i18n import N_
from portal.domain import DomainError
from portal.models import Document, Job, PdfRendition, StoredFile, User

PDF = "application/pdf"
KIND = "document_pdf"
# Seconds a caller is asked to wait before asking again while the PDF is being made: a
# warm converter takes ~0.2 s a document, a cold one ~5 s to start.
RETRY_AFTER_S = 2
CONVERTING = N_("Converting the document to PDF")


def pdf_of(session: Session, document: Document) -> bytes | None:
    """The PDF of ``document``'s file, if it has been made."""
    return session.scalar(sa.select(PdfRendition.data).where(PdfRendition.sha256 == document.sha256))


def made(session: Session, documents: list[Document]) -> set[str]:
    """The SHA-256 of each of these documents' files whose PDF has been made."""
    digests = {document.sha256 for document in documents}
    if not digests:
        return set()
    return set(session.scalars(sa.select(PdfRendition.sha256).where(PdfRendition.sha256.in_(sorted(digests)))))


def ask_for_pdf(session: Session, document: Document, by: User | None) -> Job:
    """Ask for the PDF of ``document``'s file to be made in the background once this
    unit of work commits, started ``by`` a user (or the system). One job per distinct
    file: asked for again, by anyone, it is the same job, unless that one failed for
    good, when it is tried anew."""
    from portal.jobs import enqueue

    return enqueue(session, KIND, by=by, account_id=document.account_id, key=document.sha256, again_if_failed=True,
                   sha256=document.sha256, document_id=document.id)


def sees_file(session: Session, sha256: str) -> bool:
    """Whether the caller's scope holds a document of the file with this SHA-256: who
    may follow (and read) the PDF made of it."""
    return session.scalar(sa.select(Document.id).where(Document.sha256 == sha256).limit(1)) is not None


def make_pdf(session: Session, sha256: str, progress: Callable[[float, str], None] | None = None) -> PdfRendition:
    """Convert the .docx with this SHA-256 (of a document in the caller's scope) to
    PDF/A and keep it; nothing to do when it was made already. The file is read, then
    ``progress`` told (which on SQLite ends the reading transaction, so no lock is held
    while LibreOffice works), then the rendition written: a twin conversion that won
    the race keeps its own."""
    made = _rendition(session, sha256)
    if made is not None:
        return made
    docx = session.scalar(
        sa.select(StoredFile.data).join(Document, Document.file_id == StoredFile.id)
        .where(Document.sha256 == sha256, StoredFile.sha256 == sha256).limit(1))
    if docx is None:
        raise DomainError(_l("This page does not exist, or you do not have access to it."), status=404)
    if progress is not None:
        progress(0.1, CONVERTING)
    pdf = converted(docx)
    rendition = PdfRendition(sha256=sha256, size=len(pdf), data=pdf)
    try:
        with session.begin_nested():
            session.add(rendition)
    except sa.exc.IntegrityError:  # made meanwhile by another attempt: the first one made stays
        return _rendition(session, sha256)
    return rendition


def converted(docx: bytes) -> bytes:
    """The .docx as PDF/A (``docgen.pdf.to_pdf``), for a job: a server without
    LibreOffice fails it at once, saying so, since no retry would find one; other
    failures raise for the job to try again."""
    import docgen.pdf

    try:
        [pdf] = docgen.pdf.to_pdf([docx])
    except docgen.pdf.ConverterMissing:
        raise DomainError(_l("PDFs cannot be made on this server: its document converter is not installed.")) from None
    return pdf


def _rendition(session: Session, sha256: str) -> PdfRendition | None:
    return session.scalar(sa.select(PdfRendition).where(PdfRendition.sha256 == sha256))

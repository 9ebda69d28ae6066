"""Generated documents (amendments, work orders, plans, review packs, invoices and
statements of account), stored immutably."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship, synonym

from portal.models.base import AccountOwned, Base, FirmOnly, str_enum, utcnow

if TYPE_CHECKING:
    from portal.models.files import StoredFile
    from portal.models.user import User


class DocumentKind(enum.StrEnum):
    AMENDMENT = "amendment"
    WORK_ORDER = "work_order"
    PLAN = "plan"
    REVIEW_PACK = "review_pack"
    INVOICE = "invoice"
    STATEMENT = "statement"
    CREDIT_NOTE = "credit_note"
    QUOTATION = "quotation"


class DocumentStatus(enum.StrEnum):
    IN_REVIEW = "in_review"  # a draft waiting for the account's regional reviewers: the firm's only
    ISSUED = "issued"


# Kinds that an account's regional review applies to (review packs are the firm's own
# monthly report, issued by a job).
REVIEWED_KINDS = (DocumentKind.AMENDMENT, DocumentKind.WORK_ORDER, DocumentKind.PLAN)
# Kinds the client never sees in the portal: a quotation belongs to an opportunity, the
# firm's own (the firm sends the file itself).
FIRM_ONLY_KINDS = (DocumentKind.QUOTATION,)


class Document(AccountOwned, Base):
    """A document as issued (or, under regional review, as drafted): its number and
    revision, the .docx and its SHA-256. Numbers are unique in the firm; issuing the
    same subject again (a change request's amendment in other languages) is a new
    revision of its number (AMD-2026-0003 rev. 2), not a new number.

    Documents issued before numbers were firm-wide kept theirs, being signed: where
    two contracts held the same number, all but the first are ``number_shared`` and
    left out of the firm-wide uniqueness (they stay unique per contract)."""

    __tablename__ = "documents"
    __table_args__ = (
        sa.UniqueConstraint("contract_id", "number", "revision"),
        sa.Index("uq_documents_number_revision", "number", "revision", unique=True,
                 sqlite_where=sa.text("NOT number_shared"), postgresql_where=sa.text("NOT number_shared")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contracts.id", ondelete="SET NULL"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind))
    number: Mapped[str] = mapped_column(sa.String(40))  # AMD-2026-0003, WO-2026-0012
    revision: Mapped[int] = mapped_column(default=1, server_default="1")
    status: Mapped[DocumentStatus] = mapped_column(str_enum(DocumentStatus), default=DocumentStatus.ISSUED,
                                                   server_default=DocumentStatus.ISSUED.value, index=True)
    # The languages whose regional reviewer must approve the draft before it is issued.
    review_languages: Mapped[list[str]] = mapped_column(default=list, server_default="[]")
    number_shared: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    title: Mapped[str] = mapped_column(sa.String(300), default="")
    languages: Mapped[list[str]]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id", ondelete="RESTRICT"))
    # The docgen input it was rendered from, so the document can be explained later.
    source: Mapped[dict[str, Any]]
    change_request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("change_requests.id", ondelete="SET NULL"))
    plan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plans.id", ondelete="SET NULL"))
    # The invoice an invoice document shows (one per language set and content: see
    # portal.billing.documents).
    invoice_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invoices.id", ondelete="SET NULL"), index=True)
    # The opportunity a quotation quotes.
    opportunity_id: Mapped[int | None] = mapped_column(sa.ForeignKey("opportunities.id", ondelete="SET NULL"),
                                                       index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # Who made the draft as it stands (the issuer, or whoever issued it again while in
    # review): neither may approve it.
    drafted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_at: Mapped[datetime | None]

    file: Mapped[StoredFile] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    reviews: Mapped[list[DocumentReview]] = relationship(order_by="DocumentReview.id", cascade="all, delete-orphan",
                                                         passive_deletes=True)

    # What a review approves is the file: its SHA-256 is the draft's version
    # (``portal.versioning``'s conditional transitions compare it).
    version = synonym("sha256")

    @property
    def title_translations(self) -> dict[str, str]:
        """The title in each language it has one in, from what the document was made of
        (``portal.i18n.localized(document, "title")`` picks the reader's)."""
        from portal.documents.titles import document_titles  # the model layer imports no service

        return document_titles(self.kind.value, self.source or {})

    @property
    def label(self) -> str:
        """AMD-2026-0003, or AMD-2026-0003 rev. 2 from the second revision on."""
        return self.number if self.revision == 1 else f"{self.number} rev. {self.revision}"

    @property
    def file_stem(self) -> str:
        """The name its files download under: AMD-2026-0003, AMD-2026-0003-rev2."""
        return self.number if self.revision == 1 else f"{self.number}-rev{self.revision}"

    @hybrid_property
    def client_visible(self) -> bool:
        """Clients never see a draft: only what was issued."""
        return self.status is DocumentStatus.ISSUED and self.kind not in FIRM_ONLY_KINDS

    @client_visible.inplace.expression
    @classmethod
    def _client_visible(cls) -> sa.ColumnElement[bool]:
        return sa.and_(cls.status == DocumentStatus.ISSUED, cls.kind.not_in(FIRM_ONLY_KINDS))


class ReviewVerdict(enum.StrEnum):
    APPROVED = "approved"
    COMMENTED = "commented"


class DocumentReview(FirmOnly, AccountOwned, Base):
    """A regional reviewer's comment on, or approval of, one version (SHA-256) of a
    draft, for one language. One approval per version and language: the partial
    unique index is the second wall behind the conditional update on the document."""

    __tablename__ = "document_reviews"
    __table_args__ = (
        sa.Index("uq_document_reviews_approval", "document_id", "version_hash", "language", unique=True,
                 sqlite_where=sa.text("verdict = 'approved'"), postgresql_where=sa.text("verdict = 'approved'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(sa.ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    version_hash: Mapped[str] = mapped_column(sa.String(64))
    language: Mapped[str] = mapped_column(sa.String(5))
    verdict: Mapped[ReviewVerdict] = mapped_column(str_enum(ReviewVerdict))
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    signature_name: Mapped[str] = mapped_column(sa.String(200), default="")
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    reviewer: Mapped[User | None] = relationship()


class PdfRendition(Base):
    """The PDF/A of a .docx, made once per distinct file, by its SHA-256, whoever asks
    and however many documents hold that file. LibreOffice never writes the same PDF
    twice, so the first one made is the one kept and served from then on.

    Not account-owned: a rendition is reached only through a document the caller may
    see (``Document.sha256``), so it answers whom its document answers."""

    __tablename__ = "pdf_renditions"

    sha256: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # the .docx's
    size: Mapped[int] = mapped_column(sa.BigInteger)
    data: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary, nullable=False))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NumberSequence(Base):
    """Gap-free counters (document numbers firm-wide per kind and year, CR numbers per
    contract), advanced by a single ``UPDATE ... RETURNING`` so that concurrent
    issuers never share a number."""

    __tablename__ = "number_sequences"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)


class IdempotencyKey(Base):
    """A request the API has answered, by the caller's ``Idempotency-Key``: a retry
    (after a timeout or a 503) gets the same answer instead of a second document."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(200))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    status_code: Mapped[int | None]
    response: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

"""Generated documents (amendments, work orders, plans, review packs, invoices and
statements of account), stored immutably."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from portal.models.base import AccountOwned, Base, str_enum, utcnow

if TYPE_CHECKING:
    from portal.models.files import StoredFile


class DocumentKind(enum.StrEnum):
    AMENDMENT = "amendment"
    WORK_ORDER = "work_order"
    PLAN = "plan"
    REVIEW_PACK = "review_pack"
    INVOICE = "invoice"
    STATEMENT = "statement"


class Document(AccountOwned, Base):
    __tablename__ = "documents"
    # Numbers run per contract (AMD-2026-0003 of MSA-2024-018).
    __table_args__ = (sa.UniqueConstraint("contract_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contracts.id", ondelete="SET NULL"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(str_enum(DocumentKind))
    number: Mapped[str] = mapped_column(sa.String(40))  # AMD-2026-0003, WO-2026-0012
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
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    file: Mapped[StoredFile] = relationship()


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
    """Gap-free counters (document numbers per contract and year, CR numbers per
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

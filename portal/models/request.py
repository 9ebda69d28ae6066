"""Service requests (including billing enquiries), their comments and attachments."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import AccountOwned, Base, InternalNote, TimestampMixin, str_enum, utcnow
from portal.models.contract import Priority

if TYPE_CHECKING:
    from portal.models.account import Account
    from portal.models.files import StoredFile
    from portal.models.user import User


class RequestCategory(enum.StrEnum):
    BILLING = "billing"
    SERVICE = "service"
    SCOPE = "scope"
    OTHER = "other"


class RequestStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_CLIENT = "waiting_client"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_ON_INVOICE = "status IN ('open', 'in_progress', 'waiting_client') AND invoice_id IS NOT NULL"


class ServiceRequest(AccountOwned, TimestampMixin, Base):
    __tablename__ = "service_requests"
    __table_args__ = (
        sa.CheckConstraint("escalation_level BETWEEN 1 AND 3", name="escalation_level_range"),
        sa.Index("ix_service_requests_account_status", "account_id", "status"),
        # One open billing enquiry per invoice (migration 0009): concurrent disputes raise one.
        sa.Index("uq_service_requests_open_invoice", "invoice_id", unique=True,
                 postgresql_where=sa.text(OPEN_ON_INVOICE), sqlite_where=sa.text(OPEN_ON_INVOICE)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[RequestCategory] = mapped_column(str_enum(RequestCategory))
    subject: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority))
    status: Mapped[RequestStatus] = mapped_column(str_enum(RequestStatus), default=RequestStatus.OPEN)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    escalation_level: Mapped[int] = mapped_column(default=1)
    # SLA clocks: due times are recomputed when the clock pauses (waiting on the client).
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    first_responded_at: Mapped[datetime | None]
    waiting_since: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # When each target was found breached (by `flask sla check`); set once, so the
    # automatic escalation for a breach happens once.
    first_response_breached_at: Mapped[datetime | None]
    resolution_breached_at: Mapped[datetime | None]
    # A billing enquiry raised by disputing an invoice.
    invoice_id: Mapped[int | None] = mapped_column(sa.ForeignKey("invoices.id", ondelete="SET NULL"), index=True)

    account: Mapped[Account] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    comments: Mapped[list[RequestComment]] = relationship(
        back_populates="request", order_by="RequestComment.created_at", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="request", cascade="all, delete-orphan"
    )
    escalations: Mapped[list[Escalation]] = relationship(
        back_populates="request", order_by="Escalation.created_at", cascade="all, delete-orphan"
    )


class RequestComment(InternalNote, AccountOwned, Base):
    """A comment on a request; an ``internal`` note is the firm's only."""

    __tablename__ = "request_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("service_requests.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[ServiceRequest] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship()


class Attachment(AccountOwned, Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("service_requests.id", ondelete="CASCADE"), index=True)
    comment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("request_comments.id", ondelete="CASCADE"))
    file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id", ondelete="RESTRICT"))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[ServiceRequest] = relationship(back_populates="attachments")
    file: Mapped[StoredFile] = relationship()
    comment: Mapped[RequestComment | None] = relationship()

    @hybrid_property
    def client_visible(self) -> bool:
        """A file attached to an internal note is the firm's only, as the note is."""
        return self.comment_id is None or not self.comment.internal

    @client_visible.inplace.expression
    @classmethod
    def _client_visible(cls) -> sa.ColumnElement[bool]:
        public = sa.select(RequestComment.id).where(RequestComment.id == cls.comment_id,
                                                    RequestComment.internal.is_(False))
        return sa.or_(cls.comment_id.is_(None), public.exists())


class EscalationTrigger(enum.StrEnum):
    CLIENT = "client"  # raised by hand, with a reason
    FIRST_RESPONSE_BREACH = "first_response_breach"
    RESOLUTION_BREACH = "resolution_breach"


class Escalation(AccountOwned, Base):
    """A step up the client escalation matrix."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("service_requests.id", ondelete="CASCADE"), index=True)
    from_level: Mapped[int]
    to_level: Mapped[int]
    trigger: Mapped[EscalationTrigger] = mapped_column(str_enum(EscalationTrigger))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[ServiceRequest] = relationship(back_populates="escalations")
    created_by: Mapped[User | None] = relationship()


class Feedback(AccountOwned, Base):
    __tablename__ = "feedback"
    __table_args__ = (
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        sa.UniqueConstraint("request_id"),  # one rating per request; account feedback has none
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_requests.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    rating: Mapped[int]
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()

"""Joint, quarterly and monthly business plans with their review and sign-off."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import AccountOwned, Base, InternalNote, TimestampMixin, str_enum, utcnow

if TYPE_CHECKING:
    from portal.models.contract import Contract
    from portal.models.user import User


class PlanType(enum.StrEnum):
    JBP = "jbp"  # yearly joint business plan
    QBP = "qbp"  # quarterly
    MBP = "mbp"  # monthly


class PlanStatus(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    PENDING_SIGNOFF = "pending_signoff"
    SIGNED_OFF = "signed_off"


class ReviewDecision(enum.StrEnum):
    COMMENT = "comment"
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"


class Plan(AccountOwned, TimestampMixin, Base):
    __tablename__ = "plans"
    __table_args__ = (sa.UniqueConstraint("account_id", "plan_type", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contracts.id", ondelete="SET NULL"))
    plan_type: Mapped[PlanType] = mapped_column(str_enum(PlanType))
    period: Mapped[str] = mapped_column(sa.String(10))  # FY2027, 2027-Q1, 2027-03
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plans.id", ondelete="SET NULL"))
    status: Mapped[PlanStatus] = mapped_column(str_enum(PlanStatus), default=PlanStatus.DRAFT)
    currency: Mapped[str] = mapped_column(sa.String(3))
    # objectives, kpis, initiatives, budget, risks; every text per language
    # ({"en": ..., "zh": ...}), see ``portal.plans.content``.
    content: Mapped[dict[str, Any]]
    # When each text was written, per field and language ({"kpis.0.name": {"en": iso
    # time, "zh": ...}}), so that a translation older than its English source is stale.
    text_written_at: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[str | None] = mapped_column(sa.String(64))
    version_number: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    contract: Mapped[Contract | None] = relationship()
    parent: Mapped[Plan | None] = relationship(remote_side="Plan.id")
    created_by: Mapped[User | None] = relationship()
    versions: Mapped[list[PlanVersion]] = relationship(order_by="PlanVersion.number", cascade="all, delete-orphan")
    reviews: Mapped[list[PlanReview]] = relationship(order_by="PlanReview.id", cascade="all, delete-orphan")
    signoffs: Mapped[list[PlanSignoff]] = relationship(cascade="all, delete-orphan")

    @hybrid_property
    def client_visible(self) -> bool:
        """The client sees a plan once it is first sent for review: not the firm's draft."""
        return self.status is not PlanStatus.DRAFT

    @client_visible.inplace.expression
    @classmethod
    def _client_visible(cls) -> sa.ColumnElement[bool]:
        return cls.status != PlanStatus.DRAFT


class PlanVersion(AccountOwned, Base):
    __tablename__ = "plan_versions"
    __table_args__ = (sa.UniqueConstraint("plan_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id", ondelete="CASCADE"))
    number: Mapped[int]
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[dict[str, Any]]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PlanReview(InternalNote, AccountOwned, Base):
    """A review of a plan's version. A firm reviewer's ``internal`` remark is the firm's
    only: the client never reads it (page, API, plan document). A client's review, and
    an approval, are always shared."""

    __tablename__ = "plan_reviews"
    # One approval per reviewer and version (migration 0032): a second, however sent, is refused.
    __table_args__ = (
        sa.Index("uq_plan_reviews_one_approval", "plan_id", "version_hash", "reviewer_id", unique=True,
                 postgresql_where=sa.text("decision = 'approve'"), sqlite_where=sa.text("decision = 'approve'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    version_hash: Mapped[str | None] = mapped_column(sa.String(64))
    reviewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decision: Mapped[ReviewDecision] = mapped_column(str_enum(ReviewDecision))
    section: Mapped[str | None] = mapped_column(sa.String(40))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    language: Mapped[str] = mapped_column(sa.String(5), default="en")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    reviewer: Mapped[User | None] = relationship()


class PlanSignoff(AccountOwned, Base):
    __tablename__ = "plan_signoffs"
    __table_args__ = (sa.UniqueConstraint("plan_id", "version_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id", ondelete="CASCADE"))
    version_hash: Mapped[str] = mapped_column(sa.String(64))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    signature_name: Mapped[str] = mapped_column(sa.String(200))
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="")
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()

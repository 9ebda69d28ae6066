"""Change requests: drafted lines, frozen versions and the decisions on them."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import AccountOwned, Base, ExactDecimal, Money, TimestampMixin, str_enum, utcnow

if TYPE_CHECKING:
    from portal.models.contract import Contract, ScopeLine
    from portal.models.user import User


class CRStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING_INTERNAL_APPROVAL = "pending_internal_approval"
    PENDING_CLIENT_APPROVAL = "pending_client_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    # The client decided line by line and not all lines were approved: the firm accepts
    # the counter-proposal (a new version) or revises the draft.
    COUNTERED = "countered"
    WITHDRAWN = "withdrawn"
    IMPLEMENTED = "implemented"


class LineChange(enum.StrEnum):
    ADD = "add"
    REMOVE = "remove"
    MODIFY = "modify"


class ApprovalStage(enum.StrEnum):
    INTERNAL = "internal"
    CLIENT = "client"


class Decision(enum.StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    COUNTERED = "countered"  # decided line by line, not every line approved


class LineVerdict(enum.StrEnum):
    """A client approver's decision on one line of a version."""

    APPROVE = "approve"
    REJECT = "reject"
    COUNTER = "counter"


# A CR the client does not see yet: the firm's draft, or one awaiting its internal approval.
FIRM_ONLY_STATUSES = (CRStatus.DRAFT, CRStatus.PENDING_INTERNAL_APPROVAL)


class ChangeRequest(AccountOwned, TimestampMixin, Base):
    __tablename__ = "change_requests"
    __table_args__ = (sa.UniqueConstraint("contract_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(sa.String(20))  # CR-0042, per contract
    title: Mapped[dict[str, str]]
    description: Mapped[dict[str, str]]
    in_scope: Mapped[bool] = mapped_column(default=False)
    effective_date: Mapped[date]
    status: Mapped[CRStatus] = mapped_column(str_enum(CRStatus), default=CRStatus.DRAFT, index=True)
    # The SHA-256 of the submitted version's canonical form; what an approval binds to.
    version: Mapped[str | None] = mapped_column(sa.String(64))
    version_number: Mapped[int] = mapped_column(default=0)
    price_impact: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    currency: Mapped[str] = mapped_column(sa.String(3))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # Everyone who changed its content, a draft's too (a version names only who sent it):
    # none of them may approve it internally.
    editor_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list, server_default="[]")
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    implemented_at: Mapped[datetime | None]
    # The won opportunity this CR was drafted from (the firm's pipeline).
    opportunity_id: Mapped[int | None] = mapped_column(sa.ForeignKey("opportunities.id", ondelete="SET NULL"))

    contract: Mapped[Contract] = relationship()
    created_by: Mapped[User | None] = relationship()
    lines: Mapped[list[ChangeRequestLine]] = relationship(
        back_populates="change_request", order_by="ChangeRequestLine.position", cascade="all, delete-orphan"
    )
    versions: Mapped[list[ChangeRequestVersion]] = relationship(
        order_by="ChangeRequestVersion.number", cascade="all, delete-orphan"
    )
    approvals: Mapped[list[Approval]] = relationship(order_by="Approval.decided_at", cascade="all, delete-orphan")

    @hybrid_property
    def client_visible(self) -> bool:
        """The client sees a CR once the firm sends it for the client's approval."""
        return self.status not in FIRM_ONLY_STATUSES

    @client_visible.inplace.expression
    @classmethod
    def _client_visible(cls) -> sa.ColumnElement[bool]:
        return cls.status.not_in(FIRM_ONLY_STATUSES)


class ChangeRequestLine(AccountOwned, Base):
    __tablename__ = "change_request_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    change_request_id: Mapped[int] = mapped_column(
        sa.ForeignKey("change_requests.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    change: Mapped[LineChange] = mapped_column(str_enum(LineChange))
    # The contract line a remove or modify acts on.
    scope_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("scope_lines.id", ondelete="SET NULL"))
    description: Mapped[dict[str, str]]
    unit: Mapped[str] = mapped_column(sa.String(60))
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal())
    unit_price: Mapped[Decimal] = mapped_column(Money())
    # For modify: the line as it stood before.
    old_quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    old_unit_price: Mapped[Decimal | None] = mapped_column(Money())

    change_request: Mapped[ChangeRequest] = relationship(back_populates="lines")
    scope_line: Mapped[ScopeLine | None] = relationship()


class ChangeRequestVersion(AccountOwned, Base):
    """What was submitted, frozen: the canonical JSON and its SHA-256."""

    __tablename__ = "change_request_versions"
    __table_args__ = (
        sa.UniqueConstraint("change_request_id", "number"),
        sa.UniqueConstraint("change_request_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    change_request_id: Mapped[int] = mapped_column(sa.ForeignKey("change_requests.id", ondelete="CASCADE"))
    number: Mapped[int]
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    canonical: Mapped[str] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    voided_at: Mapped[datetime | None]


class Approval(AccountOwned, Base):
    """A decision on one version at one stage by one approver (the client's delegation of
    authority may need two approvals of one version). The unique constraint is the last
    wall against a double decision; the conditional UPDATE on the CR is the first."""

    __tablename__ = "approvals"
    __table_args__ = (sa.UniqueConstraint("change_request_id", "version_hash", "stage", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    change_request_id: Mapped[int] = mapped_column(sa.ForeignKey("change_requests.id", ondelete="CASCADE"))
    version_hash: Mapped[str] = mapped_column(sa.String(64))
    stage: Mapped[ApprovalStage] = mapped_column(str_enum(ApprovalStage))
    decision: Mapped[Decision] = mapped_column(str_enum(Decision))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    signature_name: Mapped[str] = mapped_column(sa.String(200), default="")
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(300), default="")
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A decision line by line: [{"line": 1, "decision": "approve"|"reject"|"counter",
    # "quantity": "12.0000", "unit_price": "9.5000", "reason": ...}], in the version's
    # line order (a counter gives the client's figures); empty for a whole-version decision.
    line_decisions: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")

    user: Mapped[User | None] = relationship()

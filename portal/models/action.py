"""The Master Action Registry."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.account import OwnerSide
from portal.models.base import AccountOwned, Base, TimestampMixin, str_enum, utcnow
from portal.models.user import User


class ActionSource(enum.StrEnum):
    MEETING = "meeting"
    ESCALATION = "escalation"
    KPI = "kpi"
    REVIEW = "review"
    FEEDBACK = "feedback"


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class ActionItem(AccountOwned, TimestampMixin, Base):
    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    # The title in other languages ({"zh": ..., "vi": ...}): readers of those see it
    # (``portal.i18n.localized(item, "title")``), others the title as written.
    title_translations: Mapped[dict[str, str]] = mapped_column(default=dict, server_default="{}")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    owner_side: Mapped[OwnerSide] = mapped_column(str_enum(OwnerSide), default=OwnerSide.FIRM)
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    owner_name: Mapped[str] = mapped_column(sa.String(200), default="")
    source: Mapped[ActionSource] = mapped_column(str_enum(ActionSource))
    due_date: Mapped[date]
    status: Mapped[ActionStatus] = mapped_column(str_enum(ActionStatus), default=ActionStatus.OPEN)
    closed_on: Mapped[date | None]
    # Due more than 60 days after creation only with an admin's recorded extension.
    extended_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    extension_reason: Mapped[str] = mapped_column(sa.Text, default="")
    kpi_id: Mapped[int | None] = mapped_column(sa.ForeignKey("kpis.id", ondelete="SET NULL"))
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_requests.id", ondelete="SET NULL"))
    feedback_id: Mapped[int | None] = mapped_column(sa.ForeignKey("feedback.id", ondelete="SET NULL"))
    # A follow-up agreed in a meeting, call or e-mail of the interaction log.
    interaction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("interactions.id", ondelete="SET NULL"), index=True)
    # Agreed in a governance meeting: the minutes of the occurrence it came from.
    minutes_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meeting_minutes.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    comments: Mapped[list[ActionComment]] = relationship(order_by="ActionComment.created_at", cascade="all, delete-orphan")


class ActionComment(AccountOwned, Base):
    __tablename__ = "action_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(sa.ForeignKey("action_items.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()

"""The client's people around an account, as the firm knows them: its stakeholders
(who decides, who approves, who influences) and the log of the firm's meetings, calls
and e-mails with them. The firm's working notes: clients never see these rows."""

from __future__ import annotations

import enum
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.action import ActionItem
from portal.models.base import AccountOwned, Base, FirmOnly, TimestampMixin, str_enum
from portal.models.user import User


class DecisionRole(enum.StrEnum):
    """A stakeholder's part in the client's decisions about the firm's services."""

    DECISION_MAKER = "decision_maker"
    APPROVER = "approver"
    INFLUENCER = "influencer"
    USER = "user"


class InteractionKind(enum.StrEnum):
    MEETING = "meeting"
    CALL = "call"
    EMAIL = "email"


class Stakeholder(FirmOnly, AccountOwned, TimestampMixin, Base):
    """A person on the client's side whom the firm keeps in touch with."""

    __tablename__ = "stakeholders"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    # The job title in other languages ({"zh": ..., "vi": ...}), beside the one as written.
    title_translations: Mapped[dict[str, str]] = mapped_column(default=dict, server_default="{}")
    decision_role: Mapped[DecisionRole] = mapped_column(str_enum(DecisionRole))
    language: Mapped[str] = mapped_column(sa.String(5), default="en")  # the language they prefer
    email: Mapped[str] = mapped_column(sa.String(254), default="")
    phone: Mapped[str] = mapped_column(sa.String(50), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    # The firm user who owns the relationship (the contact strategy's "who").
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])


class Interaction(FirmOnly, AccountOwned, TimestampMixin, Base):
    """A meeting, call or e-mail with the client: who took part, what was said, and the
    follow-up actions raised from it in the Master Action Registry."""

    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[InteractionKind] = mapped_column(str_enum(InteractionKind))
    occurred_on: Mapped[date]
    subject: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    attendees: Mapped[list[InteractionAttendee]] = relationship(
        order_by="InteractionAttendee.id", cascade="all, delete-orphan")
    follow_ups: Mapped[list[ActionItem]] = relationship(
        primaryjoin="ActionItem.interaction_id == Interaction.id", order_by="ActionItem.id", viewonly=True)
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class InteractionAttendee(FirmOnly, AccountOwned, Base):
    """Someone who took part: a firm user, one of the client's stakeholders, or another
    person by name. The name is kept as recorded, should the user or stakeholder go."""

    __tablename__ = "interaction_attendees"

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(sa.ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    stakeholder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stakeholders.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))

"""The account's governance matrix: its recurring meetings (monthly service review,
quarterly business review, annual account review), who attends them, and the minutes
of an occurrence. Occurrences are computed from the meeting's rule
(``portal.meetings.service.occurrences``); a row exists only once minutes are written."""

from __future__ import annotations

import enum
from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import AccountOwned, Base, TimestampMixin, str_enum
from portal.models.user import User


KEY_FORMAT = "%Y%m%dT%H%M%SZ"  # an occurrence's start in its URL and calendar UID


class MeetingKind(enum.StrEnum):
    SERVICE_REVIEW = "service_review"  # monthly service review
    BUSINESS_REVIEW = "business_review"  # quarterly business review
    ACCOUNT_REVIEW = "account_review"  # annual account review


class Cadence(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class GovernanceMeeting(AccountOwned, TimestampMixin, Base):
    """A recurring meeting. Its day in a month it falls in is either ``day_of_month``
    (1-31; a shorter month's last day) or the ``week``-th ``weekday`` (1-4, or -1 for
    the last; Monday 0), at ``start_time`` in ``timezone``. Quarterly and yearly
    meetings fall in ``first_month`` and every third or twelfth month after it."""

    __tablename__ = "governance_meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MeetingKind] = mapped_column(str_enum(MeetingKind))
    cadence: Mapped[Cadence] = mapped_column(str_enum(Cadence))
    first_month: Mapped[int] = mapped_column(default=1)
    day_of_month: Mapped[int | None]
    week: Mapped[int | None]
    weekday: Mapped[int | None]
    start_time: Mapped[time]
    timezone: Mapped[str] = mapped_column(sa.String(64))
    duration_minutes: Mapped[int] = mapped_column(default=60)
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    video_url: Mapped[str] = mapped_column(sa.String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    attendees: Mapped[list[MeetingAttendee]] = relationship(order_by="MeetingAttendee.id",
                                                            cascade="all, delete-orphan")


class MeetingAttendee(AccountOwned, Base):
    """Someone who attends: a firm or client user, one of the account's stakeholders
    (``portal.people``), or another person by name; the name is kept as recorded."""

    __tablename__ = "meeting_attendees"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("governance_meetings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    stakeholder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stakeholders.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(sa.String(200))

    meeting: Mapped[GovernanceMeeting] = relationship(back_populates="attendees")
    user: Mapped[User | None] = relationship()


class MeetingMinutes(AccountOwned, TimestampMixin, Base):
    """What an occurrence (the meeting at ``starts_at``, UTC) discussed and agreed,
    written by the firm. The client sees them once ``shared``."""

    __tablename__ = "meeting_minutes"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("governance_meetings.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    body: Mapped[str] = mapped_column(sa.Text, default="")
    shared: Mapped[bool] = mapped_column(default=False)
    written_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    meeting: Mapped[GovernanceMeeting] = relationship()

    @property
    def key(self) -> str:
        """The occurrence in a URL (``/meetings/<id>/<key>``): its start, UTC."""
        return self.starts_at.strftime(KEY_FORMAT)

    @hybrid_property
    def client_visible(self) -> bool:
        return self.shared

    @client_visible.inplace.expression
    @classmethod
    def _client_visible(cls) -> sa.ColumnElement[bool]:
        return cls.shared.is_(True)

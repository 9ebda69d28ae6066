"""The governance calendar: each account's recurring meetings of its governance matrix
(monthly service review, quarterly business review, annual account review), their
occurrences, agendas, minutes and the action items agreed in them.

* A meeting repeats monthly, quarterly or yearly, on a day of the month (the 15th; a
  shorter month's last day) or the n-th weekday (the second Tuesday, the last Friday),
  at a local time in a named time zone: its occurrences keep that local time across
  daylight saving. The account's account managers and the administrators set it up.
* Occurrences are computed from the rule, never stored; an occurrence becomes a row
  (``MeetingMinutes``) when the firm writes its minutes. Times are UTC.
* An occurrence's agenda is drawn from the account's data at the moment it is read: the
  latest month's scorecard, the open action items, the change requests awaiting a
  decision and the current plan's progress, each from its own service.
* The firm writes minutes; the client sees them once shared. Action items agreed in a
  meeting go to the Master Action Registry with the source "meeting".
* Every user may subscribe a calendar app to a secret feed (``/calendar/<token>.ics``)
  of the meetings of the accounts they see; renewing the token revokes the old one.
"""

from __future__ import annotations

import calendar as month_calendar
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from portal import audit
from portal.accounts import client_users, firm_people
from portal.actions import service as actions
from portal.change_requests.service import AWAITING_DECISION
from portal.domain import DomainError
from portal.i18n import is_valid_timezone
from portal.models.base import utcnow
from portal.models.meeting import KEY_FORMAT
from portal.models.user import hash_token
from portal.models import (
    Account,
    ActionItem,
    ActionSource,
    Cadence,
    ChangeRequest,
    GovernanceMeeting,
    KpiMeasurement,
    MeetingAttendee,
    MeetingKind,
    MeetingMinutes,
    OwnerSide,
    Plan,
    Stakeholder,
    User,
)
from portal.security import ISSUERS

MONTHS_APART = {Cadence.MONTHLY: 1, Cadence.QUARTERLY: 3, Cadence.YEARLY: 12}
MAX_MINUTES = 8 * 60
NAME_LENGTH, LOCATION_LENGTH, URL_LENGTH, MINUTES_LENGTH = 200, 200, 500, 20000
AGENDA_ITEMS = 10  # open actions and pending change requests listed on an agenda


# --- the rule and its occurrences -------------------------------------------------------


def _day_in(meeting: GovernanceMeeting, year: int, month: int) -> date:
    last = month_calendar.monthrange(year, month)[1]
    if meeting.day_of_month:
        return date(year, month, min(meeting.day_of_month, last))
    if meeting.week == -1:
        end = date(year, month, last)
        return end - timedelta(days=(end.weekday() - meeting.weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(meeting.weekday - first.weekday()) % 7 + 7 * (meeting.week - 1))


def start_of(meeting: GovernanceMeeting, on: date) -> datetime:
    """The meeting's start on the local day ``on``, in UTC."""
    local = datetime.combine(on, meeting.start_time, tzinfo=ZoneInfo(meeting.timezone))
    return local.astimezone(timezone.utc)


def occurrences(meeting: GovernanceMeeting, start: date, end: date) -> list[datetime]:
    """The meeting's starts (UTC) on the local days from ``start`` to ``end`` inclusive."""
    step = MONTHS_APART[meeting.cadence]
    starts = []
    year, month = start.year, start.month
    while date(year, month, 1) <= end:
        if (month - (meeting.first_month or 1)) % step == 0:
            day = _day_in(meeting, year, month)
            if start <= day <= end:
                starts.append(start_of(meeting, day))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return starts


@dataclass
class Occurrence:
    meeting: GovernanceMeeting
    starts_at: datetime
    minutes: MeetingMinutes | None = None

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.meeting.duration_minutes)

    @property
    def key(self) -> str:
        """The occurrence in a URL and an ICS UID: its start, UTC (20270112T090000Z)."""
        return self.starts_at.strftime(KEY_FORMAT)


def parse_key(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, KEY_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def meetings_of(session: Session, account_ids: Iterable[int] | None = None) -> list[GovernanceMeeting]:
    """The meetings of the accounts the caller sees (the scope filters), or of those given."""
    query = sa.select(GovernanceMeeting).options(selectinload(GovernanceMeeting.attendees))
    if account_ids is not None:
        query = query.where(GovernanceMeeting.account_id.in_(list(account_ids)))
    return list(session.scalars(query.order_by(GovernanceMeeting.account_id, GovernanceMeeting.id)))


def calendar(session: Session, meetings: Sequence[GovernanceMeeting], start: date, end: date) -> list[Occurrence]:
    """Every occurrence of ``meetings`` from ``start`` to ``end`` (local days), earliest
    first, each with its minutes where the caller may see them."""
    found = [Occurrence(m, at) for m in meetings for at in occurrences(m, start - timedelta(days=1), end + timedelta(days=1))]
    if not found:
        return []
    written = session.scalars(sa.select(MeetingMinutes).where(
        MeetingMinutes.meeting_id.in_([m.id for m in meetings]),
        MeetingMinutes.starts_at >= min(o.starts_at for o in found),
        MeetingMinutes.starts_at <= max(o.starts_at for o in found)))
    by_key = {(m.meeting_id, m.starts_at): m for m in written}
    for occurrence in found:
        occurrence.minutes = by_key.get((occurrence.meeting.id, occurrence.starts_at))
    inside = [o for o in found if start <= o.starts_at.astimezone(ZoneInfo(o.meeting.timezone)).date() <= end]
    return sorted(inside, key=lambda o: (o.starts_at, o.meeting.id))


def occurrence(session: Session, meeting: GovernanceMeeting, starts_at: datetime) -> Occurrence | None:
    """The occurrence of ``meeting`` starting at ``starts_at`` (UTC), if the rule has one."""
    day = starts_at.astimezone(ZoneInfo(meeting.timezone)).date()
    found = calendar(session, [meeting], day, day)
    return next((o for o in found if o.starts_at == starts_at), None)


# --- setting a meeting up --------------------------------------------------------------


@dataclass
class MeetingDetails:
    """A recurring meeting as the firm sets it up: ``day_of_month``, or ``week`` (1-4,
    -1: the last) with ``weekday`` (Monday 0)."""

    kind: MeetingKind
    cadence: Cadence
    start_time: time
    timezone: str
    first_month: int = 1
    day_of_month: int | None = None
    week: int | None = None
    weekday: int | None = None
    duration_minutes: int = 60
    location: str = ""
    video_url: str = ""
    users: Sequence[User] = ()
    stakeholders: Sequence[Stakeholder] = ()
    other_attendees: Sequence[str] = field(default_factory=tuple)


def _check(session: Session, account: Account, d: MeetingDetails) -> dict[str, str]:
    fields: dict[str, str] = {}
    if d.day_of_month is not None:
        if not 1 <= d.day_of_month <= 31:
            fields["day_of_month"] = "out of range"
    elif d.week is None or d.weekday is None:
        fields["day_of_month"] = "required"
    else:
        if d.week not in (1, 2, 3, 4, -1):
            fields["week"] = "out of range"
        if not 0 <= d.weekday <= 6:
            fields["weekday"] = "out of range"
    if not 1 <= d.first_month <= 12:
        fields["first_month"] = "out of range"
    if not is_valid_timezone(d.timezone):
        fields["timezone"] = "not a time zone"
    if not 15 <= d.duration_minutes <= MAX_MINUTES:
        fields["duration_minutes"] = "out of range"
    if len(d.location.strip()) > LOCATION_LENGTH:
        fields["location"] = f"at most {LOCATION_LENGTH} characters"
    url = d.video_url.strip()
    if len(url) > URL_LENGTH:
        fields["video_url"] = f"at most {URL_LENGTH} characters"
    elif url and not url.startswith("https://"):
        fields["video_url"] = "not an https:// link"
    allowed = {u.id for u in firm_people(session, account)} | {u.id for u in client_users(session, account)}
    if any(u.id not in allowed for u in d.users):
        fields["users"] = "not a user of this account"
    if any(s.account_id != account.id for s in d.stakeholders):
        fields["stakeholders"] = "not a stakeholder of this account"
    if any(len(name.strip()) > NAME_LENGTH for name in d.other_attendees):
        fields["other_attendees"] = f"at most {NAME_LENGTH} characters"
    return fields


def _require_issuer(by: User) -> None:
    if by.role not in ISSUERS:
        raise DomainError(_l("You do not have permission to do this."), status=403)


def _apply(session: Session, meeting: GovernanceMeeting, account: Account, d: MeetingDetails) -> None:
    fields = _check(session, account, d)
    if fields:
        raise DomainError(_l("Check the meeting's details: a day in the month, a time zone and attendees of this "
                             "account."), fields=fields)
    meeting.kind, meeting.cadence, meeting.first_month = MeetingKind(d.kind), Cadence(d.cadence), d.first_month
    meeting.day_of_month = d.day_of_month
    meeting.week, meeting.weekday = (None, None) if d.day_of_month is not None else (d.week, d.weekday)
    meeting.start_time, meeting.timezone, meeting.duration_minutes = d.start_time, d.timezone, d.duration_minutes
    meeting.location, meeting.video_url = d.location.strip(), d.video_url.strip()
    others = [name.strip() for name in d.other_attendees if name.strip()]
    meeting.attendees = (
        [MeetingAttendee(account_id=account.id, user_id=u.id, name=u.name) for u in {u.id: u for u in d.users}.values()]
        + [MeetingAttendee(account_id=account.id, stakeholder_id=s.id, name=s.name)
           for s in {s.id: s for s in d.stakeholders}.values()]
        + [MeetingAttendee(account_id=account.id, name=name) for name in dict.fromkeys(others)]
    )


def _meeting_json(meeting: GovernanceMeeting) -> dict:
    return {"kind": meeting.kind.value, "cadence": meeting.cadence.value, "first_month": meeting.first_month,
            "day_of_month": meeting.day_of_month, "week": meeting.week, "weekday": meeting.weekday,
            "start_time": meeting.start_time.isoformat(), "timezone": meeting.timezone,
            "attendees": [a.name for a in meeting.attendees]}


def set_up_meeting(session: Session, account: Account, by: User, details: MeetingDetails) -> GovernanceMeeting:
    """Add a recurring meeting to the account's governance matrix (account managers and
    administrators)."""
    _require_issuer(by)
    meeting = GovernanceMeeting(account_id=account.id, created_by_id=by.id)
    _apply(session, meeting, account, details)
    session.add(meeting)
    session.flush()
    audit.record(session, "meeting.set_up", meeting, actor=by, data=_meeting_json(meeting))
    return meeting


def edit_meeting(session: Session, meeting: GovernanceMeeting, account: Account, by: User,
                 details: MeetingDetails) -> GovernanceMeeting:
    """Change a meeting's rule, place or attendees. Minutes already written stay with
    the start they were written for."""
    _require_issuer(by)
    before = _meeting_json(meeting)
    _apply(session, meeting, account, details)
    session.flush()
    audit.record(session, "meeting.updated", meeting, actor=by, data={"before": before, "after": _meeting_json(meeting)})
    return meeting


# --- the agenda ------------------------------------------------------------------------


@dataclass
class Agenda:
    scorecard: object | None  # portal.kpis.service.Scorecard of the latest measured month
    open_actions: list[ActionItem]
    pending_change_requests: list[ChangeRequest]
    plan: Plan | None
    progress: object | None  # portal.plans.service.Progress
    as_of: datetime | None = None  # a meeting that has begun: the data as it stood at its start

    def headlines(self) -> list[str]:
        """One line per part, for a calendar entry's description (in the current language)."""
        from portal.i18n import localized, month, percent

        lines = []
        if self.scorecard is not None:
            lines.append(str(_l("Scorecard %(month)s: %(share)s of KPIs met", month=month(self.scorecard.period),
                                share=percent(self.scorecard.kpis_met_ratio))))
        lines.append(str(_l("Open action items: %(count)d", count=len(self.open_actions))))
        lines += [f"- {localized(item, 'title')}" for item in self.open_actions[:5]]
        lines.append(str(_l("Change requests awaiting a decision: %(count)d", count=len(self.pending_change_requests))))
        lines += [f"- {cr.number} {localized(cr.title)}" for cr in self.pending_change_requests[:5]]
        if self.plan is not None and self.progress is not None:
            done = self.progress.initiatives.get("done", 0)
            lines.append(str(_l("Plan %(period)s: %(done)d of %(total)d initiatives done", period=self.plan.period,
                                done=done, total=sum(self.progress.initiatives.values()))))
        return lines


def agenda(session: Session, account: Account, at: datetime | None = None) -> Agenda:
    """What the account's meeting reviews. For one still to come (``at`` None or ahead),
    the data as it stands now: the latest measured month's scorecard, the open action
    items (earliest due first), the change requests awaiting a decision and the latest
    plan's progress. For one that has begun (``at`` its start, past), as it stood then:
    the scorecard of the latest month imported before it and before its month, the items
    open then, the change requests submitted and not yet decided then (or still
    awaiting), the latest plan then with its progress on that day. Each part comes from
    its own service, seen as the caller sees it (a client: none of the firm's drafts)."""
    from portal.kpis import service as kpis
    from portal.plans import service as plans

    if at is None or at > utcnow():
        latest = kpis.last_measured_month(session, account)
        open_actions = actions.registry_query(account_id=account.id, status="open")
        pending = sa.select(ChangeRequest).where(ChangeRequest.status.in_(AWAITING_DECISION))
        plans_then = sa.select(Plan)
        day, as_of = account.today(), None
    else:
        day, as_of = account.local_date(at), at
        latest = session.scalar(sa.select(sa.func.max(KpiMeasurement.period)).where(
            KpiMeasurement.account_id == account.id, KpiMeasurement.imported_at <= at,
            KpiMeasurement.period < day.replace(day=1)))
        open_actions = actions.registry_query(account_id=account.id).where(
            ActionItem.created_at <= at, sa.or_(ActionItem.closed_on.is_(None), ActionItem.closed_on >= day))
        pending = sa.select(ChangeRequest).where(
            ChangeRequest.submitted_at <= at,
            sa.or_(ChangeRequest.status.in_(AWAITING_DECISION), ChangeRequest.decided_at > at))
        plans_then = sa.select(Plan).where(Plan.created_at <= at)
    scorecard = kpis.scorecard(session, account, latest) if latest else None
    open_actions = list(session.scalars(open_actions.limit(AGENDA_ITEMS)))
    pending = list(session.scalars(pending.where(ChangeRequest.account_id == account.id)
                                   .order_by(ChangeRequest.id).limit(AGENDA_ITEMS)))
    plan = session.scalar(plans_then.where(Plan.account_id == account.id).order_by(Plan.id.desc()).limit(1))
    progress = plans.progress(session, plan, plan.content, day) if plan is not None else None
    return Agenda(scorecard, open_actions, pending, plan, progress, as_of)


# --- reminders ---------------------------------------------------------------------------

REMIND_AHEAD = timedelta(hours=24)  # attendees hear of a meeting within a day of its start


def due_reminders(session: Session, now: datetime | None = None) -> list[Occurrence]:
    """The occurrences of the meetings the caller sees that start within ``REMIND_AHEAD``
    of ``now``: each is reminded once (the job ``meeting_reminder``, one per occurrence)."""
    now = now or utcnow()
    meetings = meetings_of(session)
    if not meetings:
        return []
    ahead = now + REMIND_AHEAD
    found = calendar(session, meetings, now.date() - timedelta(days=1), ahead.date() + timedelta(days=1))
    return [o for o in found if now < o.starts_at <= ahead]


def remind(session: Session, occurrence: Occurrence, account: Account) -> int:
    """Tell the occurrence's attendees who are users of the portal (active ones) when and
    where it is, with its agenda as each side sees it (a client's, as the scope shows it
    to the client: none of the firm's drafts), in their language and time zone, in the
    portal and by e-mail as each chose. Returns how many were told."""
    from portal.notifications import Recipient, link, notify
    from portal.security import scope_for, scoped_to

    meeting = occurrence.meeting
    users = [a.user for a in meeting.attendees if a.user is not None and a.user.active]
    told = 0
    for side in ([u for u in users if u.is_firm], [u for u in users if not u.is_firm]):
        if not side:
            continue
        with scoped_to(scope_for(side[0])):
            seen = agenda(session, account)
        notify(session, "meeting_soon", [Recipient.of_user(u) for u in side], account_id=account.id, meeting=meeting,
               account=account, starts_at=occurrence.starts_at, agenda=seen,
               url=link(f"/meetings/{meeting.id}/{occurrence.key}"))
        told += len(side)
    audit.record(session, "meeting.reminded", meeting, account_id=account.id, actor=None,
                 data={"starts_at": occurrence.key, "to": [u.email for u in users]})
    return told


# --- minutes and the actions agreed ----------------------------------------------------


def write_minutes(session: Session, occurrence: Occurrence, account: Account, by: User, *, body: str,
                  shared: bool) -> MeetingMinutes:
    """The firm writes (or corrects) an occurrence's minutes; ``shared``: the client sees them."""
    if not by.is_firm:
        raise DomainError(_l("You do not have permission to do this."), status=403)
    body = (body or "").strip()
    if len(body) > MINUTES_LENGTH:
        raise DomainError(_l("Some fields are not valid."), fields={"body": f"at most {MINUTES_LENGTH} characters"})
    minutes = occurrence.minutes
    if minutes is None:
        minutes = occurrence.minutes = MeetingMinutes(account_id=account.id, meeting_id=occurrence.meeting.id,
                                                      starts_at=occurrence.starts_at)
        session.add(minutes)
    minutes.body, minutes.shared, minutes.written_by_id = body, shared, by.id
    session.flush()
    audit.record(session, "meeting.minutes_written", minutes, actor=by,
                 data={"starts_at": occurrence.starts_at.isoformat(), "shared": shared})
    return minutes


def raise_action(session: Session, occurrence: Occurrence, account: Account, by: User, *, title: str,
                 owner_side: OwnerSide = OwnerSide.FIRM, owner: User | None = None, owner_name: str = "",
                 due_date: date | None = None) -> ActionItem:
    """An action item agreed in the meeting, raised in the Master Action Registry with
    the source "meeting" and linked to the occurrence's minutes (written empty first,
    not shared, if there are none yet)."""
    minutes = occurrence.minutes or write_minutes(session, occurrence, account, by, body="", shared=False)
    return actions.create(session, account, by, title=title, owner_side=owner_side, owner=owner, owner_name=owner_name,
                          source=ActionSource.MEETING, due_date=due_date, minutes_id=minutes.id)


def agreed_actions(session: Session, minutes: MeetingMinutes | None) -> list[ActionItem]:
    if minutes is None:
        return []
    return list(session.scalars(sa.select(ActionItem).where(ActionItem.minutes_id == minutes.id).order_by(ActionItem.id)))


# --- the calendar feed -----------------------------------------------------------------


def renew_calendar_token(session: Session, user: User) -> str:
    """A new secret for the user's feed, to be shown once: only its SHA-256 is kept (a
    database dump opens no feed). The old address stops working."""
    token = secrets.token_urlsafe(32)
    user.calendar_token_hash = hash_token(token)
    session.flush()
    audit.record(session, "calendar.token_renewed", user, actor=user)
    return token


def revoke_calendar_token(session: Session, user: User) -> None:
    user.calendar_token_hash = None
    session.flush()
    audit.record(session, "calendar.token_revoked", user, actor=user)


def feed_user(session: Session, token: str) -> User | None:
    """The active user whose feed ``token`` is, if any."""
    if not token or len(token) > 64:
        return None
    return session.scalar(sa.select(User).where(User.calendar_token_hash == hash_token(token), User.active))

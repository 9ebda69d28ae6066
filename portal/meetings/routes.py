"""The governance calendar: the accounts' meetings and their occurrences (both sides),
setting meetings up (account managers and administrators), an occurrence's agenda,
minutes and action items, and each user's calendar feed."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts import client_users, firm_people, visible_accounts
from portal.extensions import db
from portal.forms import choices
from portal.i18n import day, label, timezone_choices, timezone_name
from portal.meetings import feed, service
from portal.meetings.forms import WEEKDAYS, WEEKS, CalendarTokenForm, MeetingActionForm, MeetingForm, MinutesForm
from portal.models.base import utcnow
from portal.models import Account, Cadence, GovernanceMeeting, MeetingKind, OwnerSide, Stakeholder, User
from portal.people import service as people
from portal.security import ISSUERS, get_or_404, require_role, scope_for, scoped_to
from portal.web import Blueprint, keep_form

bp = Blueprint("meetings", __name__)

AHEAD_DAYS, BEHIND_DAYS = 92, 31  # the calendar page: a month back, three on
FEED_AHEAD_DAYS = 183


@bp.route("/meetings")
def index():
    accounts = visible_accounts(db.session)
    account_id = request.args.get("account", type=int)
    shown = [a for a in accounts if a.id == account_id] if account_id else accounts
    meetings = service.meetings_of(db.session, [a.id for a in shown])
    today = current_user_today()
    occurrences = service.calendar(db.session, meetings, today - timedelta(days=BEHIND_DAYS),
                                   today + timedelta(days=AHEAD_DAYS))
    return render_template("meetings/index.html", accounts=accounts, names={a.id: a.name for a in accounts},
                           account_id=account_id, meetings=meetings, occurrences=occurrences,
                           can_edit=current_user.role in ISSUERS, rule=rule)


def rule(meeting: GovernanceMeeting) -> str:
    """The meeting's rule in words: "Monthly · Second Tuesday · 10:00 (Europe/London)"."""
    if meeting.day_of_month:
        on = _("Day %(day)d", day=meeting.day_of_month)
    else:
        on = f"{dict(WEEKS)[meeting.week]} {WEEKDAYS[meeting.weekday]}"
    return (f"{label('cadence', meeting.cadence)} · {on} · {meeting.start_time.strftime('%H:%M')} "
            f"({timezone_name(meeting.timezone)})")


def current_user_today() -> date:
    """The signed-in user's date, in their time zone."""
    return utcnow().astimezone(ZoneInfo(current_user.timezone or "UTC")).date()


def _choices(form: MeetingForm, account: Account) -> None:
    people_ = firm_people(db.session, account) + client_users(db.session, account)
    form.users.choices = choices((u.id, u.name) for u in people_)
    form.stakeholders.choices = choices((s.id, s.name) for s in people.stakeholders(db.session, account))
    form.timezone.choices = timezone_choices(form.timezone.data or account.timezone)


def _details(form: MeetingForm) -> service.MeetingDetails:
    users = db.session.scalars(sa.select(User).where(User.id.in_(form.users.data or []))).all()
    stakeholders = db.session.scalars(sa.select(Stakeholder).where(Stakeholder.id.in_(form.stakeholders.data or []))).all()
    by_week = form.week.data != 0
    return service.MeetingDetails(
        kind=MeetingKind(form.kind.data), cadence=Cadence(form.cadence.data), first_month=form.first_month.data,
        day_of_month=None if by_week else (form.day_of_month.data or 0), week=form.week.data if by_week else None,
        weekday=form.weekday.data if by_week else None, start_time=form.start_time.data, timezone=form.timezone.data or "",
        duration_minutes=form.duration_minutes.data or 60, location=form.location.data or "",
        video_url=form.video_url.data or "", users=users, stakeholders=stakeholders,
        other_attendees=(form.other_attendees.data or "").splitlines())


@bp.route("/meetings/new", methods=["GET", "POST"])
@require_role(*ISSUERS)
def new():
    account = get_or_404(db.session, Account, request.args.get("account", type=int))
    form = MeetingForm()
    if request.method == "GET":
        form.timezone.data = account.timezone
        form.users.data = [current_user.id]
    _choices(form, account)
    page = keep_form(form, lambda: render_template("meetings/form.html", form=form, account=account, meeting=None))
    if form.validate_on_submit():
        meeting = service.set_up_meeting(db.session, account, current_user, _details(form))
        flash(_("The meeting is on the account's calendar."), "success")
        return redirect(url_for("meetings.index", account=meeting.account_id))
    return page()


@bp.route("/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@require_role(*ISSUERS)
def edit(meeting_id: int):
    meeting = get_or_404(db.session, GovernanceMeeting, meeting_id)
    account = get_or_404(db.session, Account, meeting.account_id)
    form = MeetingForm()
    if request.method == "GET":
        form.kind.data, form.cadence.data, form.first_month.data = meeting.kind.value, meeting.cadence.value, meeting.first_month
        form.week.data, form.weekday.data = meeting.week or 0, meeting.weekday if meeting.weekday is not None else 1
        form.day_of_month.data, form.start_time.data, form.timezone.data = meeting.day_of_month, meeting.start_time, meeting.timezone
        form.duration_minutes.data, form.location.data, form.video_url.data = (meeting.duration_minutes, meeting.location,
                                                                               meeting.video_url)
        form.users.data = [a.user_id for a in meeting.attendees if a.user_id]
        form.stakeholders.data = [a.stakeholder_id for a in meeting.attendees if a.stakeholder_id]
        form.other_attendees.data = "\n".join(a.name for a in meeting.attendees if not a.user_id and not a.stakeholder_id)
    _choices(form, account)
    page = keep_form(form, lambda: render_template("meetings/form.html", form=form, account=account, meeting=meeting))
    if form.validate_on_submit():
        service.edit_meeting(db.session, meeting, account, current_user, _details(form))
        flash(_("Changes saved."), "success")
        return redirect(url_for("meetings.index", account=meeting.account_id))
    return page()


def _occurrence(meeting_id: int, key: str) -> tuple[service.Occurrence, Account]:
    meeting = get_or_404(db.session, GovernanceMeeting, meeting_id)
    starts_at = service.parse_key(key)
    found = service.occurrence(db.session, meeting, starts_at) if starts_at else None
    if found is None:
        abort(404)
    return found, get_or_404(db.session, Account, meeting.account_id)


@bp.route("/meetings/<int:meeting_id>/<key>")
def occurrence(meeting_id: int, key: str):
    found, account = _occurrence(meeting_id, key)
    return _occurrence_page(found, account, MinutesForm(), MeetingActionForm())


def _occurrence_page(found: service.Occurrence, account: Account, minutes_form: MinutesForm,
                     action_form: MeetingActionForm):
    if found.minutes is not None and not minutes_form.is_submitted():
        minutes_form.body.data, minutes_form.shared.data = found.minutes.body, found.minutes.shared
    action_form.owner.choices = choices([(0, "—")] + [(u.id, u.name) for u in firm_people(db.session, account)])
    return render_template("meetings/occurrence.html", occurrence=found, account=account,
                           agenda=service.agenda(db.session, account, found.starts_at), minutes_form=minutes_form,
                           action_form=action_form, actions=service.agreed_actions(db.session, found.minutes),
                           can_write=current_user.is_firm, can_raise=current_user.role in ISSUERS)


@bp.route("/meetings/<int:meeting_id>/<key>/minutes", methods=["POST"], back="meetings.occurrence")
def minutes(meeting_id: int, key: str):
    found, account = _occurrence(meeting_id, key)
    if not current_user.is_firm:
        abort(403)
    form = MinutesForm()
    page = keep_form(form, lambda: _occurrence_page(found, account, form, MeetingActionForm()))
    if form.validate_on_submit():
        service.write_minutes(db.session, found, account, current_user, body=form.body.data or "",
                              shared=bool(form.shared.data))
        flash(_("Minutes saved."), "success")
        return redirect(url_for("meetings.occurrence", meeting_id=meeting_id, key=key))
    return page()


@bp.route("/meetings/<int:meeting_id>/<key>/actions", methods=["POST"], back="meetings.occurrence")
@require_role(*ISSUERS)
def raise_action(meeting_id: int, key: str):
    found, account = _occurrence(meeting_id, key)
    form = MeetingActionForm()
    form.owner.choices = choices([(0, "—")] + [(u.id, u.name) for u in firm_people(db.session, account)])
    page = keep_form(form, lambda: _occurrence_page(found, account, MinutesForm(), form))
    if form.validate_on_submit():
        owner = db.session.scalar(sa.select(User).where(User.id == form.owner.data)) if form.owner.data else None
        item = service.raise_action(db.session, found, account, current_user, title=form.title.data,
                                    owner_side=OwnerSide(form.owner_side.data), owner=owner,
                                    owner_name=form.owner_name.data or "", due_date=form.due_date.data)
        flash(_("Action item raised, due %(date)s.", date=day(item.due_date)), "success")
        return redirect(url_for("meetings.occurrence", meeting_id=meeting_id, key=key, _anchor="actions"))
    return page()


@bp.route("/calendar/token", methods=["POST"], back="auth.settings")
def calendar_token():
    """Renew (a new secret address) or turn off the signed-in user's calendar feed."""
    form = CalendarTokenForm()
    if form.validate_on_submit():
        user = db.session.scalar(sa.select(User).where(User.id == current_user.id))
        if form.revoke.data:
            service.revoke_calendar_token(db.session, user)
            flash(_("Your calendar feed is turned off."), "success")
        else:
            token = service.renew_calendar_token(db.session, user)
            flash(_("Your calendar feed has a new address; the old one no longer works."), "success")
            return render_template("meetings/feed_address.html",
                                   address=url_for("meetings.calendar_feed", token=token, _external=True))
    return redirect(url_for("auth.settings", _anchor="feed"))


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str):
    """No session: the secret in the address is the user's. Unknown or revoked: 404."""
    user = service.feed_user(db.session, token)
    if user is None:
        abort(404)
    with scoped_to(scope_for(user)):
        accounts = {a.id: a for a in db.session.scalars(sa.select(Account))}
        meetings = service.meetings_of(db.session)
        today = utcnow().date()
        occurrences = service.calendar(db.session, meetings, today - timedelta(days=BEHIND_DAYS),
                                       today + timedelta(days=FEED_AHEAD_DAYS))
        agendas = {account_id: service.agenda(db.session, accounts[account_id])
                   for account_id in {m.account_id for m in meetings}}
        portal_url = current_app.config["PORTAL_URL"]
        body = feed.ics(user, occurrences, accounts, agendas, portal_url, urlsplit(portal_url).hostname or "portal")
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, no-store"})

"""The governance calendar: occurrences of each cadence on hand-computed dates (across a
change of daylight saving), agendas drawn from the account's own data, minutes → action
items in the registry, the calendar feed, and the API."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

import icalendar
import pytest
import sqlalchemy as sa

from portal.meetings import service
from portal.models import ActionItem, ActionSource, ActionStatus, Cadence, GovernanceMeeting, MeetingKind, Role, User
from portal.security import scope_for, scoped_to
from tests.conftest import ROOT, api_token, bearer

UTC = timezone.utc


def _at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("rule", "start", "end", "expected"), [
    # The second Tuesday at 10:00 in London: GMT until 28 March 2027, BST (UTC+1) after.
    (dict(cadence=Cadence.MONTHLY, week=2, weekday=1, start_time=time(10), timezone="Europe/London"),
     date(2027, 1, 1), date(2027, 4, 30),
     [_at(2027, 1, 12, 10), _at(2027, 2, 9, 10), _at(2027, 3, 9, 10), _at(2027, 4, 13, 9)]),
    # The 31st (a shorter month's last day) of each quarter from January, 14:00 in Shanghai (UTC+8).
    (dict(cadence=Cadence.QUARTERLY, first_month=1, day_of_month=31, start_time=time(14), timezone="Asia/Shanghai"),
     date(2027, 1, 1), date(2027, 12, 31),
     [_at(2027, 1, 31, 6), _at(2027, 4, 30, 6), _at(2027, 7, 31, 6), _at(2027, 10, 31, 6)]),
    # The last Friday of November, 16:30 in London (GMT).
    (dict(cadence=Cadence.YEARLY, first_month=11, week=-1, weekday=4, start_time=time(16, 30), timezone="Europe/London"),
     date(2026, 1, 1), date(2027, 12, 31),
     [_at(2026, 11, 27, 16, 30), _at(2027, 11, 26, 16, 30)]),
])
def test_occurrences_fall_on_the_rules_days_in_utc(rule, start, end, expected):
    meeting = GovernanceMeeting(kind=MeetingKind.SERVICE_REVIEW, **rule)
    assert service.occurrences(meeting, start, end) == expected


def test_the_agenda_lists_the_accounts_open_actions_and_pending_change_requests_only(session, worlds):
    alpha, bravo = worlds
    with scoped_to(scope_for(alpha.user(Role.ACCOUNT_MANAGER))):
        agenda = service.agenda(session, session.merge(alpha.account))
        lines = "\n".join(agenda.headlines())
    assert [a.title for a in agenda.open_actions] == ["Action of Alpha"]
    assert [cr.id for cr in agenda.pending_change_requests] == [alpha["change_request"].id]
    assert "Action of Alpha" in lines and "Bravo" not in lines


def test_a_past_meetings_agenda_shows_the_data_as_it_stood_when_it_began(session, worlds):
    """What the meeting reviewed, not what is open today: the action items open then (one
    closed since; not one raised since), a change request decided since, and the scorecard
    of the last month imported before the meeting."""
    from portal.models import CRStatus, KpiMeasurement
    from portal.models.base import utcnow

    alpha, _bravo = worlds
    began = utcnow() - timedelta(days=40)
    today = alpha.account.today()
    discussed = ActionItem(account_id=alpha.account.id, title="Closed since", source=ActionSource.MEETING,
                           due_date=today, created_at=began - timedelta(days=3))
    discussed.status, discussed.closed_on = ActionStatus.DONE, today
    session.add(discussed)
    cr = alpha["change_request"]
    cr.submitted_at, cr.status, cr.decided_at = began - timedelta(days=1), CRStatus.APPROVED, began + timedelta(days=2)
    then = alpha.account.local_date(began).replace(day=1)
    reviewed = (then - timedelta(days=1)).replace(day=1)  # the month before the meeting's
    session.add(KpiMeasurement(account_id=alpha.account.id, kpi_id=alpha["kpi"].id, period=reviewed,
                               actual=Decimal("97"), imported_at=began - timedelta(days=2)))
    session.commit()
    with scoped_to(scope_for(alpha.user(Role.ACCOUNT_MANAGER))):
        account = session.merge(alpha.account)
        past = service.agenda(session, account, began)
        now = service.agenda(session, account, utcnow() + timedelta(days=1))
    assert [a.title for a in past.open_actions] == ["Closed since"]  # "Action of Alpha" came after
    assert [cr_.id for cr_ in past.pending_change_requests] == [cr.id] and past.as_of == began
    assert past.scorecard.period == reviewed  # this month's actual was imported after it
    assert [a.title for a in now.open_actions] == ["Action of Alpha"] and now.pending_change_requests == []
    assert now.scorecard.period == today.replace(day=1) and now.as_of is None


def test_the_occurrence_page_says_when_its_agenda_is_the_data_of_then(session, worlds, browser):
    from portal.models.meeting import KEY_FORMAT

    alpha, _ = worlds
    browser.login(alpha.user(Role.ACCOUNT_MANAGER).email)
    last_month = (date.today().replace(day=1) - timedelta(days=1)).replace(day=10)
    began = datetime.combine(last_month, time(9, 0), tzinfo=UTC)
    page = browser.get(f"/meetings/{alpha['meeting'].id}/{began.strftime(KEY_FORMAT)}").text
    assert "As the data stood when the meeting began" in page
    ahead = datetime.combine(date.today() + timedelta(days=40), time(9, 0), tzinfo=UTC).replace(day=10)
    page = browser.get(f"/meetings/{alpha['meeting'].id}/{ahead.strftime(KEY_FORMAT)}").text
    assert "Open action items" in page and "As the data stood" not in page


@pytest.mark.parametrize(("language", "locale", "zone", "written"), [
    ("en", "en-GB", "Europe/London", "{d} {month_en} {y}, {start}–{end}"),
    ("zh", None, "Asia/Shanghai", "{y}年{m}月{d}日 {start}–{end}"),
    ("vi", None, "Asia/Ho_Chi_Minh", "{start}–{end} {d} tháng {m}, {y}"),
])
def test_a_meeting_on_one_day_is_written_with_its_date_once(session, worlds, browser, language, locale, zone, written):
    from zoneinfo import ZoneInfo

    alpha, _ = worlds
    user = alpha.user(Role.CLIENT_APPROVER)
    user.language, user.locale, user.timezone = language, locale, zone
    session.commit()
    browser.login(user.email)
    began = alpha["minutes"].starts_at.astimezone(ZoneInfo(zone))  # the 10th, 09:00 UTC, for an hour
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", browser.get(_occurrence_url(alpha)).text))
    expected = written.format(d=began.day, m=began.month, y=began.year, month_en=f"{began:%B}",
                              start=f"{began:%H:%M}", end=f"{began + timedelta(hours=1):%H:%M}")
    assert expected in page


def _occurrence_url(world) -> str:
    return f"/meetings/{world['meeting'].id}/{world['minutes'].key}"


def test_an_action_agreed_in_a_meeting_goes_to_the_registry(session, worlds, browser):
    alpha, _ = worlds
    am = alpha.user(Role.ACCOUNT_MANAGER)
    browser.login(am.email)
    due = date.today() + timedelta(days=20)
    response = browser.post_form(_occurrence_url(alpha) + "/actions", {
        "title": "Send the revised volumes", "owner_side": "firm", "owner": str(am.id), "due_date": due.isoformat()})
    assert response.status_code == 302
    session.rollback()  # end the test's read of the database from before the request
    item = session.scalar(sa.select(ActionItem).where(ActionItem.title == "Send the revised volumes"))
    assert (item.source, item.owner_id, item.due_date, item.account_id) == (ActionSource.MEETING, am.id, due, alpha.account.id)
    assert item.minutes_id == alpha["minutes"].id
    assert "Send the revised volumes" in browser.get(_occurrence_url(alpha)).text


def test_the_client_reads_minutes_only_once_shared(session, worlds, browser):
    alpha, _ = worlds
    browser.login(alpha.user(Role.CLIENT_VIEWER).email)
    assert "Minutes of Alpha" in browser.get(_occurrence_url(alpha)).text
    session.rollback()
    alpha["minutes"].shared = False
    session.commit()
    page = browser.get(_occurrence_url(alpha))
    assert page.status_code == 200 and "Minutes of Alpha" not in page.text


@pytest.mark.parametrize(("language", "first", "last"), [("en", "January", "December"), ("zh", "一月", "十二月"),
                                                        ("vi", "Tháng 1", "Tháng 12")])
def test_the_meeting_form_names_the_months_of_the_cycle(session, worlds, browser, language, first, last):
    alpha, _ = worlds
    alpha.user(Role.ACCOUNT_MANAGER).language = language
    session.commit()
    browser.login(alpha.user(Role.ACCOUNT_MANAGER).email)
    page = browser.get(f"/meetings/new?account={alpha.account.id}").text
    select = re.search(r'<select[^>]*name="first_month".*?</select>', page, re.S).group(0)
    options = re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]*)</option>', select)
    assert options[0] == ("1", first) and options[-1] == ("12", last) and len(options) == 12


def test_the_firm_sets_up_a_meeting_on_the_nth_weekday(session, worlds, browser):
    alpha, _ = worlds
    browser.login(alpha.user(Role.ACCOUNT_MANAGER).email)
    response = browser.post_form(f"/meetings/new?account={alpha.account.id}", {
        "kind": "business_review", "cadence": "quarterly", "first_month": "2", "week": "2", "weekday": "1",
        "start_time": "10:00", "timezone": "Europe/London", "duration_minutes": "90",
        "users": [str(alpha.user(Role.CLIENT_APPROVER).id)]})
    assert response.status_code == 302
    session.rollback()
    meeting = session.scalar(sa.select(GovernanceMeeting).where(GovernanceMeeting.kind == MeetingKind.BUSINESS_REVIEW))
    assert (meeting.week, meeting.weekday, meeting.day_of_month, meeting.first_month) == (2, 1, None, 2)
    assert [a.user_id for a in meeting.attendees] == [alpha.user(Role.CLIENT_APPROVER).id]


FEED_ADDRESS = re.compile(r"https?://[^<\s]+/calendar/([A-Za-z0-9_-]+)\.ics")


def _feed_token(session, browser, user: User) -> str:
    """The secret of a new feed address, read off the page that shows it once."""
    browser.login(user.email)
    answer = browser.post_form("/calendar/token", {"renew": "y"})
    assert answer.status_code == 200
    return FEED_ADDRESS.search(answer.get_data(as_text=True)).group(1)


def test_the_feed_address_is_shown_once_and_only_its_hash_is_kept(app, session, worlds, browser):
    alpha, _ = worlds
    user = alpha.user(Role.CLIENT_APPROVER)
    token = _feed_token(session, browser, user)
    session.rollback()
    stored = session.execute(sa.text("SELECT calendar_token_hash FROM users WHERE id = :id"), {"id": user.id}).scalar()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    settings = browser.get("/account").get_data(as_text=True)
    assert token not in settings and "Your calendar feed is on." in settings
    assert app.test_client().get(f"/calendar/{token}.ics").status_code == 200
    assert app.test_client().get(f"/calendar/{stored}.ics").status_code == 404  # the hash opens nothing


def test_feeds_that_were_on_keep_their_address_through_the_migration(unmigrated_url):
    from flask_migrate import upgrade

    from portal.models import Account
    from tests.conftest import app_session, base_config
    from tests.helpers import insert_as_of

    migrations = str(ROOT / "migrations")
    with app_session(base_config(unmigrated_url)) as session:
        upgrade(directory=migrations, revision="0028")
        account_id = insert_as_of(session, Account, name="Legacy", country="GB", timezone="UTC", tier="key",
                                  document_languages=["en"], cr_approval_threshold=Decimal(50000))
        user_id = insert_as_of(session, User, email="approver@legacy.example", name="Approver", role="client_approver",
                               password_hash="x", account_id=account_id)
        session.execute(sa.text("UPDATE users SET calendar_token = 'old-secret-address' WHERE id = :id"), {"id": user_id})
        session.commit()
        upgrade(directory=migrations, revision="0029")
        session.expire_all()
        assert service.feed_user(session, "old-secret-address").id == user_id
        assert service.feed_user(session, "another-address") is None


def test_the_calendar_feed_parses_and_holds_only_the_users_accounts(app, session, worlds, browser):
    alpha, bravo = worlds
    token = _feed_token(session, browser, bravo.user(Role.CLIENT_APPROVER))
    visitor = app.test_client()  # a calendar app: no session
    first, again = visitor.get(f"/calendar/{token}.ics"), visitor.get(f"/calendar/{token}.ics")
    assert first.status_code == 200 and first.mimetype == "text/calendar"
    events = icalendar.Calendar.from_ical(first.data).walk("VEVENT")
    assert events
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == len(uids)
    assert uids == [str(e["UID"]) for e in icalendar.Calendar.from_ical(again.data).walk("VEVENT")]
    assert all(e.decoded("DTSTART").utcoffset() == timedelta(0) for e in events)
    assert all("Bravo" in str(e["SUMMARY"]) for e in events)
    assert f"/meetings/{bravo['meeting'].id}/" in str(events[0]["DESCRIPTION"])
    text = first.data.decode()
    assert "Alpha" not in text


def test_the_feed_describes_a_past_meeting_by_its_minutes_and_one_to_come_by_its_agenda(app, session, worlds,
                                                                                          browser):
    """A past event shows what the meeting recorded (shared minutes only, for a client), not
    today's agenda; one to come shows the agenda as the data stands."""
    from portal.models import MeetingMinutes

    alpha, _ = worlds
    meeting = alpha["meeting"]  # on the 10th, 09:00 UTC
    began = max(service.occurrences(meeting, date.today() - timedelta(days=31), date.today()))
    if began > datetime.now(UTC):  # today is the 10th, before 09:00
        began = max(service.occurrences(meeting, date.today() - timedelta(days=31), date.today() - timedelta(days=1)))
    minutes = session.scalar(sa.select(MeetingMinutes).where(MeetingMinutes.meeting_id == meeting.id,
                                                             MeetingMinutes.starts_at == began))
    if minutes is None:  # the factory's are this month's
        minutes = MeetingMinutes(account_id=alpha.account.id, meeting_id=meeting.id, starts_at=began)
        session.add(minutes)
    minutes.shared, minutes.body = False, "Internal: pricing"
    session.commit()
    token = _feed_token(session, browser, alpha.user(Role.ACCOUNT_MANAGER))
    events = {e.decoded("DTSTART"): str(e["DESCRIPTION"])
              for e in icalendar.Calendar.from_ical(app.test_client().get(f"/calendar/{token}.ics").data).walk("VEVENT")}
    assert events[began].startswith("Internal: pricing") and "Open action items" not in events[began]
    ahead = min(at for at in events if at > datetime.now(UTC))
    assert "Open action items" in events[ahead]

    browser.logout()
    token = _feed_token(session, browser, alpha.user(Role.CLIENT_APPROVER))
    events = {e.decoded("DTSTART"): str(e["DESCRIPTION"])
              for e in icalendar.Calendar.from_ical(app.test_client().get(f"/calendar/{token}.ics").data).walk("VEVENT")}
    assert "Internal" not in events[began] and "Open action items" not in events[began]  # not shared


def test_a_wrong_or_revoked_feed_token_is_not_found(app, session, worlds, browser):
    alpha, _ = worlds
    token = _feed_token(session, browser, alpha.user(Role.ACCOUNT_MANAGER))
    visitor = app.test_client()
    assert visitor.get(f"/calendar/{token}x.ics").status_code == 404
    assert browser.post_form("/calendar/token", {"revoke": "y"}).status_code == 302
    assert visitor.get(f"/calendar/{token}.ics").status_code == 404


def test_the_feed_is_in_the_users_language(app, session, worlds, browser):
    alpha, _ = worlds
    user = alpha.user(Role.CLIENT_VIEWER)
    user.language = "zh"
    session.commit()
    token = _feed_token(session, browser, user)
    events = icalendar.Calendar.from_ical(app.test_client().get(f"/calendar/{token}.ics").data).walk("VEVENT")
    assert all(str(e["SUMMARY"]).startswith("月度服务回顾") for e in events)


def test_the_api_lists_occurrences_in_scope(client, worlds):
    alpha, bravo = worlds
    headers = bearer(api_token(client, alpha.user(Role.CLIENT_VIEWER).email))
    today = date.today()
    query = f"from={today.replace(day=1)}&to={today.replace(day=28)}"
    items = client.get(f"/api/v1/meetings?{query}", headers=headers).json["items"]
    assert [(i["account_id"], i["minutes"]) for i in items] == [(alpha.account.id, "Minutes of Alpha")]
    assert client.get(f"/api/v1/meetings?account_id={bravo.account.id}&{query}", headers=headers).json["items"] == []
    assert "/meetings" in client.get("/api/v1/openapi.json").json["paths"]


# --- reminders --------------------------------------------------------------------------


def test_attendees_hear_of_a_meeting_within_a_day_of_it_once_each_in_their_language(session, worlds):
    """The hourly job asks for one reminder per occurrence (twice asked, told once): the
    attendees who use the portal are told in the portal and by e-mail, in their own
    language and time zone, with the agenda; a meeting further off is not reminded yet."""
    from flask import current_app

    from portal.database import writing
    from portal.jobs import enqueue
    from portal.models import InAppNotification, Job, MeetingAttendee, Notification
    from portal.models.base import utcnow
    from tests.helpers import finish_jobs, latest

    alpha, _ = worlds
    client, manager = alpha.user(Role.CLIENT_APPROVER), alpha.user(Role.ACCOUNT_MANAGER)
    client.language, client.timezone = "zh", "Asia/Shanghai"
    soon = (utcnow() + timedelta(hours=12)).replace(minute=0, second=0, microsecond=0)
    meeting = GovernanceMeeting(account_id=alpha.account.id, kind=MeetingKind.BUSINESS_REVIEW, cadence=Cadence.MONTHLY,
                                day_of_month=soon.day, start_time=time(soon.hour), timezone="UTC", location="Shenzhen")
    meeting.attendees = [MeetingAttendee(account_id=alpha.account.id, user_id=u.id, name=u.name) for u in (client, manager)]
    session.add(meeting)
    session.commit()
    if soon.day > 28:  # the rule's day may fall in the next month too: check only the one at hand
        assert service.occurrences(meeting, soon.date(), soon.date()) == [soon]

    app = current_app._get_current_object()
    with writing():
        enqueue(session, "meeting_reminders")
        enqueue(session, "meeting_reminders")  # two scheduler rounds within the day
        session.commit()
    for _ in range(2):  # the hourly job asks for the reminder, which runs after it
        finish_jobs(app)

    session = latest(session)
    reminders = session.scalars(sa.select(Job).where(Job.kind == "meeting_reminder")).all()
    assert [(j.key, j.status.value) for j in reminders] == [(f"{meeting.id}:{soon:%Y%m%dT%H%M%SZ}", "finished")]
    told = {n.recipient_id: n.title for n in session.scalars(sa.select(InAppNotification).where(
        InAppNotification.kind == "meeting_soon"))}
    local = soon.astimezone(timezone(timedelta(hours=8)))
    assert set(told) == {client.id, manager.id}
    assert told[client.id].startswith("季度业务回顾（Account Alpha）：") and f"{local.hour:02d}:00 中国" in told[client.id]
    assert "(" not in told[client.id]  # no half-width brackets in Chinese
    assert told[manager.id].startswith("Quarterly business review of Account Alpha")
    [mail] = session.scalars(sa.select(Notification).where(Notification.kind == "meeting_soon",
                                                           Notification.to_email == client.email)).all()
    assert "Shenzhen" in mail.body and "未完成的行动项" in mail.body and f"/meetings/{meeting.id}/" in mail.body


def test_a_meeting_more_than_a_day_ahead_or_begun_is_not_reminded(session, worlds):
    alpha, _ = worlds
    starts = alpha["minutes"].starts_at  # the monthly review on the 10th, 09:00 UTC
    with scoped_to(scope_for(alpha.user(Role.ACCOUNT_MANAGER))):
        assert [o.starts_at for o in service.due_reminders(session, starts - timedelta(hours=23))] == [starts]
        assert service.due_reminders(session, starts - timedelta(hours=25)) == []
        assert service.due_reminders(session, starts) == []

"""The governance calendar (``/meetings``): the occurrences of the accounts' recurring
meetings in a range of days, as the caller sees them (a client: its own account's, and
minutes only once shared)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import request
from flask_babel import gettext as _
from pydantic import BaseModel

from portal.api import bp
from portal.api.common import ApiError, route
from portal.extensions import db
from portal.meetings import service
from portal.models.base import utcnow

MAX_DAYS = 400


class AttendeeOut(BaseModel):
    name: str
    user_id: int | None


class OccurrenceOut(BaseModel):
    meeting_id: int
    account_id: int
    kind: str
    cadence: str
    starts_at: str
    ends_at: str
    timezone: str
    location: str
    video_url: str
    attendees: list[AttendeeOut]
    minutes: str | None
    minutes_shared: bool


class OccurrenceList(BaseModel):
    items: list[OccurrenceOut]


def _day(name: str, default: date) -> date:
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(422, _("Some fields are not valid."), fields={name: "not a date (YYYY-MM-DD)"}) from None


def _occurrence_json(o: service.Occurrence) -> dict:
    m = o.meeting
    return {"meeting_id": m.id, "account_id": m.account_id, "kind": m.kind.value, "cadence": m.cadence.value,
            "starts_at": o.starts_at.isoformat(), "ends_at": o.ends_at.isoformat(), "timezone": m.timezone,
            "location": m.location, "video_url": m.video_url,
            "attendees": [{"name": a.name, "user_id": a.user_id} for a in m.attendees],
            "minutes": o.minutes.body if o.minutes else None, "minutes_shared": bool(o.minutes and o.minutes.shared)}


@route(bp, "/meetings", "GET", "The governance calendar: each occurrence of the accounts' meetings from `from` to `to` "
       "(local days; default: today to 90 days on), earliest first", response=OccurrenceList, tag="meetings",
       query={"account_id": "one account's meetings", "from": "YYYY-MM-DD", "to": "YYYY-MM-DD (at most 400 days on)"})
def list_meetings():
    today = utcnow().date()
    start, end = _day("from", today), _day("to", today + timedelta(days=90))
    if end < start or (end - start).days > MAX_DAYS:
        raise ApiError(422, _("Some fields are not valid."), fields={"to": "out of range"})
    account_id = request.args.get("account_id", type=int)
    meetings = service.meetings_of(db.session, [account_id] if account_id else None)
    return {"items": [_occurrence_json(o) for o in service.calendar(db.session, meetings, start, end)]}

"""The calendar feed (RFC 5545) of a user: every occurrence of the meetings of the
accounts they see, from a month back to six months on, in their language."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from flask_babel import force_locale
from icalendar import Calendar, Event

from portal.i18n import label, locale_of
from portal.meetings.service import Agenda, Occurrence
from portal.models import Account, User


def ics(user: User, occurrences: Sequence[Occurrence], accounts: dict[int, Account], agendas: dict[int, Agenda],
        portal_url: str, domain: str) -> bytes:
    """The calendar: one event per occurrence, its UID stable (the meeting and its start),
    its times UTC, its summary in the user's language, and its description the page of
    the occurrence in the portal after, for one still to come, the agenda's headlines as
    the data stands, for one that has begun, its minutes where the user may read them."""
    cal = Calendar()
    cal.add("prodid", "-//Client portal//Governance calendar//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Governance")
    stamp = datetime.now(timezone.utc).replace(microsecond=0)
    with force_locale(locale_of(user.language, user.locale)):
        headlines = {account_id: "\n".join(agenda.headlines()) for account_id, agenda in agendas.items()}
        for o in occurrences:
            meeting, account = o.meeting, accounts[o.meeting.account_id]
            url = f"{portal_url}/meetings/{meeting.id}/{o.key}"
            event = Event()
            event.add("uid", f"meeting-{meeting.id}-{o.key}@{domain}")
            event.add("dtstamp", stamp)
            event.add("dtstart", o.starts_at)
            event.add("dtend", o.ends_at)
            event.add("summary", f"{label('meeting_kind', meeting.kind)} · {account.name}")
            about = headlines.get(account.id, "") if o.starts_at > stamp else (o.minutes.body if o.minutes else "")
            event.add("description", f"{about}\n\n{url}".strip())
            event.add("url", url)
            place = meeting.location or meeting.video_url
            if place:
                event.add("location", place)
            cal.add_component(event)
    return cal.to_ical()

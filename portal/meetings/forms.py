from __future__ import annotations

from flask_babel import LazyString, lazy_gettext as _l
from wtforms import BooleanField, IntegerField, SelectField, SelectMultipleField, StringField, SubmitField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.actions.forms import ActionFields
from portal.forms import OnceForm, PortalForm, choices, record_id
from portal.i18n import LABELS, month_name
from portal.models import Cadence, MeetingKind

WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"), _l("Sunday"))
WEEKS = ((0, _l("A day of the month")), (1, _l("First")), (2, _l("Second")), (3, _l("Third")), (4, _l("Fourth")),
         (-1, _l("Last")))


class MeetingForm(OnceForm):
    """A recurring meeting: the day rule is either a day of the month or the n-th weekday."""

    kind = SelectField(_l("Meeting"), choices=choices((k.value, LABELS["meeting_kind"][k.value]) for k in MeetingKind))
    cadence = SelectField(_l("Cadence"), choices=choices((c.value, LABELS["cadence"][c.value]) for c in Cadence))
    first_month = SelectField(_l("First month of the cycle"), coerce=record_id, default=1,
                              choices=choices((m, LazyString(month_name, m)) for m in range(1, 13)))
    week = SelectField(_l("Week"), coerce=record_id, default=0, choices=choices(WEEKS))
    weekday = SelectField(_l("Weekday"), coerce=record_id, default=1, choices=choices(enumerate(WEEKDAYS)))
    day_of_month = IntegerField(_l("Day of the month"), validators=[Optional(), NumberRange(min=1, max=31)])
    start_time = TimeField(_l("Time"), validators=[DataRequired()])
    timezone = SelectField(_l("Time zone"), validate_choice=False)
    duration_minutes = IntegerField(_l("Duration (minutes)"), default=60, validators=[DataRequired(), NumberRange(min=15, max=480)])
    location = StringField(_l("Location"), validators=[Length(max=200)])
    video_url = StringField(_l("Video link"), validators=[Length(max=500)])
    users = SelectMultipleField(_l("Users"), coerce=record_id, validate_choice=False)
    stakeholders = SelectMultipleField(_l("Stakeholders"), coerce=record_id, validate_choice=False)
    other_attendees = TextAreaField(_l("Others (one name a line)"), validators=[Length(max=2000)])
    submit = SubmitField(_l("Save"))


class MinutesForm(OnceForm):
    body = TextAreaField(_l("Minutes"), validators=[Length(max=20_000)])
    shared = BooleanField(_l("Share with the client"))
    submit = SubmitField(_l("Save minutes"))


class MeetingActionForm(OnceForm, ActionFields):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Raise action item"))


class CalendarTokenForm(PortalForm):
    renew = SubmitField(_l("New feed address"))
    revoke = SubmitField(_l("Turn the feed off"))

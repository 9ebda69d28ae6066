from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.files import upload_field
from portal.forms import NumberField, OnceForm, PortalForm, record_id


class DisputeForm(OnceForm):
    reason = TextAreaField(_l("What is wrong with this invoice?"), validators=[DataRequired(), Length(max=5000)])
    lines = SelectMultipleField(_l("Disputed lines (optional)"), coerce=record_id, validate_choice=False)
    attachments = upload_field(_l("Attachments"))
    submit = SubmitField(_l("Dispute invoice"))


class SettleForm(OnceForm):
    explanation = TextAreaField(_l("Explanation to the client"), validators=[DataRequired(), Length(max=5000)])
    credit_number = StringField(_l("Credit note number (to credit)"), validators=[Optional(), Length(max=40)])
    credit_amount = NumberField(_l("Credit amount, tax included"), validators=[Optional(), NumberRange(min=0)])
    submit = SubmitField(_l("Settle the dispute"))


class ReleaseForm(PortalForm):
    reason = TextAreaField(_l("Why the invoice stands at these prices"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Release to the client"))


class ForecastForm(PortalForm):
    submit = SubmitField(_l("Save forecast"))

"""Finance's forms on a service credit: approve (at another amount, with a reason), waive."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.forms import NumberField, OnceForm


class ApproveCreditForm(OnceForm):
    amount = NumberField(_l("Amount to credit"), validators=[Optional(), NumberRange(min=0)])
    reason = TextAreaField(_l("Reason for a different amount"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Approve and issue the credit note"))


class WaiveCreditForm(OnceForm):
    reason = TextAreaField(_l("Why no credit is due"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Waive the credit"))


class ProposeCreditsForm(OnceForm):
    period = StringField(_l("Month (YYYY-MM)"), validators=[DataRequired(), Length(max=7)])
    submit = SubmitField(_l("Compute the month's service credits"))

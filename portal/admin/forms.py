from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from portal.audit import AuditLogFilter
from portal.forms import OnceForm, choices
from portal.i18n import COMMON_TIMEZONES, LABELS, LANGUAGE_NAMES
from portal.models import Role


class UserForm(OnceForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=choices((r.value, LABELS["role"][r.value]) for r in Role))
    account = SelectField(_l("Account (client users)"), coerce=int)
    language = SelectField(_l("Language"), choices=choices(LANGUAGE_NAMES.items()))
    timezone = SelectField(_l("Time zone"), choices=choices((tz, tz) for tz in COMMON_TIMEZONES))
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=128)])
    submit = SubmitField(_l("Create user"))


class ToggleUserForm(FlaskForm):
    submit = SubmitField()


class AuditLogFilterForm(FlaskForm):
    """The audit log's filters, read from the query string (a GET form: no CSRF token).
    The route fills the account and action choices; anything else is refused."""

    class Meta:
        csrf = False

    account = SelectField(_l("Account"), coerce=int, default=0)
    actor = StringField(_l("Actor (e-mail)"), validators=[Optional(), Length(max=254)])
    action = SelectField(_l("Action"), default="")
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def filters(self) -> AuditLogFilter:
        return AuditLogFilter(account_id=self.account.data or None, actor=self.actor.data or "",
                              action=self.action.data or "", date_from=self.date_from.data, date_to=self.date_to.data)

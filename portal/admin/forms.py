from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

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

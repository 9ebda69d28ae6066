from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.audit import AuditLogFilter
from portal.forms import PortalForm, checkboxes, choices, record_id
from portal.i18n import LABELS, LANGUAGE_NAMES, is_valid_timezone


class TwoFactorPolicyForm(PortalForm):
    """The roles and accounts whose users must use two-factor sign-in."""

    roles = checkboxes(_l("Roles"), choices=choices(LABELS["role"].items()))
    accounts = checkboxes(_l("Accounts (their client users and the firm users working on them)"), coerce=record_id)
    submit = SubmitField(_l("Save"))


class EditUserForm(PortalForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=choices(LABELS["role"].items()))
    language = SelectField(_l("Language"), choices=choices(LANGUAGE_NAMES.items()))
    timezone = SelectField(_l("Time zone"), validate_choice=False)
    accounts = checkboxes(_l("Accounts (a client user's one account; the accounts a firm user works on)"), coerce=record_id)
    submit = SubmitField(_l("Save"))

    def validate_timezone(self, field):
        if not is_valid_timezone(field.data or ""):
            raise ValidationError(_l("Unknown time zone."))


class ToggleUserForm(PortalForm):
    submit = SubmitField()


class AuditLogFilterForm(PortalForm):
    """The audit log's filters, read from the query string (a GET form: no CSRF token).
    The route fills the account and action choices; anything else is refused."""

    class Meta:
        csrf = False

    account = SelectField(_l("Account"), coerce=record_id, default=0)
    actor = StringField(_l("Actor (e-mail)"), validators=[Optional(), Length(max=254)])
    action = SelectField(_l("Action"), default="")
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def filters(self) -> AuditLogFilter:
        return AuditLogFilter(account_id=self.account.data or None, actor=self.actor.data or "",
                              action=self.action.data or "", date_from=self.date_from.data, date_to=self.date_to.data)

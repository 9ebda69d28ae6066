from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

from portal.auth.passwords import MAX_LENGTH
from portal.forms import OnceForm, PortalForm, choices, record_id
from portal.i18n import LABELS, LANGUAGE_NAMES, timezone_choices


class SetPasswordForm(PortalForm):
    """The page of an invitation or a password reset link (the public interface names
    its fields ``password`` and ``confirm``)."""

    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )
    submit = SubmitField(_l("Set the password and sign in"))


class ForgotPasswordForm(PortalForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    submit = SubmitField(_l("Send me a link"))


class InviteForm(OnceForm):
    """Invite a user; the page offers only the roles and accounts its user may invite to."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"))
    account = SelectField(_l("Account"), coerce=record_id)
    language = SelectField(_l("Language of the portal and e-mails"), choices=choices(LANGUAGE_NAMES.items()))
    timezone = SelectField(_l("Time zone"), default="")
    submit = SubmitField(_l("Send invitation"))

    def offer(self, roles, accounts, *, firm_option: bool) -> InviteForm:
        """Offer ``roles`` and ``accounts`` (with "none" first for firm users)."""
        self.role.choices = choices((role.value, LABELS["role"][role.value]) for role in roles)
        self.account.choices = choices(([(0, _l("None (a firm user)"))] if firm_option else [])
                                       + [(a.id, a.name) for a in accounts])
        self.timezone.choices = [*choices([("", _l("The account's (UTC for the firm)"))]), *timezone_choices()]
        return self


class InvitationForm(PortalForm):
    """Resend or withdraw an invitation (a button)."""

    submit = SubmitField()


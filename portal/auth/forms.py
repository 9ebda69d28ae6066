from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from portal.forms import PortalForm, choices
from portal.auth.passwords import MAX_LENGTH, password_problems
from portal.i18n import LOCALE_NAMES, is_valid_timezone, locale_choice, timezone_choices


class LoginForm(PortalForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField(_l("Keep me signed in on this device for 30 days"))
    submit = SubmitField(_l("Sign in"))


class ReauthenticateForm(PortalForm):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    code = StringField(_l("Code from your authenticator app, or a recovery code"),
                       validators=[Optional(), Length(max=64)])  # asked of users with two-factor sign-in
    submit = SubmitField(_l("Confirm"))


class CodeForm(PortalForm):
    """The second step of signing in with two-factor sign-in."""

    code = StringField(_l("Code from your authenticator app, or a recovery code"),
                       validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("Sign in"))


class TwoFactorStartForm(PortalForm):
    start = SubmitField(_l("Set up two-factor sign-in"))


class TwoFactorConfirmForm(PortalForm):
    code = StringField(_l("The 6-digit code your app shows"), validators=[DataRequired(), Length(max=64)])
    confirm = SubmitField(_l("Turn on two-factor sign-in"))


class RecoveryCodesForm(PortalForm):
    renew = SubmitField(_l("Make new recovery codes"))


class TwoFactorOffForm(PortalForm):
    turn_off = SubmitField(_l("Turn off two-factor sign-in"))


class NewPasswordMixin:
    def validate_new_password(self, field):
        problems = password_problems(field.data or "")
        if problems:
            raise ValidationError(" ".join(problems))


class ChangePasswordForm(NewPasswordMixin, PortalForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=1024)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The two passwords differ."))],
    )
    submit = SubmitField(_l("Change password"))


class PreferencesForm(PortalForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    # The language with its regional form (``LOCALE_NAMES``): English readers choose
    # American or British dates and times; the UI speaks the language.
    language = SelectField(_l("Language and date format"), choices=choices(LOCALE_NAMES.items()))
    timezone = SelectField(_l("Time zone"), validate_choice=False)
    submit = SubmitField(_l("Save"))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, obj=user, **kwargs)
        self.timezone.choices = timezone_choices(self.timezone.data)
        if user is not None and not self.is_submitted():
            self.language.data = locale_choice(user.language, user.locale)

    def validate_timezone(self, field):
        if not is_valid_timezone(field.data or ""):
            raise ValidationError(_l("Unknown time zone."))


class SignOutEverywhereForm(PortalForm):
    submit = SubmitField(_l("Sign out everywhere else"))


class LogoutForm(PortalForm):
    submit = SubmitField(_l("Sign out"))

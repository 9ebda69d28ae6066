"""The forms of in-app notifications: marking read, and the choice of e-mail on the
user's settings page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SubmitField

from portal.forms import PortalForm, checkboxes, choices
from portal.models import NotificationSettings, User
from portal.notifications.kinds import kinds_for


class MarkReadForm(PortalForm):
    """A button that marks one notification read (its id is in the form's address)."""

    submit = SubmitField(_l("Mark read"))


class MarkAllReadForm(PortalForm):
    submit = SubmitField(_l("Mark all read"))


class EmailChoiceForm(PortalForm):
    """For each kind the user can receive, whether it also comes by e-mail; and the
    daily digest instead of one e-mail each."""

    by_email = checkboxes(_l("Also send me an e-mail when"))
    daily_digest = BooleanField(_l("Instead of one e-mail each, send me one e-mail a day with those still unread"))
    submit = SubmitField(_l("Save e-mail choices"))

    @classmethod
    def for_user(cls, user: User, settings: NotificationSettings, **kwargs) -> EmailChoiceForm:
        """The form of ``user``'s kinds, filled with ``settings`` (unless posted)."""
        kinds = kinds_for(user.role)
        form = cls(prefix="mail", data={"by_email": [k.name for k in kinds if settings.wants_email(k.name)],
                                        "daily_digest": settings.daily_digest}, **kwargs)
        form.by_email.choices = choices((k.name, k.label) for k in kinds)
        return form

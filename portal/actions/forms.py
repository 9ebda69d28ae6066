from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, Form, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import OnceForm, PortalForm, choices, record_id, with_texts
from portal.i18n import LABELS
from portal.models import ActionSource, ActionStatus, OwnerSide


class ActionFields(Form):
    """What an item is and who owns it by when: the item's own form, and a follow-up
    action's row in the form of an interaction."""

    title = StringField(_l("Title"), validators=[Length(max=200)])
    owner_side = SelectField(_l("Owned by"), choices=choices((s.value, LABELS["owner_side"][s.value]) for s in OwnerSide))
    owner = SelectField(_l("Owner (firm user)"), coerce=record_id, validate_choice=False, default=0)
    owner_name = StringField(_l("Owner (name, if not a firm user)"), validators=[Length(max=200)])
    due_date = DateField(_l("Due date (30 days if empty; at most 60)"), validators=[Optional()])


@with_texts("title", max_length=200, languages=("zh", "vi"))
class ActionForm(OnceForm, ActionFields):
    """An item of the registry; its title as written (English as a rule) and in the
    other languages its readers read (``title_zh``, ``title_vi``)."""

    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    source = SelectField(_l("Source"), choices=choices((s.value, LABELS["action_source"][s.value]) for s in ActionSource))
    extension_reason = StringField(_l("Reason for a due date beyond 60 days (administrators)"), validators=[Length(max=500)])
    status = SelectField(_l("Status"), default=ActionStatus.OPEN.value,
                         choices=choices((s.value, LABELS["action_status"][s.value]) for s in ActionStatus))
    submit = SubmitField(_l("Save"))


class ActionCommentForm(OnceForm):
    body = TextAreaField(_l("Comment"), validators=[DataRequired(), Length(max=5000)])
    submit = SubmitField(_l("Add comment"))


class DoneForm(PortalForm):
    submit = SubmitField(_l("Mark as done"))

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.files import upload_field
from portal.forms import OnceForm, PortalForm, choices, record_id
from portal.i18n import LABELS
from portal.models import Priority, RequestCategory, RequestStatus

MAX_TEXT = 20_000


class RequestForm(OnceForm):
    account = SelectField(_l("Account"), coerce=record_id, validators=[Optional()])
    # No default: a preselected category files requests under it unread (seen: billing).
    category = SelectField(_l("Category"), validators=[DataRequired(_l("Choose a category."))],
                           choices=choices([("", _l("Choose a category")),
                                            *((c.value, LABELS["category"][c.value]) for c in RequestCategory)]))
    priority = SelectField(_l("Priority"), default=Priority.NORMAL.value,
                           choices=choices((p.value, LABELS["priority"][p.value]) for p in Priority))
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[DataRequired(), Length(max=MAX_TEXT)])
    attachments = upload_field(_l("Attachments (up to 5 files of 10 MB: PDF, PNG, JPEG, DOCX, XLSX, CSV, TXT)"))
    submit = SubmitField(_l("Submit request"))


class CommentForm(OnceForm):
    body = TextAreaField(_l("Reply"), validators=[DataRequired(), Length(max=MAX_TEXT)])
    internal = BooleanField(_l("Internal note (only the firm sees it)"))
    attachments = upload_field(_l("Attachments"))
    submit = SubmitField(_l("Send"))


class StatusForm(PortalForm):
    status = SelectField(_l("Status"), choices=choices((s.value, LABELS["request_status"][s.value]) for s in RequestStatus))
    submit = SubmitField(_l("Change status"))


class AssignForm(PortalForm):
    assignee = SelectField(_l("Assigned to"), coerce=record_id)
    submit = SubmitField(_l("Assign"))


class EscalateForm(OnceForm):
    reason = TextAreaField(_l("Why does this need escalating?"), validators=[DataRequired(), Length(max=2000)])
    submit = SubmitField(_l("Escalate"))


class FeedbackForm(OnceForm):
    rating = RadioField(_l("How satisfied are you?"), coerce=record_id, validators=[DataRequired()],
                        choices=choices([(5, _l("5 – Very satisfied")), (4, _l("4 – Satisfied")), (3, _l("3 – Neutral")),
                                         (2, _l("2 – Dissatisfied")), (1, _l("1 – Very dissatisfied"))]))
    comment = TextAreaField(_l("Comment"), validators=[Length(max=5000)])
    submit = SubmitField(_l("Send feedback"))

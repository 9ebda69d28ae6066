from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, FieldList, FormField, HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.forms import OnceForm, PortalForm, PricedLineForm, show_source_field, with_texts


@with_texts("description", max_length=500)
class WorkOrderLineForm(PricedLineForm):
    """One line of a work order."""


@with_texts("acceptance", TextAreaField, max_length=20_000)
@with_texts("description", TextAreaField, max_length=20_000)
@with_texts("title", max_length=200, required=True)
class WorkOrderForm(OnceForm):
    po_number = StringField(_l("Purchase order (PO) number"), validators=[DataRequired(), Length(max=60)])
    start_date = DateField(_l("Start date"), validators=[DataRequired()])
    end_date = DateField(_l("End date"), validators=[DataRequired()])
    languages = SelectField(_l("Languages"))
    show_source_text = show_source_field()
    lines = FieldList(FormField(WorkOrderLineForm), min_entries=1, max_entries=2000)
    add_line = SubmitField(_l("Add a line"))
    preview = SubmitField(_l("Preview"))
    save = SubmitField(_l("Issue work order"))


class DocumentReviewForm(PortalForm):
    """A regional reviewer's decision on the draft shown: its SHA-256, a comment (needed
    to comment, optional with an approval) and, optionally, their typed full name."""

    version = HiddenField(validators=[DataRequired()])
    comment = TextAreaField(_l("Comment"), validators=[Length(max=10_000)])
    typed_name = StringField(_l("Your full name, typed (optional)"), validators=[Length(max=200)])
    approve = SubmitField(_l("Approve"))
    send_comment = SubmitField(_l("Send the comment"))

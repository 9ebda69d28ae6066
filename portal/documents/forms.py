from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, FieldList, FormField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.forms import OnceForm, PricedLineForm, show_source_field, with_texts


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
    save = SubmitField(_l("Issue work order"))

"""The pipeline's forms: an opportunity with its lines, a move of stage, its quotation
and the change request a won one becomes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, FieldList, FormField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.forms import NumberField, OnceForm, PortalForm, PricedLineForm, choices, record_id, with_texts
from portal.i18n import LABELS

MAX_LINES = 200


def stage_choices() -> list:
    return choices(LABELS["opportunity_stage"].items())


@with_texts("description", max_length=500)
class OpportunityLineForm(PricedLineForm):
    """One priced line of an opportunity (as a change request's added line)."""


@with_texts("title", max_length=200, required=True)
class OpportunityForm(OnceForm):
    currency = StringField(_l("Currency"), validators=[DataRequired(), Length(min=3, max=3)])
    value = NumberField(_l("Value (without lines)"), validators=[Optional(), NumberRange(min=0)])
    stage = SelectField(_l("Stage"), choices=stage_choices)
    probability = IntegerField(_l("Probability (%)"), validators=[Optional(), NumberRange(min=0, max=100)])
    expected_close = DateField(_l("Expected close"), validators=[Optional()])
    source = SelectField(_l("Source"), choices=lambda: choices(LABELS["opportunity_source"].items()))
    source_plan_id = SelectField(_l("The plan or review it came from"), coerce=record_id, validate_choice=False,
                                 default=0)
    owner_id = SelectField(_l("Owner"), coerce=record_id, validate_choice=False, default=0)
    notes = TextAreaField(_l("Notes"), validators=[Length(max=20_000)])
    lines = FieldList(FormField(OpportunityLineForm), min_entries=0, max_entries=MAX_LINES)
    add_line = SubmitField(_l("Add a line"))
    save = SubmitField(_l("Save the opportunity"))


class StageForm(PortalForm):
    stage = SelectField(_l("Stage"), choices=stage_choices)
    probability = IntegerField(_l("Probability (%)"), validators=[Optional(), NumberRange(min=0, max=100)])
    submit = SubmitField(_l("Move"))


class QuotationForm(OnceForm):
    languages = SelectField(_l("Languages"), validate_choice=True)
    valid_until = DateField(_l("Valid until"), validators=[Optional()])
    submit = SubmitField(_l("Issue the quotation"))


class ChangeRequestDraftForm(OnceForm):
    contract = SelectField(_l("Contract"), coerce=record_id, validate_choice=False)
    submit = SubmitField(_l("Make a change request draft"))


class FromRequestForm(OnceForm):
    submit = SubmitField(_l("Make an opportunity"))

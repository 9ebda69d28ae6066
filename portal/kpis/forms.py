"""The form of a contract KPI's definition (admins and account managers)."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.forms import NumberField, OnceForm, checkboxes, choices, record_id, with_texts

NUMBER = _l("Enter a number such as 99.5.")


@with_texts("name", max_length=200, required=True)
class KpiDefinitionForm(OnceForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])
    unit = StringField(_l("Unit"), validators=[DataRequired(), Length(max=20)])
    target = NumberField(_l("Target"), validators=[InputRequired(NUMBER), NumberRange(min=0, max=10**9)])
    direction = SelectField(_l("Better when"), choices=choices([("higher", _l("higher")), ("lower", _l("lower"))]))
    weight = NumberField(_l("Weight in the overall attainment"), default=Decimal(1),
                         validators=[InputRequired(NUMBER), NumberRange(min=0, max=1000)])
    amber_tolerance = NumberField(_l("Amber within (percent of the target)"), default=Decimal(5),
                                  validators=[InputRequired(NUMBER), NumberRange(min=0, max=100)])
    is_sla = BooleanField(_l("An SLA with service credits"))
    service_credit_percent = NumberField(_l("Service credit (percent of the monthly fee)"),
                                         validators=[Optional(), NumberRange(min=0, max=100)])
    credit_scope_lines = checkboxes(_l("Service credit on the monthly charge of (none ticked: all the contract's lines)"),
                                    coerce=record_id, validate_choice=False)
    # The contract's caps, for all its SLAs: shown and saved with each KPI where they apply.
    credit_cap_month_percent = NumberField(_l("The contract's cap on service credits per month (percent of the "
                                              "month's charge; empty: none)"),
                                           validators=[Optional(), NumberRange(min=0, max=100)])
    credit_cap_year_percent = NumberField(_l("The contract's cap on service credits per contract year (percent of "
                                             "the ACV; empty: none)"),
                                          validators=[Optional(), NumberRange(min=0, max=100)])
    submit = SubmitField(_l("Save"))

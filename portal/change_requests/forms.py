from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms import Form, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.forms import (
    NumberField,
    OnceForm,
    PortalForm,
    PricedLineForm,
    SignatureForm,
    choices,
    record_id,
    show_source_field,
    with_texts,
)
from portal.i18n import LANGUAGE_NAMES

CHANGES = {"add": _l("Add"), "remove": _l("Remove"), "modify": _l("Modify")}
MAX_LINES = 200


@with_texts("description", max_length=500)
class LineForm(PricedLineForm):
    """One line of a CR: what it changes, and the contract line a change or removal acts on."""

    change = SelectField(_l("Change"), choices=choices(CHANGES.items()))
    scope_line = SelectField(_l("Contract line"), coerce=record_id, validate_choice=False, default=0)


@with_texts("description", TextAreaField, max_length=20_000)
@with_texts("title", max_length=200, required=True)
class ChangeRequestForm(OnceForm):
    in_scope = SelectField(_l("Scope"), choices=choices([("out", _l("Out of scope")), ("in", _l("In scope"))]))
    effective_date = DateField(_l("Effective date"), validators=[DataRequired()])
    lines = FieldList(FormField(LineForm), min_entries=1, max_entries=MAX_LINES)
    add_line = SubmitField(_l("Add a line"))
    save = SubmitField(_l("Save draft"))


class SubmitForm(PortalForm):
    submit = SubmitField(_l("Submit for approval"))


class WithdrawForm(PortalForm):
    submit = SubmitField(_l("Withdraw"))


class ImplementForm(PortalForm):
    submit = SubmitField(_l("Mark as implemented"))


class ApproveForm(SignatureForm):
    consent = BooleanField(_l("I approve this change request, version shown above, on behalf of my company."),
                           validators=[DataRequired(message=_l("Tick the box to confirm your approval."))])
    approve = SubmitField(_l("Approve"))


class RejectForm(PortalForm):
    version = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(_l("Reason for rejecting"), validators=[DataRequired(), Length(max=5000)])
    reject = SubmitField(_l("Reject"))


VERDICTS = {"approve": _l("Approve"), "reject": _l("Reject"), "counter": _l("Counter-propose")}


class LineDecisionForm(Form):
    """The client approver's decision on one line (a subform: the page's form carries
    the CSRF token); a counter-proposal's figures, a rejection's reason."""

    decision = SelectField(_l("Decision"), choices=choices(VERDICTS.items()), default="approve")
    quantity = NumberField(_l("Quantity"), validators=[Optional(), NumberRange(min=0)])
    unit_price = NumberField(_l("Unit price"), validators=[Optional(), NumberRange(min=0)])
    reason = StringField(_l("Reason"), validators=[Length(max=2000)])


class LineDecisionsForm(SignatureForm):
    lines = FieldList(FormField(LineDecisionForm), min_entries=0, max_entries=MAX_LINES)
    consent = BooleanField(_l("I sign these decisions on the lines of this change request, version shown above, "
                              "on behalf of my company."),
                           validators=[DataRequired(message=_l("Tick the box to confirm your decisions."))])
    decide = SubmitField(_l("Send my decisions"))


class AcceptCounterForm(PortalForm):
    submit = SubmitField(_l("Accept the counter-proposal"))


class InternalDecisionForm(PortalForm):
    version = HiddenField(validators=[DataRequired()])
    reason = TextAreaField(_l("Comment (required to reject)"), validators=[Length(max=5000)])
    approve = SubmitField(_l("Approve"))
    reject = SubmitField(_l("Reject"))


class AmendmentForm(OnceForm):
    languages = SelectField(_l("Languages"), validate_choice=True)
    show_source_text = show_source_field()
    preview = SubmitField(_l("Preview"))
    submit = SubmitField(_l("Issue amendment"))


def default_languages(document_languages: list[str]) -> str:
    """The choice a document's issue form starts at: all of the account's document
    languages (two side by side, the account's first left), as ``language_options``
    names them."""
    return "+".join(document_languages or ["en"])


def language_options(document_languages: list[str], *, either_order: bool = False) -> list:
    """One language alone, or two side by side (the account's first language left, or
    ``either_order``: each on the left)."""
    langs = document_languages or ["en"]
    options = [(lang, LANGUAGE_NAMES[lang]) for lang in langs]
    for i, first in enumerate(langs):
        for second in (langs if either_order else langs[i + 1:]):
            if second != first:
                options.append((f"{first}+{second}", f"{LANGUAGE_NAMES[first]} + {LANGUAGE_NAMES[second]}"))
    return choices(options)


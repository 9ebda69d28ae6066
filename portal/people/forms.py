"""Forms of the people pages: the team, the escalation matrix, stakeholders and interactions."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    SelectField,
    SelectMultipleField,
    HiddenField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.actions.forms import ActionFields
from portal.forms import NumberField, OnceForm, PortalForm, choices, record_id, with_texts
from portal.i18n import LABELS, LANGUAGE_NAMES
from portal.models import DecisionRole, InteractionKind, OwnerSide
from portal.people.service import LEVELS

MAX_CONTACTS, MAX_FOLLOW_UPS = 60, 50


class RowsForm(PortalForm):
    """A form with a list of rows of which the service sees those kept (not removed,
    not left blank): a problem's path counts the rows kept (``contacts.1.email``)."""

    ROWS = ""  # the FieldList's name
    ROW_FORM: type[Form]

    @classmethod
    def blank_row(cls) -> Form:
        """The row ``rows.js`` clones for "Add ...", with ``__index__`` for its number."""
        return cls.ROW_FORM(prefix=f"{cls.ROWS}-__index__-")

    def kept_rows(self) -> list[Form]:
        self._kept = [entry.form for entry in self[self.ROWS]
                      if not entry.form.delete.data and any(_typed(f) for f in entry.form if f.name != entry.form.delete.name)]
        return self._kept

    def field_at(self, path: str):
        name, _, rest = path.partition(".")
        if name != self.ROWS:
            return self._fields.get(name) or self._fields.get(f"{name}_en")
        index, _, name = rest.partition(".")
        kept = getattr(self, "_kept", [])
        if not index.isdigit() or int(index) >= len(kept):
            return None
        row = kept[int(index)]._fields
        return row.get(name) or row.get(f"{name}_en") or row.get(name.removesuffix("_id"))

    def add_row(self) -> bool:
        """Without JavaScript, "Add ..." posts the form back for one more row."""
        if self.add.data:
            self[self.ROWS].append_entry()
            return True
        return False


def _typed(field: Any) -> bool:
    """Whether a row's field holds something the user typed or chose (not its default)."""
    if isinstance(field, SelectField):
        return False  # a choice alone leaves a row blank
    return bool(field.data) if not isinstance(field.data, str) else bool(field.data.strip())


# --- the team and the escalation matrix --------------------------------------------------


class TeamForm(PortalForm):
    """One list of checkboxes per role of the team; the choices are the firm's users of that role."""

    account_manager = SelectMultipleField(LABELS["role"]["account_manager"], coerce=record_id, validate_choice=False)
    regional_reviewer = SelectMultipleField(LABELS["role"]["regional_reviewer"], coerce=record_id, validate_choice=False)
    finance = SelectMultipleField(LABELS["role"]["finance"], coerce=record_id, validate_choice=False)
    save = SubmitField(_l("Save the team"))


class ApprovalLimitForm(Form):
    """One client approver's limit (a subform: the page's form carries the CSRF token)."""

    user_id = HiddenField()
    limit = NumberField(_l("Approval limit"), validators=[Optional(), NumberRange(min=0)])


class ApprovalLimitsForm(PortalForm):
    limits = FieldList(FormField(ApprovalLimitForm), min_entries=0, max_entries=200)
    higher_authority = SelectField(_l("Higher authority"), coerce=record_id, validate_choice=False, default=0)
    save = SubmitField(_l("Save the approval limits"))


@with_texts("title", max_length=200)
class ContactForm(Form):
    level = SelectField(_l("Level"), coerce=record_id, choices=choices((level, str(level)) for level in LEVELS))
    side = SelectField(_l("Side"), choices=choices((s.value, LABELS["owner_side"][s.value]) for s in OwnerSide))
    name = StringField(_l("Name"), validators=[Length(max=200)])
    email = StringField(_l("E-mail"), validators=[Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Length(max=50)])
    delete = BooleanField(_l("Remove this contact"))


class EscalationMatrixForm(RowsForm):
    ROWS, ROW_FORM = "contacts", ContactForm

    contacts = FieldList(FormField(ContactForm), min_entries=0, max_entries=MAX_CONTACTS)
    add = SubmitField(_l("Add a contact"))
    save = SubmitField(_l("Save the escalation matrix"))


# --- stakeholders and interactions -------------------------------------------------------


@with_texts("title", label="job_title", max_length=200, languages=("zh", "vi"))
class StakeholderForm(OnceForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    title = StringField(_l("Job title"), validators=[Length(max=200)])
    decision_role = SelectField(_l("Role in decisions"),
                                choices=choices((r.value, LABELS["decision_role"][r.value]) for r in DecisionRole))
    language = SelectField(_l("Language"), choices=choices(LANGUAGE_NAMES.items()))
    email = StringField(_l("E-mail"), validators=[Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Length(max=50)])
    owner = SelectField(_l("Relationship owner"), coerce=record_id, validate_choice=False, default=0)
    notes = TextAreaField(_l("Notes (the firm's only: the client never sees them)"), validators=[Length(max=20_000)])
    submit = SubmitField(_l("Save"))


class FollowUpForm(ActionFields):
    delete = BooleanField(_l("Remove this action"))


class InteractionForm(OnceForm, RowsForm):
    ROWS, ROW_FORM = "actions", FollowUpForm

    kind = SelectField(_l("Kind"), choices=choices((k.value, LABELS["interaction_kind"][k.value]) for k in InteractionKind))
    occurred_on = DateField(_l("Date"), validators=[DataRequired()])
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    summary = TextAreaField(_l("Summary"), validators=[Length(max=20_000)])
    firm_attendees = SelectMultipleField(_l("From the firm"), coerce=record_id, validate_choice=False)
    stakeholders = SelectMultipleField(_l("From the client"), coerce=record_id, validate_choice=False)
    other_attendees = TextAreaField(_l("Others (one name a line)"), validators=[Length(max=2000)])
    actions = FieldList(FormField(FollowUpForm), min_entries=0, max_entries=MAX_FOLLOW_UPS)
    add = SubmitField(_l("Add a follow-up action"))
    save = SubmitField(_l("Save"))

"""Forms of the plan pages. Every text has one field per language (``title_en``,
``title_zh``, ``title_vi``); the page shows those of the account's document languages."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length

from portal.forms import OnceForm, PortalForm, SignatureForm, SubForm, choices, record_id, show_source_field, with_texts
from portal.plans.content import LANGUAGES, MAX_ROWS, MAX_TEXT, SECTIONS, TEXT_FIELDS, as_text
from portal.models import ReviewDecision
from portal.plans.labels import FIELDS, INITIATIVE_STATUSES, PLAN_TYPES, SECTIONS as SECTION_LABELS


@with_texts("text", TextAreaField, label=FIELDS["text"], max_length=MAX_TEXT)
class ObjectiveForm(SubForm):
    delete = BooleanField(_l("Remove this line"))


@with_texts("name", label=FIELDS["name"], max_length=MAX_TEXT)
class KpiForm(SubForm):
    baseline = StringField(FIELDS["baseline"], validators=[Length(max=40)])
    target = StringField(FIELDS["target"], validators=[Length(max=40)])
    unit = StringField(FIELDS["unit"], validators=[Length(max=20)])
    kpi = SelectField(FIELDS["kpi"], validate_choice=False, default="")
    delete = BooleanField(_l("Remove this line"))


@with_texts("title", label=FIELDS["title"], max_length=MAX_TEXT)
class InitiativeForm(SubForm):
    owner = StringField(FIELDS["owner"], validators=[Length(max=200)])
    due = StringField(FIELDS["due"], validators=[Length(max=10)])
    status = SelectField(FIELDS["status"], choices=choices(INITIATIVE_STATUSES.items()), default="planned")
    delete = BooleanField(_l("Remove this line"))


@with_texts("item", label=FIELDS["item"], max_length=MAX_TEXT)
class BudgetForm(SubForm):
    amount = StringField(FIELDS["amount"], validators=[Length(max=30)])
    delete = BooleanField(_l("Remove this line"))


@with_texts("mitigation", TextAreaField, label=FIELDS["mitigation"], max_length=MAX_TEXT)
@with_texts("risk", TextAreaField, label=FIELDS["risk"], max_length=MAX_TEXT)
class RiskForm(SubForm):
    owner = StringField(FIELDS["owner"], validators=[Length(max=200)])
    delete = BooleanField(_l("Remove this line"))


ROW_FORMS = {"objectives": ObjectiveForm, "kpis": KpiForm, "initiatives": InitiativeForm, "budget": BudgetForm,
             "risks": RiskForm}
ADD_LABELS = {
    "objectives": _l("Add an objective"),
    "kpis": _l("Add a KPI"),
    "initiatives": _l("Add an initiative"),
    "budget": _l("Add a budget line"),
    "risks": _l("Add a risk"),
}


class PlanForm(PortalForm):
    """The plan's content: a list of rows per section. "Add" buttons post the form back
    (``rows.js`` adds the row in the page instead when scripts run)."""

    save = SubmitField(_l("Save"))

    def field_at(self, path: str):
        """The field of a problem's path (``kpis.0.target``): the index counts the rows
        of the content, which leaves out rows removed or blank (see ``content_from``)."""
        parts = path.split(".")
        if len(parts) < 2 or parts[0] not in SECTIONS or not parts[1].isdigit():
            return None
        kept = getattr(self, "kept", {}).get(parts[0], [])
        if int(parts[1]) >= len(kept):
            return None
        row = getattr(self, parts[0])[kept[int(parts[1])]].form
        name = parts[2] if len(parts) > 2 else "text"
        return row._fields.get(name) or row._fields.get(f"{name}_en")


for _section in SECTIONS:
    setattr(PlanForm, _section, FieldList(FormField(ROW_FORMS[_section]), min_entries=0, max_entries=MAX_ROWS))
    setattr(PlanForm, f"add_{_section}", SubmitField(ADD_LABELS[_section]))


class NewPlanForm(OnceForm):
    plan_type = SelectField(_l("Type"), choices=choices(PLAN_TYPES.items()))
    period = StringField(_l("Period"), validators=[DataRequired(), Length(max=10)],
                         description=_l("FY2027 for a yearly plan, 2027-Q1 for a quarter, 2027-03 for a month"))
    parent = SelectField(_l("Start from"), coerce=record_id, validate_choice=False, default=0)
    create = SubmitField(_l("Create the draft"))


class SubmitForm(PortalForm):
    submit = SubmitField(_l("Submit for review"))


class ReviewForm(OnceForm):
    """A review of the version shown: a button per decision (the page shows the client
    no "Approve": the client signs off instead). A firm reviewer's remark is for the
    firm only unless they tick ``shared``."""

    section = SelectField(_l("About"), choices=choices([("", _l("The whole plan")), *SECTION_LABELS.items()]),
                          default="")
    body = TextAreaField(_l("Comment"), validators=[Length(max=10_000)])
    shared = BooleanField(_l("Share this remark with the client (otherwise only the firm reads it)"))
    language = HiddenField()
    version = HiddenField(validators=[DataRequired()])
    comment = SubmitField(_l("Send the comment"))
    request_changes = SubmitField(_l("Request changes"))
    approve = SubmitField(_l("Approve"))

    @property
    def decision(self) -> ReviewDecision:
        """The decision of the button pressed."""
        if self.approve.data:
            return ReviewDecision.APPROVE
        if self.request_changes.data:
            return ReviewDecision.REQUEST_CHANGES
        return ReviewDecision.COMMENT


class SignoffForm(SignatureForm):
    consent = BooleanField(_l("I sign off this plan, version shown above, on behalf of my company."),
                           validators=[DataRequired(message=_l("Tick the box to confirm your sign-off."))])
    sign = SubmitField(_l("Sign off"))


class DocumentForm(OnceForm):
    languages = SelectField(_l("Languages"), validate_choice=True)
    show_source_text = show_source_field()
    preview = SubmitField(_l("Preview"))
    submit = SubmitField(_l("Issue the plan document"))


# --- between the form and the plan's content -------------------------------------------


def _row_texts(section: str, row: dict[str, Any]) -> dict[str, Any]:
    data = {}
    for field in TEXT_FIELDS[section]:
        text = as_text(row if field is None else row.get(field))
        for lang in LANGUAGES:
            data[f"{field or 'text'}_{lang}"] = text.get(lang, "")
    return data


def form_data(content: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The form's data for a plan's content."""
    data = {}
    for section in SECTIONS:
        rows = []
        for row in content.get(section) or []:
            values = _row_texts(section, row)
            if section != "objectives":
                values.update({k: ("" if v is None else v) for k, v in row.items() if k not in TEXT_FIELDS[section]})
            rows.append(values)
        data[section] = rows
    return data


def content_from(form: PlanForm) -> dict[str, list]:
    """The content the form describes: rows ticked "Remove" and blank rows left out.
    ``form.kept`` remembers which entry each row came from, for ``field_at``."""
    content: dict[str, list] = {}
    form.kept = {}
    for section in SECTIONS:
        rows, kept = [], []
        for index, entry in enumerate(getattr(form, section)):
            values = {name: (f.data or "") for name, f in entry.form._fields.items() if name != "delete"}
            if entry.form.delete.data or not any(str(v).strip() for k, v in values.items() if k != "status"):
                continue
            texts = {field: {lang: values.pop(f"{field or 'text'}_{lang}") for lang in LANGUAGES}
                     for field in TEXT_FIELDS[section]}
            rows.append(texts[None] if section == "objectives" else {**values, **texts})
            kept.append(index)
        content[section], form.kept[section] = rows, kept
    return content


def round_trip(form: PlanForm) -> bool:
    """Without JavaScript, an "Add" button posts the form back for one more row."""
    for section in SECTIONS:
        if getattr(form, f"add_{section}").data:
            getattr(form, section).append_entry()
            return True
    return False

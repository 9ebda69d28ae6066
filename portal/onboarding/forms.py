"""Forms of onboarding: an account's details, a contract with its scope lines and
service locations, and a purchase order; and what an edit of each starts from."""

from __future__ import annotations

import functools
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from babel.numbers import get_currency_name, get_territory_currencies
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from docgen.formatting import plain_decimal
from docgen.i18n import LANGUAGES
from portal.forms import NumberField, OnceForm, PortalForm, SubForm, checkboxes, choices, record_id, texts, with_texts
from portal.i18n import LABELS, LANGUAGE_NAMES, country, current_locale, timezone_choices
from portal.models import Contract, Tier
from portal.service_requests.service import PRIORITIES, ServiceLevel
from portal.units import in_hours
from portal.onboarding.service import (
    COUNTRIES,
    NAME_LENGTH,
    NUMBER_LENGTH,
    TAX_ID_LENGTH,
    UNIT_LENGTH,
    ContractDetails,
    LocationDetails,
    ScopeLineDetails,
)

MAX_LINES, MAX_LOCATIONS = 200, 50


def plain(value: Decimal | None) -> Decimal | None:
    """A stored figure as a form shows it: 50000 for 50000.0000 (never 5E+4)."""
    return None if value is None else Decimal(plain_decimal(value))


def details_of(contract: Contract) -> ContractDetails:
    """The contract's details as an edit starts from them: an annual value that is the
    sum of the scope lines is left to be that sum again after the lines change."""
    details = ContractDetails.of(contract)
    if contract.annual_value == contract.scope_annual_value:
        return details.changed(annual_value=None)
    return details


# --- choices in the reader's language ----------------------------------------------------


def country_choices(chosen: str | None = None, *, blank: bool = False) -> list:
    """Every country by its name in the UI's language (the ISO code is what is kept);
    ``blank``: "—" first, nothing chosen yet."""
    pairs = sorted(((code, country(code)) for code in COUNTRIES), key=lambda pair: pair[1])
    if chosen and chosen not in COUNTRIES:
        pairs.insert(0, (chosen, chosen))
    return choices([("", "—")] * blank + pairs)


@functools.cache
def _currencies_in_use() -> tuple[str, ...]:
    """The currencies some country pays in today (not the peseta or the franc)."""
    today = date.today()
    return tuple(sorted({code for country in COUNTRIES for code in get_territory_currencies(country, today)}))


def currency_choices(chosen: str | None = None, *, blank: bool = False) -> list:
    """The currencies in use, by code and name in the UI's language; one chosen before
    that has since gone out of use stays on the list."""
    locale = current_locale()
    codes = list(_currencies_in_use())
    if chosen and chosen not in codes:
        codes.insert(0, chosen)
    return choices([("", "—")] * blank + [(code, f"{code} · {get_currency_name(code, locale=locale)}") for code in codes])



def _row_field(row: SubForm, name: str):
    """A row's field for the rest of a service path: ``quantity``, ``service.zh``."""
    fields, key = row._fields, name.replace(".", "_")
    return fields.get(key) or fields.get(f"{key}_en") or fields.get(name.split(".")[0])


# --- the account -------------------------------------------------------------------------------


@with_texts("representative_title", max_length=NAME_LENGTH)
@with_texts("representative_name", max_length=NAME_LENGTH)
@with_texts("address", TextAreaField, max_length=500)
@with_texts("name", max_length=NAME_LENGTH, required=True)
class AccountForm(OnceForm):
    """What an account is: its legal name per language, where and how it is served, and
    who signs for it."""

    country = SelectField(_l("Country"), validate_choice=False)
    tier = SelectField(_l("Tier"), choices=choices(LABELS["tier"].items()), default=Tier.STANDARD.value)
    timezone = SelectField(_l("Time zone"), validate_choice=False)
    currency = SelectField(_l("Currency"), validate_choice=False)
    document_languages = checkboxes(_l("Document languages (one or two)"), choices=choices(LANGUAGE_NAMES.items()),
                                    default=["en"])
    prevailing_language = SelectField(
        _l("Language that prevails in a bilingual document"),
        choices=choices([("", _l("Not stated")), *LANGUAGE_NAMES.items()]), default="")
    review_languages = checkboxes(_l("Documents reviewed by the regional reviewer before issue"),
                                  choices=choices([(lang, LANGUAGE_NAMES[lang]) for lang in ("zh", "vi")]), default=[])
    approval_threshold = NumberField(
        _l("Internal approval above (a change request's price impact, in the account's currency)"),
        validators=[InputRequired(), NumberRange(min=0)], default=Decimal("50000"))
    tax_id = StringField(_l("Tax or company registration number"), validators=[Length(max=TAX_ID_LENGTH)])
    save = SubmitField(_l("Save"))

    def prepare(self, account=None) -> None:
        """The choices, in the reader's language, and the account's own values kept; a
        new account's country, time zone and currency are chosen, not defaulted."""
        new = account is None
        self.country.choices = country_choices(self.country.data or (account and account.country), blank=new)
        self.currency.choices = currency_choices(self.currency.data or (account and account.currency), blank=new)
        self.timezone.choices = timezone_choices(self.timezone.data or (account and account.timezone), blank=new)

    def field_at(self, path: str):
        """``name.zh`` is ``name_zh``; ``representative.title.vi`` is ``representative_title_vi``."""
        return _row_field(self, path)

    def fill(self, details) -> None:
        for name, text in (("name", details.name), ("address", details.address),
                           ("representative_name", details.representative_name),
                           ("representative_title", details.representative_title)):
            for lang in LANGUAGES:
                self[f"{name}_{lang}"].data = text.get(lang, "")
        self.country.data, self.tier.data, self.timezone.data = details.country, details.tier.value, details.timezone
        self.currency.data, self.tax_id.data = details.currency, details.tax_id
        self.document_languages.data = list(details.document_languages)
        self.prevailing_language.data = details.prevailing_language or ""
        self.review_languages.data = list(details.review_languages)
        self.approval_threshold.data = plain(details.approval_threshold)

    def changes(self) -> dict[str, Any]:
        """What was typed, as ``AccountDetails`` fields."""
        return {"name": texts(self, "name"), "country": self.country.data or "", "tier": Tier(self.tier.data),
                "timezone": self.timezone.data or "", "currency": self.currency.data or "",
                "document_languages": tuple(self.document_languages.data or ()),
                "prevailing_language": self.prevailing_language.data or None,
                "review_languages": tuple(self.review_languages.data or ()),
                "approval_threshold": self.approval_threshold.data, "address": texts(self, "address"),
                "tax_id": self.tax_id.data or "", "representative_name": texts(self, "representative_name"),
                "representative_title": texts(self, "representative_title")}


# --- the contract --------------------------------------------------------------------------------


@with_texts("service", max_length=500)
class ScopeLineForm(SubForm):
    """One contracted service; ``id`` names a line the contract has (kept by the edit)."""

    id = HiddenField()
    unit = StringField(_l("Unit"), validators=[Length(max=UNIT_LENGTH)])
    quantity = NumberField(_l("Quantity"))
    unit_price = NumberField(_l("Unit price"))
    delete = BooleanField(_l("Remove this line"))

    def line_id(self) -> int | None:
        raw = (self.id.data or "").strip()
        return int(raw) if raw.isdigit() and len(raw) < 19 else None

    def is_blank(self) -> bool:
        """Nothing typed (a row added and left empty is left out)."""
        typed = [*texts(self, "service").values(), *(f.raw_data[0] if f.raw_data else f.data for f in
                                                   (self.unit, self.quantity, self.unit_price))]
        return not self.line_id() and not any(str(value or "").strip() for value in typed)


class LocationForm(SubForm):
    country = SelectField(_l("Country"), validate_choice=False, default="")
    entity_name = StringField(_l("Contracting entity there"), validators=[Length(max=NAME_LENGTH)])
    delete = BooleanField(_l("Remove this location"))

    def is_blank(self) -> bool:
        return not ((self.country.data or "").strip() or (self.entity_name.data or "").strip())


@with_texts("governing_law", max_length=NAME_LENGTH)
@with_texts("title", max_length=NAME_LENGTH, required=True)
class ContractForm(OnceForm):
    """A contract; the scope lines and service locations are rows ("Add a line")."""

    number = StringField(_l("Contract number"), validators=[DataRequired(), Length(max=NUMBER_LENGTH)])
    signed_on = DateField(_l("Signed on (blank: not yet signed)"), validators=[Optional()])
    start_date = DateField(_l("Start date"), validators=[DataRequired()])
    end_date = DateField(_l("End date"), validators=[DataRequired()])
    currency = SelectField(_l("Currency"), validate_choice=False)
    annual_value = NumberField(_l("Annual contract value (blank: the sum of the scope lines)"),
                               validators=[Optional(), NumberRange(min=0)])
    prevailing_language = SelectField(
        _l("Language that prevails in a bilingual document (blank: the account's)"),
        choices=choices([("", _l("As the account says")), *LANGUAGE_NAMES.items()]), default="")
    lines = FieldList(FormField(ScopeLineForm), min_entries=0, max_entries=MAX_LINES)
    locations = FieldList(FormField(LocationForm), min_entries=0, max_entries=MAX_LOCATIONS)
    add_line = SubmitField(_l("Add a line"))
    add_location = SubmitField(_l("Add a location"))
    save = SubmitField(_l("Save"))

    @staticmethod
    def blank_line() -> ScopeLineForm:
        """The row ``rows.js`` clones for "Add a line"."""
        return ScopeLineForm(prefix="lines-__index__-")

    @staticmethod
    def blank_location() -> LocationForm:
        row = LocationForm(prefix="locations-__index__-")
        row.country.choices = country_choices(blank=True)
        return row

    def prepare(self, contract: Contract | None = None, currency: str | None = None) -> None:
        self.currency.choices = currency_choices(self.currency.data or (contract.currency if contract else currency))
        for entry in self.locations:
            entry.form.country.choices = country_choices(entry.form.country.data, blank=True)

    def add_row(self) -> bool:
        """Without JavaScript, "Add a line" and "Add a location" post the form back."""
        if self.add_line.data:
            self.lines.append_entry()
        elif self.add_location.data:
            self.locations.append_entry().form.country.choices = country_choices(blank=True)
        else:
            return False
        return True

    def kept_lines(self) -> list[ScopeLineForm]:
        self._lines = [e.form for e in self.lines if not e.form.delete.data and not e.form.is_blank()]
        return self._lines

    def kept_locations(self) -> list[LocationForm]:
        self._locations = [e.form for e in self.locations if not e.form.delete.data and not e.form.is_blank()]
        return self._locations

    def field_at(self, path: str):
        """A service path's field: ``scope_lines.1.quantity`` counts the lines kept."""
        name, _, rest = path.partition(".")
        rows = {"scope_lines": getattr(self, "_lines", []), "locations": getattr(self, "_locations", [])}.get(name)
        if rows is None:
            return _row_field(self, path)
        index, _, rest = rest.partition(".")
        if not index.isdigit() or int(index) >= len(rows):
            return None
        return _row_field(rows[int(index)], rest or "service")

    def fill(self, details: ContractDetails, *, lines: bool = True) -> None:
        self.number.data, self.signed_on.data = details.number, details.signed_on
        self.start_date.data, self.end_date.data = details.start_date, details.end_date
        self.currency.data, self.annual_value.data = details.currency, plain(details.annual_value)
        self.prevailing_language.data = details.prevailing_language or ""
        for name, text in (("title", details.title), ("governing_law", details.governing_law)):
            for lang in LANGUAGES:
                self[f"{name}_{lang}"].data = text.get(lang, "")
        for line in details.scope_lines if lines else ():
            row = self.lines.append_entry().form
            row.id.data = str(line.id) if line.id else ""
            for lang in LANGUAGES:
                row[f"service_{lang}"].data = line.service.get(lang, "")
            row.unit.data, row.quantity.data, row.unit_price.data = line.unit, plain(line.quantity), plain(line.unit_price)
        for location in details.locations:
            row = self.locations.append_entry().form
            row.country.data, row.entity_name.data = location.country, location.entity_name

    def changes(self, *, lines: bool = True) -> dict[str, Any]:
        """What was typed, as ``ContractDetails`` fields (without the lines: a signed
        contract's, which this form does not change)."""
        changes = {
            "number": self.number.data or "", "title": texts(self, "title"), "governing_law": texts(self, "governing_law"),
            "signed_on": self.signed_on.data, "start_date": self.start_date.data, "end_date": self.end_date.data,
            "currency": self.currency.data or "", "annual_value": self.annual_value.data,
            "prevailing_language": self.prevailing_language.data or None,
            "locations": tuple(LocationDetails(row.country.data or "", row.entity_name.data or "")
                               for row in self.kept_locations()),
        }
        if lines:
            changes["scope_lines"] = tuple(
                ScopeLineDetails(service=texts(row, "service"), quantity=row.quantity.data, unit=row.unit.data or "",
                                 unit_price=row.unit_price.data, id=row.line_id()) for row in self.kept_lines())
        return changes


# --- purchase orders -----------------------------------------------------------------------------


class PurchaseOrderForm(OnceForm):
    number = StringField(_l("PO number"), validators=[DataRequired(), Length(max=60)])
    description = StringField(_l("Description"), validators=[Length(max=300)])
    amount = NumberField(_l("Amount"), validators=[InputRequired(), NumberRange(min=0)])
    currency = SelectField(_l("Currency"), validate_choice=False)
    issued_on = DateField(_l("Issued on"), validators=[DataRequired()])
    valid_until = DateField(_l("Valid until (optional)"), validators=[Optional()])
    contract = SelectField(_l("Contract"), coerce=record_id, validate_choice=False, default=0)
    save = SubmitField(_l("Save"))


# --- service levels -------------------------------------------------------------------------------


class ServiceLevelsForm(PortalForm):
    """A contract's targets for each priority, in hours (``1.5`` is an hour and a half),
    as ``<priority>_first``, ``<priority>_resolution`` and ``<priority>_business``."""

    save = SubmitField(_l("Save"))

    def fill(self, levels: list[ServiceLevel]) -> None:
        for level in levels:
            self[f"{level.priority}_first"].data = _hours(level.first_response_minutes)
            self[f"{level.priority}_resolution"].data = _hours(level.resolution_minutes)
            self[f"{level.priority}_business"].data = level.business_hours

    def levels(self) -> list[ServiceLevel]:
        return [ServiceLevel(priority, _minutes(self[f"{priority}_first"].data),
                             _minutes(self[f"{priority}_resolution"].data), bool(self[f"{priority}_business"].data))
                for priority in PRIORITIES]


for _priority in PRIORITIES:
    setattr(ServiceLevelsForm, f"{_priority}_first",
            NumberField(_l("First response, in hours"), validators=[InputRequired()]))
    setattr(ServiceLevelsForm, f"{_priority}_resolution",
            NumberField(_l("Resolution, in hours"), validators=[InputRequired()]))
    setattr(ServiceLevelsForm, f"{_priority}_business", BooleanField(_l("Counted in business hours only")))


def _hours(minutes: int) -> str:
    """Minutes as the hours the form shows: ``1.5``, ``27``, ``1.67``."""
    return plain_decimal(in_hours(minutes))


def _minutes(hours: Decimal | None) -> int:
    """Hours as typed, to the nearest minute (the service refuses what is not above zero)."""
    if hours is None:
        return 0
    return int((hours * 60).to_integral_value(ROUND_HALF_UP))

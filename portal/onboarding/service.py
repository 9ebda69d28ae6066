"""Onboarding a client: its account, its contracts with their scope lines and service
locations, its PO register, and the reminders before a contract ends.

* The administrator creates accounts; the administrator and the account's account
  managers edit it, its contracts and its purchase orders.
* A contract's scope lines keep their ids: an edit names each line it keeps by id, so
  a change request or an API client can point at one. Once the contract is signed its
  scope changes only by change requests (``change_requests.service.implement``).
* Each contract ending within 90, 60 and 30 days reminds the account's account
  managers once at each mark (``flask contracts remind``, daily).

Every change is an audit event with the fields before and after. Inputs are plain
dataclasses so that the pages, the API, the file import and ``seed-demo`` share them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from babel import Locale
from babel.numbers import is_currency
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from docgen.formatting import plain_decimal, quantize_money
from docgen.i18n import LANGUAGES
from portal import audit
from portal.accounts import account_managers
from portal.i18n import is_valid_timezone
from portal.domain import DomainError
from portal.models import Account, Contract, PurchaseOrder, Role, ScopeLine, ServiceLocation, SlaTarget, Tier, User
from portal.models.contract import RENEWAL_NOTICE_DAYS, annual_value_of
from portal.notifications import Recipient, link, notify
from portal.security import unscoped
from portal.service_requests.service import PRIORITIES, ServiceLevel, service_levels

NAME_LENGTH, ADDRESS_LENGTH, TAX_ID_LENGTH, NUMBER_LENGTH, UNIT_LENGTH = 200, 500, 60, 40, 60
# Amounts and quantities are at most this (NumberField's limit too).
LARGEST = Decimal("1e15")
# The language a company of these countries is registered in: its name in that language,
# when given, is the account's ``name`` (else the English one).
REGISTERED_LANGUAGE = {"CN": "zh", "VN": "vi"}
COUNTRIES = frozenset(code for code in Locale("en").territories if len(code) == 2 and code.isalpha())


def _refuse(fields: dict[str, str], message: Any = None) -> None:
    if fields:
        raise DomainError(message or _l("Some fields are not valid."), fields=fields)


def _texts(value: dict[str, str] | str | None) -> dict[str, str]:
    """A text per language, blanks dropped; plain text is the English one."""
    if value is None:
        return {}
    if isinstance(value, str):
        value = {"en": value}
    return {lang: text.strip() for lang, text in value.items() if isinstance(text, str) and text.strip()}


def _check_texts(fields: dict[str, str], path: str, texts: dict[str, str], limit: int, *,
                 required: Sequence[str] = ()) -> None:
    for lang in texts:
        if lang not in LANGUAGES:
            fields.setdefault(f"{path}.{lang}", "not a language of the portal (en, zh, vi)")
        elif len(texts[lang]) > limit:
            fields.setdefault(f"{path}.{lang}", f"at most {limit} characters")
    for lang in required:
        if not texts.get(lang):
            fields.setdefault(f"{path}.{lang}", "required")


def _taken(session: Session, query: sa.Select) -> bool:
    """Whether any account has a row the query finds. Contract numbers are unique across
    all accounts, not only those the caller sees: looked up in the caller's scope alone,
    another account's would pass and the insert then fail."""
    with unscoped():
        return session.scalar(query.limit(1)) is not None


def can_manage(user: User, account: Account) -> bool:
    """The administrator, and the account managers assigned to the account."""
    return user.role is Role.ADMIN or (user.role is Role.ACCOUNT_MANAGER and account.id in user.account_ids)


def _require_manager(user: User, account: Account) -> None:
    if not can_manage(user, account):
        raise DomainError(_l("Only an administrator or the account's account managers change its details."),
                          status=403)


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {key: {"before": before.get(key), "after": after[key]} for key in after if before.get(key) != after[key]}


# --- accounts --------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountDetails:
    """What an account is: its legal name per language (English required, and one in
    each of its document languages), where and how it is served, and who signs for it."""

    name: dict[str, str]
    country: str
    timezone: str
    currency: str
    tier: Tier = Tier.STANDARD
    document_languages: tuple[str, ...] = ("en",)
    approval_threshold: Decimal = Decimal("50000")
    address: dict[str, str] = field(default_factory=dict)
    tax_id: str = ""
    representative_name: dict[str, str] = field(default_factory=dict)
    representative_title: dict[str, str] = field(default_factory=dict)
    # The language that prevails in a bilingual document (one of the document languages).
    prevailing_language: str | None = None
    # The document languages (zh, vi) its regional reviewer approves before issue.
    review_languages: tuple[str, ...] = ()

    @classmethod
    def of(cls, account: Account) -> AccountDetails:
        return cls(name=account.names, country=account.country, timezone=account.timezone, currency=account.currency,
                   tier=account.tier, document_languages=tuple(account.document_languages),
                   approval_threshold=account.cr_approval_threshold, address=dict(account.address),
                   tax_id=account.tax_id, representative_name=dict(account.representative_name),
                   representative_title=dict(account.representative_title),
                   prevailing_language=account.prevailing_language,
                   review_languages=tuple(account.review_languages or ()))

    def changed(self, **changes: Any) -> AccountDetails:
        """These details with some replaced (a PATCH, a form that edits a part)."""
        return replace(self, **changes)


def _account_values(session: Session, details: AccountDetails, account: Account | None) -> dict[str, Any]:
    """The account's columns from ``details``, or ``DomainError`` naming each bad field."""
    fields: dict[str, str] = {}
    name, address = _texts(details.name), _texts(details.address)
    languages = tuple(dict.fromkeys(details.document_languages))
    if not languages:
        fields["document_languages"] = "choose at least one"
    elif any(lang not in LANGUAGES for lang in languages):
        fields["document_languages"] = "each one of en, zh, vi"
    elif len(languages) > 2:
        fields["document_languages"] = "at most two"
    prevailing = details.prevailing_language or None
    if prevailing is not None and prevailing not in languages:
        fields["prevailing_language"] = "one of the account's document languages"
    reviewed = tuple(dict.fromkeys(details.review_languages))
    if any(lang not in ("zh", "vi") or lang not in languages for lang in reviewed):
        fields["review_languages"] = "zh or vi, among the account's document languages"
    _check_texts(fields, "name", name, NAME_LENGTH, required=("en", *[l for l in languages if l in LANGUAGES]))
    _check_texts(fields, "address", address, ADDRESS_LENGTH)
    representative_name = _texts(details.representative_name)
    representative_title = _texts(details.representative_title)
    _check_texts(fields, "representative.name", representative_name, NAME_LENGTH)
    _check_texts(fields, "representative.title", representative_title, NAME_LENGTH)
    if representative_title and not representative_name:
        fields.setdefault("representative.name", "required with a title")
    country = (details.country or "").strip().upper()
    if country not in COUNTRIES:
        fields["country"] = "not an ISO 3166 country code"
    if not is_valid_timezone(details.timezone or ""):
        fields["timezone"] = "not a time zone (e.g. Asia/Shanghai)"
    currency = (details.currency or "").strip().upper()
    if not (currency.isascii() and len(currency) == 3 and is_currency(currency)):
        fields["currency"] = "not an ISO 4217 currency code"
    threshold = details.approval_threshold
    if not isinstance(threshold, Decimal) or not threshold.is_finite() or threshold < 0 or threshold >= LARGEST:
        fields["approval_threshold"] = "a positive amount"
    tax_id = (details.tax_id or "").strip()
    if len(tax_id) > TAX_ID_LENGTH:
        fields["tax_id"] = f"at most {TAX_ID_LENGTH} characters"
    language = REGISTERED_LANGUAGE.get(country, "en")
    language = language if name.get(language) else "en"
    registered = name.get(language, "")
    # No two accounts share a name in any language (a company is one company), whichever
    # accounts the caller sees (the unique index would otherwise refuse it as a 500).
    with unscoped():
        others = session.execute(sa.select(Account.name, Account.legal_names)
                                 .where(Account.id != (account.id if account else None))).all()
    taken = {text.casefold() for other, names in others for text in (other, *(names or {}).values())}
    for lang, text in name.items():
        if text.casefold() in taken and f"name.{lang}" not in fields:
            fields[f"name.{lang}"] = "an account with this name exists"
    _refuse(fields)
    return {
        "name": registered, "legal_names": name,
        "country": country, "timezone": details.timezone, "currency": currency, "tier": Tier(details.tier),
        "document_languages": list(languages), "cr_approval_threshold": quantize_money(threshold, currency),
        "address": address, "tax_id": tax_id, "representative_name": representative_name,
        "representative_title": representative_title, "prevailing_language": prevailing,
        "review_languages": list(reviewed),
    }


def _account_json(values: dict[str, Any]) -> dict[str, Any]:
    return {key: plain_decimal(value) if isinstance(value, Decimal) else
            value.value if isinstance(value, Tier) else value for key, value in values.items()}


def create_account(session: Session, by: User, details: AccountDetails) -> Account:
    """A new client account (administrators only)."""
    if by.role is not Role.ADMIN:
        raise DomainError(_l("Only an administrator creates accounts."), status=403)
    values = _account_values(session, details, None)
    account = Account(**values)
    session.add(account)
    session.flush()
    audit.record(session, "account.created", account, account_id=account.id, actor=by,
                 data={"after": _account_json(values)})
    return account


def update_account(session: Session, account: Account, by: User, details: AccountDetails) -> Account:
    """Save the account's details; the audit event holds each changed field before and after."""
    _require_manager(by, account)
    before = _account_json({**{key: getattr(account, key) for key in _ACCOUNT_COLUMNS}, "legal_names": account.names})
    values = _account_values(session, details, account)
    changes = _changes(before, _account_json(values))
    if changes:
        for key, value in values.items():
            setattr(account, key, value)
        session.flush()
        audit.record(session, "account.updated", account, account_id=account.id, actor=by, data={"changed": changes})
    return account


_ACCOUNT_COLUMNS = ("name", "legal_names", "country", "timezone", "currency", "tier", "document_languages",
                    "cr_approval_threshold", "address", "tax_id", "representative_name", "representative_title",
                    "prevailing_language", "review_languages")


# --- contracts -------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeLineDetails:
    """A contracted service; ``id`` names a line the contract has (kept, maybe edited)."""

    service: dict[str, str]
    quantity: Decimal
    unit: str
    unit_price: Decimal
    id: int | None = None


@dataclass(frozen=True)
class LocationDetails:
    country: str
    entity_name: str = ""


@dataclass(frozen=True)
class ContractDetails:
    number: str
    title: dict[str, str]
    start_date: date
    end_date: date
    currency: str
    signed_on: date | None = None
    governing_law: dict[str, str] = field(default_factory=dict)
    scope_lines: tuple[ScopeLineDetails, ...] = ()
    locations: tuple[LocationDetails, ...] = ()
    # The annual contract value; without it, the sum of the scope lines.
    annual_value: Decimal | None = None
    # The language that prevails in its bilingual documents; without it, the account's.
    prevailing_language: str | None = None

    @classmethod
    def of(cls, contract: Contract) -> ContractDetails:
        return cls(number=contract.number, title=dict(contract.title), start_date=contract.start_date,
                   end_date=contract.end_date, currency=contract.currency, signed_on=contract.signed_on,
                   governing_law=dict(contract.governing_law),
                   scope_lines=tuple(ScopeLineDetails(dict(line.service), line.quantity, line.unit, line.unit_price,
                                                      line.id) for line in contract.active_scope_lines),
                   locations=tuple(LocationDetails(loc.country, loc.entity_name) for loc in contract.locations),
                   annual_value=contract.annual_value, prevailing_language=contract.prevailing_language)

    def changed(self, **changes: Any) -> ContractDetails:
        return replace(self, **changes)


def _amount(fields: dict[str, str], path: str, value: Any, *, positive: bool = False) -> Decimal | None:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        fields.setdefault(path, "not a number")
        return None
    if not amount.is_finite() or amount < 0 or (positive and amount == 0) or amount >= LARGEST:
        fields.setdefault(path, "a positive number" if positive else "zero or more")
        return None
    return amount


def _contract_values(session: Session, account: Account, details: ContractDetails,
                     contract: Contract | None) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The contract's columns, its scope lines' and its locations' from ``details``,
    or ``DomainError`` naming each bad field."""
    fields: dict[str, str] = {}
    number = (details.number or "").strip()
    if not number:
        fields["number"] = "required"
    elif len(number) > NUMBER_LENGTH:
        fields["number"] = f"at most {NUMBER_LENGTH} characters"
    elif _taken(session, sa.select(Contract.id).where(Contract.number == number,
                                                      Contract.id != (contract.id if contract else None))):
        fields["number"] = "a contract with this number exists"
    title, law = _texts(details.title), _texts(details.governing_law)
    languages = [lang for lang in account.document_languages if lang in LANGUAGES]
    _check_texts(fields, "title", title, NAME_LENGTH, required=("en", *languages))
    _check_texts(fields, "governing_law", law, NAME_LENGTH)
    currency = (details.currency or "").strip().upper()
    if not (currency.isascii() and len(currency) == 3 and is_currency(currency)):
        fields["currency"] = "not an ISO 4217 currency code"
        currency = "USD"  # to check the amounts below all the same
    if details.end_date < details.start_date:
        fields["end_date"] = "before the start date"
    if details.signed_on is not None and details.signed_on > details.end_date:
        fields["signed_on"] = "after the end date"
    elif details.signed_on is None and contract is not None and contract.signed:
        # Else its scope could be edited here by unsigning it first, then signing it again.
        fields["signed_on"] = "a signed contract stays signed"
    lines: list[dict[str, Any]] = []
    known = {line.id for line in contract.active_scope_lines} if contract else set()
    seen: set[int] = set()
    for i, line in enumerate(details.scope_lines):
        path = f"scope_lines.{i}"
        service = _texts(line.service)
        _check_texts(fields, f"{path}.service", service, ADDRESS_LENGTH, required=("en", *languages))
        unit = (line.unit or "").strip()
        if not unit:
            fields.setdefault(f"{path}.unit", "required")
        elif len(unit) > UNIT_LENGTH:
            fields.setdefault(f"{path}.unit", f"at most {UNIT_LENGTH} characters")
        quantity = _amount(fields, f"{path}.quantity", line.quantity, positive=True)
        price = _amount(fields, f"{path}.unit_price", line.unit_price)
        if line.id is not None and (line.id not in known or line.id in seen):
            fields.setdefault(f"{path}.id", "not a scope line of this contract" if line.id not in known
                              else "listed twice")
        if line.id is not None:
            seen.add(line.id)
        lines.append({"id": line.id, "service": service, "unit": unit, "quantity": quantity,
                      "unit_price": quantize_money(price, currency) if price is not None else None})
    locations: list[dict[str, Any]] = []
    for i, location in enumerate(details.locations):
        country = (location.country or "").strip().upper()
        if country not in COUNTRIES:
            fields.setdefault(f"locations.{i}.country", "not an ISO 3166 country code")
        elif any(loc["country"] == country for loc in locations):
            fields.setdefault(f"locations.{i}.country", "listed twice")
        entity = (location.entity_name or "").strip()
        if len(entity) > NAME_LENGTH:
            fields.setdefault(f"locations.{i}.entity_name", f"at most {NAME_LENGTH} characters")
        locations.append({"country": country, "entity_name": entity})
    annual = None if details.annual_value is None else _amount(fields, "annual_value", details.annual_value)
    prevailing = details.prevailing_language or None
    if prevailing is not None and prevailing not in languages:
        fields["prevailing_language"] = "one of the account's document languages"
    _refuse(fields)
    annual = (annual_value_of(((line["quantity"], line["unit_price"]) for line in lines), currency) if annual is None
              else quantize_money(annual, currency))
    values = {"number": number, "title": title, "governing_law": law, "currency": currency,
              "start_date": details.start_date, "end_date": details.end_date, "signed_on": details.signed_on,
              "annual_value": annual, "prevailing_language": prevailing}
    return values, lines, locations


def _contract_json(values: dict[str, Any]) -> dict[str, Any]:
    return {key: plain_decimal(value) if isinstance(value, Decimal) else
            value.isoformat() if isinstance(value, date) else value for key, value in values.items()}


def _line_json(line: ScopeLine | dict[str, Any]) -> dict[str, Any]:
    get = line.get if isinstance(line, dict) else lambda key: getattr(line, key)
    return {"id": get("id"), "service": get("service"), "unit": get("unit"),
            "quantity": plain_decimal(get("quantity")), "unit_price": plain_decimal(get("unit_price"))}


def create_contract(session: Session, account: Account, by: User, details: ContractDetails) -> Contract:
    """A contract of the account with its scope lines (in their order) and locations."""
    _require_manager(by, account)
    values, lines, locations = _contract_values(session, account, details, None)
    contract = Contract(account_id=account.id, **values)
    contract.scope_lines = [
        ScopeLine(account_id=account.id, position=i, service=line["service"], unit=line["unit"],
                  quantity=line["quantity"], unit_price=line["unit_price"], added_on=details.start_date)
        for i, line in enumerate(lines)]
    contract.locations = [ServiceLocation(account_id=account.id, **location) for location in locations]
    session.add(contract)
    session.flush()
    audit.record(session, "contract.created", contract, account_id=account.id, actor=by,
                 data={"after": {**_contract_json(values), "scope_lines": [_line_json(l) for l in contract.scope_lines],
                                 "locations": locations}})
    return contract


def update_contract(session: Session, contract: Contract, account: Account, by: User,
                    details: ContractDetails) -> Contract:
    """Save the contract. Lines named by id keep it; lines without one are added; on an
    unsigned contract, lines left out are dropped. A signed contract's scope is not
    changed here: a change request changes it, so its lines must come back as they are."""
    _require_manager(by, account)
    values, lines, locations = _contract_values(session, account, details, contract)
    before_lines = [_line_json(line) for line in contract.active_scope_lines]
    after_lines = [{**_line_json(line), "id": line["id"]} for line in lines]
    if contract.signed and [dict(l, id=None) for l in after_lines] != [dict(l, id=None) for l in before_lines]:
        raise DomainError(_l("This contract is signed: its scope changes only by a change request."),
                          fields={"scope_lines": "changed on a signed contract"})
    before = {**_contract_json({key: getattr(contract, key) for key in values}),
              "locations": [{"country": l.country, "entity_name": l.entity_name} for l in contract.locations]}
    changes = _changes(before, {**_contract_json(values), "locations": locations})
    if before_lines != after_lines:
        changes["scope_lines"] = {"before": before_lines, "after": after_lines}
    if not changes:
        return contract
    if values["end_date"] != contract.end_date:
        contract.renewal_notice_days = None
    for key, value in values.items():
        setattr(contract, key, value)
    if not contract.signed:
        by_id = {line.id: line for line in contract.scope_lines}
        kept = []
        for i, line in enumerate(lines):
            row = by_id.pop(line["id"]) if line["id"] is not None else ScopeLine(account_id=account.id)
            row.position, row.service, row.unit = i, line["service"], line["unit"]
            row.quantity, row.unit_price, row.added_on = line["quantity"], line["unit_price"], values["start_date"]
            kept.append(row)
        contract.scope_lines = kept  # lines left out are deleted (delete-orphan): never in force
    existing = {loc.country: loc for loc in contract.locations}
    contract.locations = [existing.get(loc["country"]) or ServiceLocation(account_id=account.id, country=loc["country"])
                          for loc in locations]
    for row, location in zip(contract.locations, locations):
        row.entity_name = location["entity_name"]
    session.flush()
    audit.record(session, "contract.updated", contract, account_id=account.id, actor=by, data={"changed": changes})
    return contract


# --- purchase orders ---------------------------------------------------------------------


@dataclass(frozen=True)
class PurchaseOrderDetails:
    number: str
    amount: Decimal
    currency: str
    issued_on: date
    valid_until: date | None = None
    description: str = ""
    contract_id: int | None = None

    @classmethod
    def of(cls, order: PurchaseOrder) -> PurchaseOrderDetails:
        return cls(number=order.number, amount=order.amount, currency=order.currency, issued_on=order.issued_on,
                   valid_until=order.valid_until, description=order.description, contract_id=order.contract_id)

    def changed(self, **changes: Any) -> PurchaseOrderDetails:
        return replace(self, **changes)


def save_purchase_order(session: Session, account: Account, by: User, details: PurchaseOrderDetails,
                        order: PurchaseOrder | None = None) -> PurchaseOrder:
    """Add a PO to the account's register, or correct one. Invoices draw it down by its number."""
    _require_manager(by, account)
    fields: dict[str, str] = {}
    number = (details.number or "").strip()
    if not number:
        fields["number"] = "required"
    elif len(number) > 60:
        fields["number"] = "at most 60 characters"
    elif session.scalar(sa.select(PurchaseOrder.id).where(
            PurchaseOrder.account_id == account.id, PurchaseOrder.number == number,
            PurchaseOrder.id != (order.id if order else None))) is not None:
        fields["number"] = "this account has a PO with this number"
    currency = (details.currency or "").strip().upper()
    if not (currency.isascii() and len(currency) == 3 and is_currency(currency)):
        fields["currency"] = "not an ISO 4217 currency code"
        currency = "USD"
    amount = _amount(fields, "amount", details.amount, positive=True)
    if details.valid_until is not None and details.valid_until < details.issued_on:
        fields["valid_until"] = "before the issue date"
    if details.contract_id is not None and session.scalar(sa.select(Contract.id).where(
            Contract.id == details.contract_id, Contract.account_id == account.id)) is None:
        fields["contract_id"] = "not a contract of this account"
    if len(details.description or "") > 300:
        fields["description"] = "at most 300 characters"
    _refuse(fields)
    values = {"number": number, "amount": quantize_money(amount, currency), "currency": currency,
              "issued_on": details.issued_on, "valid_until": details.valid_until,
              "description": (details.description or "").strip(), "contract_id": details.contract_id}
    before = None if order is None else _contract_json({key: getattr(order, key) for key in values})
    if order is None:
        order = PurchaseOrder(account_id=account.id)
        session.add(order)
    for key, value in values.items():
        setattr(order, key, value)
    session.flush()
    audit.record(session, "purchase_order.saved", order, account_id=account.id, actor=by,
                 data={"before": before, "after": _contract_json(values)})
    return order


# --- service levels ------------------------------------------------------------------------


LONGEST_TARGET_MINUTES = 90 * 24 * 60  # more than three months to answer is a slip of the keyboard


def set_service_levels(session: Session, contract: Contract, account: Account, by: User,
                       levels: Sequence[ServiceLevel]) -> None:
    """Set the contract's targets for every priority at once (its SLA: minutes to the
    first response and to resolution, on business hours or around the clock). Requests
    opened from then on run on them; the audit event holds them before and after. A
    problem is named by ``<priority>_first`` or ``<priority>_resolution``, as the page's
    fields are."""
    _require_manager(by, account)
    given = {level.priority: level for level in levels}
    fields: dict[str, str] = {} if len(given) == len(levels) else {"levels": "listed twice"}
    for priority in PRIORITIES:
        level = given.get(priority)
        if level is None:
            fields[f"{priority}_first"] = "required"
            continue
        for key, minutes in (("first", level.first_response_minutes), ("resolution", level.resolution_minutes)):
            if minutes <= 0:
                fields[f"{priority}_{key}"] = "a positive number"
            elif minutes > LONGEST_TARGET_MINUTES:
                fields[f"{priority}_{key}"] = "out of range"
        if not fields.keys() & {f"{priority}_first", f"{priority}_resolution"} \
                and level.resolution_minutes < level.first_response_minutes:
            fields[f"{priority}_resolution"] = "shorter than the first response"
    _refuse(fields)
    before = service_levels(contract)
    rows = {row.priority: row for row in contract.sla_targets}
    for priority in PRIORITIES:
        row = rows.get(priority)
        if row is None:
            row = SlaTarget(account_id=account.id, priority=priority)
            contract.sla_targets.append(row)
        level = given[priority]
        row.first_response_minutes, row.resolution_minutes = level.first_response_minutes, level.resolution_minutes
        row.business_hours = level.business_hours
    session.flush()
    audit.record(session, "contract.service_levels_saved", contract, account_id=account.id, actor=by,
                 data={"before": [level_json(level) for level in before],
                       "after": [level_json(given[priority]) for priority in PRIORITIES]})


def level_json(level: ServiceLevel) -> dict[str, Any]:
    """A priority's targets as the audit trail and the API give them."""
    return {"priority": str(level.priority), "first_response_minutes": level.first_response_minutes,
            "resolution_minutes": level.resolution_minutes, "business_hours": level.business_hours,
            "standard": level.standard}


# --- renewals ------------------------------------------------------------------------------


def due_notice(contract: Contract, today: date) -> int | None:
    """The reminder (90, 60 or 30 days) the contract is due on ``today``, if any: the
    smallest mark it has passed and not yet been reminded of."""
    left = (contract.end_date - today).days
    if left < 0 or today < contract.start_date:
        return None
    passed = [days for days in RENEWAL_NOTICE_DAYS if left <= days]
    if not passed:
        return None
    mark = min(passed)
    return mark if contract.renewal_notice_days is None or mark < contract.renewal_notice_days else None


def remind_renewals(session: Session) -> int:
    """Remind the account managers of each contract that reached a renewal mark (in
    its account's today); each mark once. Returns the reminders sent.

    A contract whose account has no active account manager is not marked: nobody was
    told, so the reminder goes on the first run after a manager is assigned."""
    sent = 0
    horizon = date.today().toordinal() + RENEWAL_NOTICE_DAYS[0] + 1
    contracts = session.scalars(
        sa.select(Contract).join(Account, Account.id == Contract.account_id)
        .where(Contract.end_date <= date.fromordinal(horizon)).order_by(Contract.end_date, Contract.id))
    for contract in contracts:
        account = contract.account
        mark = due_notice(contract, account.today())
        if mark is None:
            continue
        managers = account_managers(session, account)
        if not managers:
            continue
        contract.renewal_notice_days = mark
        notify(session, "contract_ending", [Recipient.of_user(u) for u in managers], account_id=account.id,
               account=account, contract=contract, days=(contract.end_date - account.today()).days,
               url=link(f"/accounts/{account.id}/contracts/{contract.id}"))
        audit.record(session, "contract.renewal_reminded", contract, account_id=account.id, actor=None,
                     data={"days": mark, "to": [u.email for u in managers]})
        sent += 1
    session.flush()
    return sent


__all__ = [
    "AccountDetails", "ContractDetails", "LocationDetails", "PurchaseOrderDetails", "ScopeLineDetails",
    "can_manage", "create_account", "create_contract", "due_notice", "remind_renewals",
    "save_purchase_order", "update_account", "update_contract",
]

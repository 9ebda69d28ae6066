"""Onboarding a client: ``POST /accounts``, ``PATCH /accounts/{id}``, the account's
contracts (``GET``/``POST /accounts/{id}/contracts``) and ``GET``/``PATCH /contracts/{id}``,
and its PO register (``GET``/``POST /accounts/{id}/purchase-orders``,
``PATCH /purchase-orders/{id}``).

Each body is the services' input (``portal.onboarding.service``): a PATCH merges the
fields it names onto what the account or contract is, and the service checks the
whole, naming each bad field by its path (``name.vi``, ``scope_lines.0.quantity``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from flask_login import current_user
from pydantic import BaseModel, Field
from sqlalchemy.orm import selectinload

from docgen.formatting import plain_decimal
from portal.api import bp
from portal.api.accounts import AccountOut, account_json
from portal.api.change_requests import Text, _texts
from portal.api.common import PAGE_QUERY, iso_date, money, paginate, route
from portal.extensions import db
from portal.billing.service import purchase_orders
from portal.models import Account, Contract, Priority, PurchaseOrder, Role, Tier
from portal.onboarding import service
from portal.onboarding.forms import details_of
from portal.onboarding.service import (AccountDetails, ContractDetails, LocationDetails, PurchaseOrderDetails,
                                       ScopeLineDetails)
from portal.security import FIRM_STAFF, ISSUERS
from portal.service_requests.service import ServiceLevel, service_levels

Languages = list[Literal["en", "zh", "vi"]]


class RepresentativeIn(BaseModel):
    """The client's legal representative: name and title, each text or per language."""

    name: Text | None = None
    title: Text | None = None


class AccountIn(BaseModel):
    name: Text
    country: str = Field(max_length=10)
    tier: Literal["strategic", "key", "standard"] = "standard"
    timezone: str = Field(max_length=64)
    currency: str = Field(max_length=10)
    document_languages: Languages = Field(default=["en"], max_length=3)
    approval_threshold: Decimal = Field(default=Decimal("50000"), description="A decimal string, e.g. \"50000.00\"")
    address: Text | None = None
    tax_id: str = Field(default="", max_length=200)
    representative: RepresentativeIn | None = None
    prevailing_language: Literal["en", "zh", "vi"] | None = Field(
        default=None, description="The language that prevails in a bilingual document: one of document_languages")
    review_languages: list[Literal["zh", "vi"]] = Field(
        default=[], max_length=2, description="Document languages whose documents the account's regional reviewer "
                                              "of that language approves before they are issued")


class AccountPatch(BaseModel):
    """Any of ``AccountIn``'s fields; those left out stay as they are."""

    name: Text | None = None
    country: str | None = Field(default=None, max_length=10)
    tier: Literal["strategic", "key", "standard"] | None = None
    timezone: str | None = Field(default=None, max_length=64)
    currency: str | None = Field(default=None, max_length=10)
    document_languages: Languages | None = Field(default=None, max_length=3)
    approval_threshold: Decimal | None = None
    address: Text | None = None
    tax_id: str | None = Field(default=None, max_length=200)
    representative: RepresentativeIn | None = None
    prevailing_language: Literal["en", "zh", "vi"] | None = Field(default=None, description="null: none")
    review_languages: list[Literal["zh", "vi"]] | None = Field(default=None, max_length=2)


class LocationIn(BaseModel):
    country: str = Field(max_length=10)
    entity_name: str = Field(default="", max_length=1000)


class ScopeLineIn(BaseModel):
    id: int | None = Field(default=None, description="A line of the contract, kept (and maybe changed); "
                                                     "without it, a new line")
    service: Text
    quantity: Decimal
    unit: str = Field(max_length=200)
    unit_price: Decimal


class ContractIn(BaseModel):
    number: str = Field(max_length=200)
    title: Text
    signed_on: date | None = None
    start_date: date
    end_date: date
    currency: str = Field(max_length=10)
    governing_law: Text | None = None
    locations: list[LocationIn] = Field(default=[], max_length=100)
    scope_lines: list[ScopeLineIn] = Field(default=[], max_length=500)
    annual_value: Decimal | None = Field(default=None, description="Without it, the sum of the scope lines")
    prevailing_language: Literal["en", "zh", "vi"] | None = Field(
        default=None, description="The language that prevails in its bilingual documents, over the account's")


class ContractPatch(BaseModel):
    """Any of ``ContractIn``'s fields; ``scope_lines`` lists every line the contract
    keeps (by ``id``) or adds (without one); a signed contract's lines only as they are."""

    number: str | None = Field(default=None, max_length=200)
    title: Text | None = None
    signed_on: date | None = None
    start_date: date | None = None
    end_date: date | None = None
    currency: str | None = Field(default=None, max_length=10)
    governing_law: Text | None = None
    locations: list[LocationIn] | None = Field(default=None, max_length=100)
    scope_lines: list[ScopeLineIn] | None = Field(default=None, max_length=500)
    annual_value: Decimal | None = None
    prevailing_language: Literal["en", "zh", "vi"] | None = Field(default=None, description="null: the account's")


class LocationOut(BaseModel):
    country: str
    entity_name: str


class ScopeLineOut(BaseModel):
    id: int
    service: dict[str, str]
    quantity: str
    unit: str
    unit_price: str
    active: bool


PriorityName = Literal["urgent", "high", "normal", "low"]


class ServiceLevelOut(BaseModel):
    priority: PriorityName
    first_response_minutes: int
    resolution_minutes: int
    business_hours: bool = Field(description="Counted on the account's working days and hours, else around the clock")
    standard: bool = Field(description="The portal's standard target: the contract sets none for this priority")


class ContractOut(BaseModel):
    id: int
    account_id: int
    number: str
    title: dict[str, str]
    signed_on: str | None
    start_date: str
    end_date: str
    currency: str
    governing_law: dict[str, str]
    state: Literal["upcoming", "active", "ending_soon", "expired"]
    annual_value: str
    prevailing_language: str | None
    locations: list[LocationOut]
    scope_lines: list[ScopeLineOut]
    service_levels: list[ServiceLevelOut] = Field(description="Each priority's targets, most urgent first")


class ServiceLevelIn(BaseModel):
    priority: PriorityName
    first_response_minutes: int
    resolution_minutes: int
    business_hours: bool = True


class ServiceLevelsIn(BaseModel):
    levels: list[ServiceLevelIn] = Field(description="Every priority once", max_length=4)


class ContractList(BaseModel):
    items: list[ContractOut]
    next_cursor: str | None


# --- accounts ------------------------------------------------------------------------


def _account_changes(body: BaseModel) -> dict[str, Any]:
    """The ``AccountDetails`` fields the body gives (a PATCH: only those it names)."""
    given = body.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("country", "timezone", "currency", "tax_id"):
        if name in given and getattr(body, name) is not None:
            changes[name] = getattr(body, name)
    if "name" in given and body.name is not None:
        changes["name"] = _texts(body.name)
    if "tier" in given and body.tier is not None:
        changes["tier"] = Tier(body.tier)
    if "document_languages" in given and body.document_languages is not None:
        changes["document_languages"] = tuple(body.document_languages)
    if "approval_threshold" in given and body.approval_threshold is not None:
        changes["approval_threshold"] = body.approval_threshold
    if "address" in given:
        changes["address"] = _texts(body.address)
    if "prevailing_language" in given:  # null: none
        changes["prevailing_language"] = body.prevailing_language
    if "review_languages" in given and body.review_languages is not None:
        changes["review_languages"] = tuple(body.review_languages)
    if "representative" in given:
        representative = body.representative
        if representative is None:  # null: no representative
            changes["representative_name"], changes["representative_title"] = {}, {}
        else:
            for part in ("name", "title"):
                if part in representative.model_fields_set:
                    changes[f"representative_{part}"] = _texts(getattr(representative, part))
    return changes


@route(bp, "/accounts", "POST", "Create a client account (name, representative's name and title: text or per "
       "language)", roles=(Role.ADMIN,), body=AccountIn, response=AccountOut, status=201, tag="accounts")
def create_account(body: AccountIn):
    details = AccountDetails(name={}, country="", timezone="", currency="", approval_threshold=body.approval_threshold)
    account = service.create_account(db.session, current_user, details.changed(**_account_changes(body)))
    return account_json(account), 201


@route(bp, "/accounts/<int:account_id>", "PATCH", "Change an account's details: any of POST /accounts' fields",
       roles=ISSUERS, body=AccountPatch, response=AccountOut, load={"account_id": Account}, tag="accounts")
def update_account(account: Account, body: AccountPatch):
    details = AccountDetails.of(account).changed(**_account_changes(body))
    return account_json(service.update_account(db.session, account, current_user, details))


# --- contracts -----------------------------------------------------------------------


def contract_json(contract: Contract, account: Account) -> dict:
    currency = contract.currency
    return {
        "id": contract.id, "account_id": contract.account_id, "number": contract.number, "title": contract.title,
        "signed_on": iso_date(contract.signed_on), "start_date": iso_date(contract.start_date),
        "end_date": iso_date(contract.end_date), "currency": currency, "governing_law": contract.governing_law,
        "state": contract.state(account.today()), "annual_value": money(contract.annual_value, currency),
        "prevailing_language": contract.prevailing_language,
        "locations": [{"country": loc.country, "entity_name": loc.entity_name} for loc in contract.locations],
        "scope_lines": [{"id": line.id, "service": line.service, "quantity": plain_decimal(line.quantity),
                         "unit": line.unit, "unit_price": money(line.unit_price, currency),
                         "active": line.removed_at is None} for line in contract.scope_lines],
        "service_levels": [service.level_json(level) for level in service_levels(contract)],
    }


def _lines(lines: list[ScopeLineIn]) -> tuple[ScopeLineDetails, ...]:
    return tuple(ScopeLineDetails(service=_texts(line.service), quantity=line.quantity, unit=line.unit,
                                  unit_price=line.unit_price, id=line.id) for line in lines)


def _contract_changes(body: BaseModel) -> dict[str, Any]:
    given = body.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("number", "start_date", "end_date", "currency"):
        if name in given and getattr(body, name) is not None:
            changes[name] = getattr(body, name)
    if "signed_on" in given:  # null: not signed
        changes["signed_on"] = body.signed_on
    for name in ("title", "governing_law"):
        if name in given:
            changes[name] = _texts(getattr(body, name))
    if "locations" in given and body.locations is not None:
        changes["locations"] = tuple(LocationDetails(loc.country, loc.entity_name) for loc in body.locations)
    if "scope_lines" in given and body.scope_lines is not None:
        changes["scope_lines"] = _lines(body.scope_lines)
    if "annual_value" in given:  # null: the sum of the scope lines
        changes["annual_value"] = body.annual_value
    if "prevailing_language" in given:  # null: the account's
        changes["prevailing_language"] = body.prevailing_language
    return changes


@route(bp, "/accounts/<int:account_id>/contracts", "GET", "The account's contracts, newest first", roles=FIRM_STAFF,
       response=ContractList, load={"account_id": Account}, tag="accounts", query=PAGE_QUERY)
def list_contracts(account: Account):
    query = (sa.select(Contract).where(Contract.account_id == account.id)
             .options(selectinload(Contract.scope_lines), selectinload(Contract.locations)))
    return paginate(db.session, query, [Contract.id], lambda contract: contract_json(contract, account))


@route(bp, "/accounts/<int:account_id>/contracts", "POST",
       "Add a contract with its scope lines and service locations (title, service: text or per language)",
       roles=ISSUERS, body=ContractIn, response=ContractOut, status=201, load={"account_id": Account}, tag="accounts")
def create_contract(account: Account, body: ContractIn):
    details = ContractDetails(number="", title={}, start_date=body.start_date, end_date=body.end_date, currency="")
    contract = service.create_contract(db.session, account, current_user, details.changed(**_contract_changes(body)))
    return contract_json(contract, account), 201


def _account_of(contract: Contract) -> Account:
    return db.session.scalar(sa.select(Account).where(Account.id == contract.account_id))


@route(bp, "/contracts/<int:contract_id>", "GET", "A contract with every scope line (removed ones inactive)",
       response=ContractOut, load={"contract_id": Contract}, tag="accounts")
def get_contract(contract: Contract):
    return contract_json(contract, _account_of(contract))


@route(bp, "/contracts/<int:contract_id>", "PATCH",
       "Change a contract: any of POST /accounts/{id}/contracts' fields; scope lines kept by id "
       "(a signed contract's scope changes only by change requests)",
       roles=ISSUERS, body=ContractPatch, response=ContractOut, load={"contract_id": Contract}, tag="accounts")
def update_contract(contract: Contract, body: ContractPatch):
    account = _account_of(contract)
    details = details_of(contract).changed(**_contract_changes(body))
    contract = service.update_contract(db.session, contract, account, current_user, details)
    return contract_json(contract, account)


@route(bp, "/contracts/<int:contract_id>/service-levels", "PUT",
       "Set a contract's service levels: for every priority, minutes to the first response and to resolution, "
       "on business hours or around the clock (problems named <priority>_first or <priority>_resolution)",
       roles=ISSUERS, body=ServiceLevelsIn, response=ContractOut, load={"contract_id": Contract}, tag="accounts")
def set_service_levels(contract: Contract, body: ServiceLevelsIn):
    account = _account_of(contract)
    service.set_service_levels(db.session, contract, account, current_user, [
        ServiceLevel(Priority(level.priority), level.first_response_minutes, level.resolution_minutes,
                     level.business_hours) for level in body.levels])
    return contract_json(contract, account)


# --- purchase orders -----------------------------------------------------------------


class PurchaseOrderIn(BaseModel):
    number: str = Field(max_length=200)
    amount: Decimal = Field(description="A decimal string, e.g. \"50000.00\"")
    currency: str | None = Field(default=None, max_length=10, description="Without it, the account's")
    issued_on: date | None = Field(default=None, description="Without it, the account's today")
    valid_until: date | None = None
    description: str = Field(default="", max_length=1000)
    contract_id: int | None = Field(default=None, description="The account's contract the PO covers, if one")


class PurchaseOrderPatch(BaseModel):
    """Any of ``PurchaseOrderIn``'s fields; those left out stay as they are."""

    number: str | None = Field(default=None, max_length=200)
    amount: Decimal | None = None
    currency: str | None = Field(default=None, max_length=10)
    issued_on: date | None = None
    valid_until: date | None = Field(default=None, description="null: no end")
    description: str | None = Field(default=None, max_length=1000)
    contract_id: int | None = Field(default=None, description="null: no contract")


class PurchaseOrderOut(BaseModel):
    id: int
    account_id: int
    number: str
    description: str
    contract_id: int | None
    currency: str
    amount: str
    issued_on: str
    valid_until: str | None
    invoiced: str = Field(description="Invoiced against it (invoices with its number), net of credit notes")
    remaining: str = Field(description="amount less invoiced: negative when overdrawn")


class PurchaseOrderList(BaseModel):
    items: list[PurchaseOrderOut]
    next_cursor: str | None


def _balances(account: Account) -> dict[int, Decimal]:
    """What has been invoiced against each of the account's POs, by PO id."""
    return {balance.order.id: balance.invoiced for balance in purchase_orders(db.session, account)}


def purchase_order_json(order: PurchaseOrder, invoiced: Decimal) -> dict:
    currency = order.currency
    return {
        "id": order.id, "account_id": order.account_id, "number": order.number, "description": order.description,
        "contract_id": order.contract_id, "currency": currency, "amount": money(order.amount, currency),
        "issued_on": iso_date(order.issued_on), "valid_until": iso_date(order.valid_until),
        "invoiced": money(invoiced, currency), "remaining": money(order.amount - invoiced, currency),
    }


def _saved(order: PurchaseOrder, account: Account) -> dict:
    return purchase_order_json(order, _balances(account).get(order.id, Decimal(0)))


def _purchase_order_changes(body: BaseModel) -> dict[str, Any]:
    given = body.model_fields_set
    changes: dict[str, Any] = {}
    for name in ("number", "amount", "currency", "issued_on", "description"):
        if name in given and getattr(body, name) is not None:
            changes[name] = getattr(body, name)
    for name in ("valid_until", "contract_id"):  # null: none
        if name in given:
            changes[name] = getattr(body, name)
    return changes


@route(bp, "/accounts/<int:account_id>/purchase-orders", "GET",
       "The account's PO register, latest issued first, with what each has been invoiced and what remains",
       roles=FIRM_STAFF, response=PurchaseOrderList, load={"account_id": Account}, tag="accounts", query=PAGE_QUERY)
def list_purchase_orders(account: Account):
    balances = _balances(account)
    query = sa.select(PurchaseOrder).where(PurchaseOrder.account_id == account.id)
    return paginate(db.session, query, [PurchaseOrder.issued_on, PurchaseOrder.id],
                    lambda order: purchase_order_json(order, balances.get(order.id, Decimal(0))))


@route(bp, "/accounts/<int:account_id>/purchase-orders", "POST", "Add a PO to the account's register",
       roles=ISSUERS, body=PurchaseOrderIn, response=PurchaseOrderOut, status=201, load={"account_id": Account},
       tag="accounts")
def create_purchase_order(account: Account, body: PurchaseOrderIn):
    blank = PurchaseOrderDetails(number="", amount=body.amount, currency=account.currency, issued_on=account.today())
    order = service.save_purchase_order(db.session, account, current_user,
                                        blank.changed(**_purchase_order_changes(body)))
    return _saved(order, account), 201


@route(bp, "/purchase-orders/<int:purchase_order_id>", "PATCH",
       "Correct a PO of the register: any of POST /accounts/{id}/purchase-orders' fields",
       roles=ISSUERS, body=PurchaseOrderPatch, response=PurchaseOrderOut, load={"purchase_order_id": PurchaseOrder},
       tag="accounts")
def update_purchase_order(purchase_order: PurchaseOrder, body: PurchaseOrderPatch):
    account = db.session.scalar(sa.select(Account).where(Account.id == purchase_order.account_id))
    details = PurchaseOrderDetails.of(purchase_order).changed(**_purchase_order_changes(body))
    order = service.save_purchase_order(db.session, account, current_user, details, purchase_order)
    return _saved(order, account)

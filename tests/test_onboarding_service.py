"""Onboarding as services: an account and its contracts made and edited by the
administrator or the account's managers only, each problem named by field, scope line
ids kept across edits, a signed contract's scope left to change requests, the PO
register, and renewal reminders once at 90, 60 and 30 days."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.domain import DomainError
from portal.models import Contract, Tier
from portal.onboarding import service
from portal.onboarding.service import AccountDetails, ContractDetails, LocationDetails, PurchaseOrderDetails, ScopeLineDetails
from portal.security import Scope, scoped_to
from tests.helpers import audit_events, manager_of, notifications


HANOI = AccountDetails(
    name={"en": "Song Hong Garment JSC", "vi": "Công ty Cổ phần May Sông Hồng"}, country="vn",
    timezone="Asia/Ho_Chi_Minh", currency="vnd", tier=Tier.KEY, document_languages=("en", "vi"),
    approval_threshold=Decimal("250000000.4"), address={"en": "105 Nguyen Du, Hanoi", "vi": "105 Nguyễn Du, Hà Nội"},
    tax_id="0101234567", representative_name={"en": "Nguyen Van An", "vi": "Nguyễn Văn An"},
    representative_title={"en": "General Director", "vi": "Tổng Giám đốc"})


def contract_details(**changes) -> ContractDetails:
    today = date.today()
    details = ContractDetails(
        number="MSA-SH-2027", title={"en": "Payroll services", "vi": "Dịch vụ tính lương"},
        start_date=today - timedelta(days=10), end_date=today + timedelta(days=720), currency="VND",
        governing_law={"en": "Laws of Vietnam", "vi": "Pháp luật Việt Nam"},
        scope_lines=(ScopeLineDetails({"en": "Payroll", "vi": "Tính lương"}, Decimal(1200), "payslip", Decimal("35000")),
                     ScopeLineDetails({"en": "Help desk", "vi": "Hỗ trợ"}, Decimal(12), "month", Decimal("9000000"))),
        locations=(LocationDetails("vn", "Song Hong Garment JSC"),))
    return details.changed(**changes)


def test_the_admin_creates_an_account_with_names_per_language_and_an_audit_event(session, admin):
    account = service.create_account(session, admin, HANOI)
    # Known by its registered (Vietnamese) name; in English and Chinese by the English one.
    assert account.name == "Công ty Cổ phần May Sông Hồng" and account.name_in("en") == "Song Hong Garment JSC"
    assert account.name_in("zh") == "Công ty Cổ phần May Sông Hồng"
    assert (account.country, account.currency, account.cr_approval_threshold) == ("VN", "VND", Decimal("250000000"))
    assert account.representative_title["vi"] == "Tổng Giám đốc"
    [event] = audit_events(session, "account.created")
    assert event.account_id == account.id and event.data["after"]["tax_id"] == "0101234567"


def test_every_bad_field_is_named_and_nothing_is_written(session, admin):
    bad = HANOI.changed(name={"en": " ", "zh": "x" * 201}, country="XX", timezone="Mars/Base", currency="ABC",
                        document_languages=("en", "fr"), approval_threshold=Decimal(-1))
    with pytest.raises(DomainError) as refused:
        service.create_account(session, admin, bad)
    assert set(refused.value.fields) >= {"name.en", "name.zh", "country", "timezone", "currency",
                                         "document_languages", "approval_threshold"}
    with pytest.raises(DomainError) as refused:
        service.create_account(session, admin, HANOI.changed(name={"en": "Song Hong Garment JSC"}))
    assert refused.value.fields == {"name.vi": "required"}  # a name in each document language


def test_only_the_admin_creates_and_only_its_managers_edit(session, admin, alpha, bravo):
    with pytest.raises(DomainError) as refused:
        service.create_account(session, manager_of(alpha), HANOI)
    assert refused.value.status == 403
    details = AccountDetails.of(alpha.account).changed(tax_id="GB123")
    with pytest.raises(DomainError):
        service.update_account(session, alpha.account, manager_of(bravo), details)
    service.update_account(session, alpha.account, manager_of(alpha), details)
    assert alpha.account.tax_id == "GB123"
    [event] = audit_events(session, "account.updated")
    assert event.data["changed"] == {"tax_id": {"before": "", "after": "GB123"}}


def test_a_taken_name_is_refused_whatever_its_case(session, admin, alpha):
    with pytest.raises(DomainError) as refused:
        service.create_account(session, admin, HANOI.changed(name={"en": "x", "vi": "ACCOUNT ALPHA"}))
    assert refused.value.fields == {"name.vi": "an account with this name exists"}
    british = HANOI.changed(country="GB", document_languages=("en",), name={"en": "account alpha", "vi": "Song Hong"})
    with pytest.raises(DomainError) as refused:
        service.create_account(session, admin, british)
    assert refused.value.fields == {"name.en": "an account with this name exists"}


def test_a_contract_keeps_its_scope_line_ids_across_edits(session, admin):
    account = service.create_account(session, admin, HANOI)
    contract = service.create_contract(session, account, admin, contract_details())
    payroll, desk = contract.scope_lines
    assert payroll.unit_price == Decimal("35000") and contract.annual_value == Decimal("150000000")
    edited = ContractDetails.of(contract).changed(scope_lines=(
        ScopeLineDetails(payroll.service, Decimal(1500), "payslip", Decimal("35000"), payroll.id),
        ScopeLineDetails({"en": "Audit", "vi": "Kiểm toán"}, Decimal(1), "year", Decimal("1")),
    ), annual_value=None)
    service.update_contract(session, contract, account, admin, edited)
    assert [line.id for line in contract.scope_lines][0] == payroll.id
    assert [line.quantity for line in contract.scope_lines] == [Decimal(1500), Decimal(1)]
    assert desk.id not in {line.id for line in contract.scope_lines}
    [event] = audit_events(session, "contract.updated")
    assert len(event.data["changed"]["scope_lines"]["after"]) == 2


def test_the_annual_value_is_the_sum_of_the_lines_rounded_half_up_to_the_currency(session, admin):
    """2.5 payslips a year at 35,001 dong make 87,502.5 dong: the ACV is in whole dong,
    rounded half-up as every amount is; an edit of the contract starts from "the sum of
    the lines" again (not from a typed-in value)."""
    from portal.onboarding.forms import details_of

    account = service.create_account(session, admin, HANOI)
    contract = service.create_contract(session, account, admin, contract_details(scope_lines=(
        ScopeLineDetails({"en": "Payroll", "vi": "Tính lương"}, Decimal("2.5"), "payslip", Decimal("35001")),)))
    assert contract.annual_value == Decimal("87503") == contract.scope_annual_value
    assert details_of(contract).annual_value is None


def test_a_signed_contracts_scope_changes_only_by_change_request(session, admin):
    account = service.create_account(session, admin, HANOI)
    contract = service.create_contract(session, account, admin, contract_details(signed_on=date.today() - timedelta(days=20)))
    line = contract.scope_lines[0]
    bigger = ContractDetails.of(contract).changed(scope_lines=(
        ScopeLineDetails(line.service, Decimal(9999), line.unit, line.unit_price, line.id),
        *ContractDetails.of(contract).scope_lines[1:]))
    with pytest.raises(DomainError) as refused:
        service.update_contract(session, contract, account, admin, bigger)
    assert "scope_lines" in refused.value.fields
    service.update_contract(session, contract, account, admin, ContractDetails.of(contract).changed(
        governing_law={"en": "Laws of Singapore"}))
    assert contract.governing_law == {"en": "Laws of Singapore"} and contract.scope_lines[0].quantity == Decimal(1200)


def test_a_signed_contract_cannot_be_unsigned_to_edit_its_scope(session, admin):
    account = service.create_account(session, admin, HANOI)
    contract = service.create_contract(session, account, admin, contract_details(signed_on=date.today() - timedelta(days=20)))
    with pytest.raises(DomainError) as refused:
        service.update_contract(session, contract, account, admin, ContractDetails.of(contract).changed(signed_on=None))
    assert refused.value.fields == {"signed_on": "a signed contract stays signed"}
    corrected = ContractDetails.of(contract).changed(signed_on=date.today() - timedelta(days=25))
    assert service.update_contract(session, contract, account, admin, corrected).signed_on == corrected.signed_on


def test_a_name_or_number_of_an_account_the_caller_cannot_see_is_refused_not_left_to_the_database(
        session, alpha, bravo):
    """Names and numbers are unique across accounts; an account manager sees only theirs."""
    with scoped_to(Scope(frozenset({alpha.account.id}))):
        with pytest.raises(DomainError) as refused:
            service.update_account(session, alpha.account, manager_of(alpha),
                                   AccountDetails.of(alpha.account).changed(name={"en": "account bravo"}))
        assert refused.value.fields == {"name.en": "an account with this name exists"}
        with pytest.raises(DomainError) as refused:
            service.create_contract(session, alpha.account, manager_of(alpha),
                                    contract_details(number="MSA-Bravo-001", title={"en": "Payroll"}, currency="USD"))
        assert refused.value.fields == {"number": "a contract with this number exists"}


def test_contract_problems_are_named_by_line(session, admin, alpha):
    account = service.create_account(session, admin, HANOI)
    bad = contract_details(number="MSA-Alpha-001", end_date=date.today() - timedelta(days=30), scope_lines=(
        ScopeLineDetails({"en": "Payroll"}, Decimal(0), "", Decimal("-1")),
        ScopeLineDetails({"en": "x", "vi": "y"}, Decimal(1), "m", Decimal(1), id=alpha["scope_line"].id)))
    with pytest.raises(DomainError) as refused:
        service.create_contract(session, account, admin, bad)
    assert set(refused.value.fields) == {"number", "end_date", "scope_lines.0.service.vi", "scope_lines.0.quantity",
                                         "scope_lines.0.unit", "scope_lines.0.unit_price", "scope_lines.1.id"}


def test_the_po_register_refuses_a_number_twice(session, admin, alpha):
    details = PurchaseOrderDetails("PO-7", Decimal("1000.005"), "USD", date(2026, 1, 1), date(2026, 12, 31))
    order = service.save_purchase_order(session, alpha.account, admin, details)
    assert order.amount == Decimal("1000.01")
    with pytest.raises(DomainError) as refused:
        service.save_purchase_order(session, alpha.account, admin, details)
    assert "number" in refused.value.fields


def test_renewal_reminders_go_once_at_each_mark(session, alpha):
    contract = session.scalar(sa.select(Contract).where(Contract.account_id == alpha.account.id))
    today = alpha.account.today()
    contract.end_date = today + timedelta(days=200)
    assert service.remind_renewals(session) == 0
    contract.end_date = today + timedelta(days=85)
    assert service.remind_renewals(session) == 1
    assert service.remind_renewals(session) == 0  # once
    [sent] = notifications(session, "contract_ending")
    assert sent.to_email == manager_of(alpha).email and "85" in sent.subject
    contract.end_date = today + timedelta(days=20)  # past both 60 and 30: one reminder, the nearest
    assert service.remind_renewals(session) == 1 and contract.renewal_notice_days == 30
    assert contract.state(today) == "ending_soon"
    assert contract.state(today + timedelta(days=21)) == "expired"
    assert alpha.account.contracts[0].state(today - timedelta(days=400)) == "upcoming"


def test_a_renewal_mark_is_kept_for_when_the_account_has_a_manager_to_tell(session, alpha):
    contract = session.scalar(sa.select(Contract).where(Contract.account_id == alpha.account.id))
    contract.end_date = alpha.account.today() + timedelta(days=85)
    manager = manager_of(alpha)
    manager.active = False  # the account has no active account manager
    assert service.remind_renewals(session) == 0
    assert contract.renewal_notice_days is None and audit_events(session, "contract.renewal_reminded") == []
    manager.active = True
    assert service.remind_renewals(session) == 1 and contract.renewal_notice_days == 90
    [sent] = notifications(session, "contract_ending")
    assert sent.to_email == manager.email


def test_a_renewed_contract_is_reminded_again(session, admin, alpha):
    contract = session.scalar(sa.select(Contract).where(Contract.account_id == alpha.account.id))
    today = alpha.account.today()
    contract.end_date = today + timedelta(days=25)
    assert service.remind_renewals(session) == 1
    service.update_contract(session, contract, alpha.account, admin,
                            ContractDetails.of(contract).changed(end_date=today + timedelta(days=80)))
    assert contract.renewal_notice_days is None
    assert service.remind_renewals(session) == 1 and contract.renewal_notice_days == 90
    # Reminded again: the account manager has both reminders.
    assert [n.to_email for n in notifications(session, "contract_ending")] == [manager_of(alpha).email] * 2

"""Change requests in the service layer: pricing with exact decimals, drafting rules,
frozen versions and their hashes, the approval chain (internal above the threshold,
then the client's typed signature), the states a decision can no longer land in,
implementation into the contract, the chained audit log and the notifications.

Account Alpha (factories): threshold 50,000 USD, one contract with the line "Payroll"
(100 × 10.00); the tests add "Accounts payable" (1,000 × 100.00). Other accounts'
ids are proven to answer 404 in ``test_access``."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from portal.change_requests import service
from portal.change_requests.service import LineInput
from portal.documents.service import issue_amendment
from portal.models import (
    Approval,
    ApprovalStage,
    AuditEvent,
    ChangeRequest,
    ChangeRequestVersion,
    Contract,
    CRStatus,
    Decision,
    LineChange,
    Notification,
    Role,
    ScopeLine,
)
from portal.models.base import utcnow
from portal.versioning import canonical_json, content_hash
from portal.domain import Conflict, DomainError
from tests.conftest import ROOT, forge
from tests.factories import build_account, make_user
from tests.helpers import approver_of, count, manager_of, notifications

HEX64 = re.compile(r"^[0-9a-f]{64}$")
APPROVER_NAME = "Anna Maria Schmidt"
IP = "203.0.113.7"
EFFECTIVE = date.today() + timedelta(days=30)


@pytest.fixture
def alpha(alpha, session):
    """Alpha with a second, large contract line and an approver with a full name."""
    big = ScopeLine(account_id=alpha.account.id, contract=alpha["contract"], position=1,
                    service={"en": "Accounts payable"}, unit="document", quantity=Decimal(1000),
                    unit_price=Decimal("100.00"))
    session.add(big)
    alpha.objects["big_line"] = big
    alpha.user(Role.CLIENT_APPROVER).name = APPROVER_NAME
    session.commit()
    return alpha


@pytest.fixture
def admins(session, alpha, admin):
    """Two administrators: one drafts, the other approves internally."""
    second = make_user(session, "second.admin@firm.example", Role.ADMIN, name="Second Admin")
    session.commit()
    return admin, second


def add(quantity="10", unit_price="8.50", description="Payroll, Vietnam", unit="payslip") -> LineInput:
    return LineInput(LineChange.ADD, {"en": description}, unit, Decimal(quantity), Decimal(unit_price))


def remove(scope_line) -> LineInput:
    return LineInput(LineChange.REMOVE, {}, "", Decimal(0), Decimal(0),
                     scope_line_id=scope_line.id if scope_line else None)


def modify(scope_line, quantity, unit_price) -> LineInput:
    return LineInput(LineChange.MODIFY, {}, "", Decimal(quantity), Decimal(unit_price),
                     scope_line_id=scope_line.id if scope_line else None)


def draft(session, world, lines, *, by=None, title="Payroll in Vietnam") -> ChangeRequest:
    cr = service.create_draft(session, world["contract"], by or manager_of(world), title={"en": title},
                              description={"en": "Ten more payslips a month."}, in_scope=False,
                              effective_date=EFFECTIVE, lines=lines)
    session.commit()
    return cr


def submitted(session, world, lines=None, *, by=None) -> ChangeRequest:
    cr = draft(session, world, lines or [add()], by=by)
    service.submit(session, cr, world.account, by or manager_of(world))
    session.commit()
    return cr


def approve(session, world, cr, *, version=None, name=APPROVER_NAME) -> Approval:
    approval = service.decide(session, cr, world.account, approver_of(world), version=version or cr.version,
                              decision=Decision.APPROVED, signature_name=name, ip=IP, user_agent="pytest")
    session.commit()
    return approval


def reject(session, world, cr, *, reason="Not this quarter.") -> Approval:
    approval = service.decide(session, cr, world.account, approver_of(world), version=cr.version,
                              decision=Decision.REJECTED, reason=reason, ip=IP)
    session.commit()
    return approval


def approvals_of(session, cr) -> list[Approval]:
    return list(session.scalars(sa.select(Approval).where(Approval.change_request_id == cr.id).order_by(Approval.id)))


def reloaded(session, cr) -> ChangeRequest:
    session.expire_all()
    return session.scalar(sa.select(ChangeRequest).where(ChangeRequest.id == cr.id))


def rehash(cr) -> str:
    return content_hash(canonical_json(service.canonical_content(cr, cr.version_number)))


# --- pricing ---------------------------------------------------------------------------


PRICED = [
    pytest.param(lambda w: [add("10", "8.50")], "85.00", id="add"),
    # 3 × 0.10 is 0.30000000000000004 in floats.
    pytest.param(lambda w: [add("3", "0.10")], "0.30", id="add-without-float-error"),
    pytest.param(lambda w: [remove(w["scope_line"])], "-1000.00", id="remove-takes-the-line-price"),
    pytest.param(lambda w: [modify(w["scope_line"], "120", "10.00")], "200.00", id="modify-new-minus-old"),
    pytest.param(lambda w: [modify(w["scope_line"], "100", "9.99")], "-1.00", id="modify-cheaper"),
    pytest.param(lambda w: [add("0.5", "0.01"), remove(w["scope_line"]), modify(w["big_line"], "1000", "99.995")],
                 "-1004.995", id="mixed"),
]


@pytest.mark.parametrize(("lines", "expected"), PRICED)
def test_price_impact_is_an_exact_decimal_in_the_contracts_currency(session, alpha, lines, expected):
    cr = draft(session, alpha, lines(alpha))
    assert isinstance(cr.price_impact, Decimal) and cr.price_impact == Decimal(expected)
    assert cr.currency == alpha["contract"].currency == "USD"
    stored = reloaded(session, cr)
    assert stored.price_impact == Decimal(expected)
    assert service.price_impact(stored.lines) == Decimal(expected)


def test_remove_and_modify_take_the_contract_lines_terms(session, alpha):
    payroll, payables = alpha["scope_line"], alpha["big_line"]
    cr = draft(session, alpha, [remove(payroll), modify(payables, "1200", "95.00")])
    removed, modified = reloaded(session, cr).lines
    # A removal takes the line as it stands, whatever the form said.
    assert (removed.scope_line_id, removed.description, removed.unit) == (payroll.id, {"en": "Payroll"}, "payslip")
    assert (removed.quantity, removed.unit_price, removed.old_quantity) == (Decimal(100), Decimal(10), None)
    assert (modified.old_quantity, modified.old_unit_price) == (Decimal(1000), Decimal(100))
    assert (modified.quantity, modified.unit_price) == (Decimal(1200), Decimal(95))
    assert service.line_impact(modified) == Decimal(1200 * 95 - 1000 * 100)


def test_a_change_request_takes_its_contracts_currency(session):
    world = build_account(session, "Bravo", currency="VND")
    session.commit()
    cr = draft(session, world, [add("10", "8.50")])
    assert cr.currency == "VND" and cr.price_impact == Decimal("85")


# --- drafting rules --------------------------------------------------------------------


def _other_contracts_line(session, world):
    other = Contract(account_id=world.account.id, number="MSA-Alpha-000", title={"en": "Old services"},
                     start_date=date(2020, 1, 1), end_date=date(2020, 12, 31), currency="USD",
                     annual_value=Decimal(0))
    line = ScopeLine(account_id=world.account.id, contract=other, service={"en": "Old"}, unit="month",
                     quantity=Decimal(1), unit_price=Decimal(1))
    session.add_all([other, line])
    session.flush()
    return line


def _closed_line(session, world):
    line = world["scope_line"]
    line.removed_at = utcnow()
    session.flush()
    return line


@pytest.mark.parametrize(
    ("lines", "title", "fields"),
    [
        pytest.param(lambda s, w: [], "T", {"lines": "required"}, id="no-lines"),
        pytest.param(lambda s, w: [add("-1", "8.50")], "T", {"lines.0": "negative"}, id="negative-quantity"),
        pytest.param(lambda s, w: [add(), add("1", "-0.01")], "T", {"lines.1": "negative"}, id="negative-price"),
        pytest.param(lambda s, w: [modify(w["scope_line"], "-5", "1")], "T", {"lines.0": "negative"},
                     id="negative-modify"),
        pytest.param(lambda s, w: [add(description="")], "T", {"lines.0.description": "required"},
                     id="add-without-description"),
        pytest.param(lambda s, w: [remove(None)], "T", {"lines.0.scope_line_id": "not a current line of this contract"},
                     id="remove-without-line"),
        pytest.param(lambda s, w: [add(), modify(None, "1", "1")], "T",
                     {"lines.1.scope_line_id": "not a current line of this contract"}, id="modify-without-line"),
        pytest.param(lambda s, w: [remove(_other_contracts_line(s, w))], "T",
                     {"lines.0.scope_line_id": "not a current line of this contract"}, id="line-of-another-contract"),
        pytest.param(lambda s, w: [modify(_closed_line(s, w), "1", "1")], "T",
                     {"lines.0.scope_line_id": "not a current line of this contract"}, id="closed-line"),
        pytest.param(lambda s, w: [add()], "   ", {"title": "required"}, id="blank-title"),
    ],
)
def test_create_draft_refuses_bad_input_naming_the_field(session, alpha, lines, title, fields):
    before = count(session, ChangeRequest)
    with pytest.raises(DomainError) as refused:
        service.create_draft(session, alpha["contract"], manager_of(alpha), title={"en": title}, description={},
                             in_scope=True, effective_date=EFFECTIVE, lines=lines(session, alpha))
    session.rollback()
    assert (refused.value.status, refused.value.fields) == (422, fields)
    assert count(session, ChangeRequest) == before


# --- versions ----------------------------------------------------------------------------


def test_submit_freezes_a_version_whose_hash_is_the_sha256_of_its_canonical_content(session, alpha):
    cr = submitted(session, alpha, [add(), modify(alpha["scope_line"], "120", "10")])
    assert HEX64.match(cr.version) and cr.version_number == 1
    assert cr.status is CRStatus.PENDING_CLIENT_APPROVAL and cr.submitted_at is not None
    [version] = session.scalars(sa.select(ChangeRequestVersion).where(ChangeRequestVersion.change_request_id == cr.id))
    assert version.content_hash == cr.version == hashlib.sha256(version.canonical.encode()).hexdigest()
    content = json.loads(version.canonical)
    assert (content["number"], content["contract"], content["currency"]) == (cr.number, "MSA-Alpha-001", "USD")
    assert content["price_impact"] == "285.0000"
    assert [line["amount"] for line in content["lines"]] == ["85.0000", "200.0000"]
    assert content["lines"][1]["old_quantity"] == "100.0000"
    # The same content hashes the same once read back from the database.
    assert rehash(reloaded(session, cr)) == cr.version


TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40).filter(str.strip)
AMOUNT = st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False)


@given(title=TEXT, quantity=AMOUNT, unit_price=AMOUNT, old_price=AMOUNT)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_same_content_hashes_the_same_before_and_after_a_reload(session, alpha, title, quantity, unit_price,
                                                                    old_price):
    alpha["scope_line"].unit_price = old_price
    try:
        cr = service.create_draft(session, alpha["contract"], manager_of(alpha), title={"en": title}, description={},
                                  in_scope=False, effective_date=EFFECTIVE,
                                  lines=[add(quantity, unit_price), modify(alpha["scope_line"], quantity, unit_price)])
        service.submit(session, cr, alpha.account, manager_of(alpha))
        frozen = cr.version
        assert rehash(reloaded(session, cr)) == frozen
    finally:
        session.rollback()


def test_more_than_four_decimals_are_refused_so_the_approved_version_is_what_is_stored(session, alpha):
    """The edit form accepts any number of decimals (DecimalField(places=None)); the
    database keeps four. Rounding silently would make the frozen version differ from
    what was typed, so the edit is refused and the pending version stands."""
    cr = submitted(session, alpha)
    frozen = cr.version
    with pytest.raises(DomainError) as refused:
        service.edit(session, cr, alpha.account, manager_of(alpha), title={"en": "Payroll in Vietnam"}, description={},
                     in_scope=False, effective_date=EFFECTIVE, lines=[add("1.23456", "100")])
    assert refused.value.status == 422 and refused.value.fields == {"lines.0": "too many decimals"}
    session.rollback()
    stored = reloaded(session, cr)
    assert stored.version == frozen and rehash(stored) == frozen


def test_editing_a_pending_cr_freezes_a_new_version_at_once(session, alpha):
    cr = submitted(session, alpha)
    old = cr.version
    service.edit(session, cr, alpha.account, manager_of(alpha), title={"en": "Payroll in Vietnam"}, description={},
                 in_scope=False, effective_date=EFFECTIVE, lines=[add("12", "8.50")])
    session.commit()
    assert cr.status is CRStatus.PENDING_CLIENT_APPROVAL
    assert cr.version_number == 2 and HEX64.match(cr.version) and cr.version != old
    first, second = cr.versions
    assert first.content_hash == old and first.voided_at is not None
    assert second.content_hash == cr.version and second.voided_at is None

    with pytest.raises(Conflict):
        approve(session, alpha, cr, version=old)
    session.rollback()
    assert approvals_of(session, cr) == []
    approval = approve(session, alpha, cr)
    assert approval.version_hash == cr.version and cr.status is CRStatus.APPROVED


def test_approving_the_old_version_internally_after_an_edit_is_a_conflict(session, alpha, admins):
    author, other = admins
    cr = submitted(session, alpha, [add("6000", "10.00")], by=author)
    old = cr.version
    service.edit(session, cr, alpha.account, author, title={"en": "Payroll in Vietnam"}, description={},
                 in_scope=False, effective_date=EFFECTIVE, lines=[add("6001", "10.00")])
    session.commit()
    assert cr.status is CRStatus.PENDING_INTERNAL_APPROVAL and cr.version != old
    with pytest.raises(Conflict):
        service.decide_internally(session, cr, alpha.account, other, version=old, decision=Decision.APPROVED)
    session.rollback()
    assert approvals_of(session, cr) == []


def test_resubmitting_a_rejected_cr_unchanged_gives_a_version_the_client_can_decide(session, alpha):
    """The client rejects; the account manager submits the same content again (the
    page shows "Submit" on a rejected CR). Either the service refuses in its own words
    or the client can decide again; never a database error (a 500)."""
    cr = submitted(session, alpha)
    reject(session, alpha, cr)
    try:
        service.submit(session, cr, alpha.account, manager_of(alpha))
    except DomainError:
        session.rollback()
        assert reloaded(session, cr).status is CRStatus.REJECTED
        return
    session.commit()
    assert approve(session, alpha, cr).decision is Decision.APPROVED


def test_saving_a_pending_cr_without_changes_keeps_it_decidable(session, alpha):
    cr = submitted(session, alpha)
    line = cr.lines[0]
    service.edit(session, cr, alpha.account, manager_of(alpha), title=dict(cr.title), description=dict(cr.description),
                 in_scope=cr.in_scope, effective_date=cr.effective_date,
                 lines=[LineInput(line.change, dict(line.description), line.unit, line.quantity, line.unit_price)])
    session.commit()
    assert approve(session, alpha, cr).version_hash == cr.version


# --- the approval chain --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "status"),
    [
        pytest.param(lambda w: [add("5000", "10.00")], CRStatus.PENDING_CLIENT_APPROVAL, id="at-threshold"),
        pytest.param(lambda w: [add("5000", "10.00"), add("1", "0.01")], CRStatus.PENDING_INTERNAL_APPROVAL,
                     id="a-cent-above"),
        pytest.param(lambda w: [remove(w["big_line"])], CRStatus.PENDING_INTERNAL_APPROVAL, id="large-reduction"),
    ],
)
def test_the_threshold_decides_who_approves_first(session, alpha, lines, status):
    assert submitted(session, alpha, lines(alpha)).status is status


def test_above_the_threshold_another_admin_approves_before_the_client(session, alpha, admins):
    author, other = admins
    cr = submitted(session, alpha, [add("6000", "10.00")], by=author)
    assert cr.status is CRStatus.PENDING_INTERNAL_APPROVAL

    with pytest.raises(Conflict):  # the client cannot go first
        approve(session, alpha, cr)
    session.rollback()
    for who in (author, manager_of(alpha)):  # neither the author (an admin) nor a non-admin
        with pytest.raises(DomainError) as refused:
            service.decide_internally(session, cr, alpha.account, who, version=cr.version, decision=Decision.APPROVED)
        session.rollback()
        assert refused.value.status == 403
    assert reloaded(session, cr).status is CRStatus.PENDING_INTERNAL_APPROVAL and approvals_of(session, cr) == []

    internal = service.decide_internally(session, cr, alpha.account, other, version=cr.version,
                                         decision=Decision.APPROVED, ip=IP)
    session.commit()
    assert (internal.stage, internal.decision) == (ApprovalStage.INTERNAL, Decision.APPROVED)
    assert internal.user_id == other.id
    assert cr.status is CRStatus.PENDING_CLIENT_APPROVAL
    client = approve(session, alpha, cr)
    assert client.stage is ApprovalStage.CLIENT and cr.status is CRStatus.APPROVED
    assert [a.stage for a in approvals_of(session, cr)] == [ApprovalStage.INTERNAL, ApprovalStage.CLIENT]
    assert {a.version_hash for a in approvals_of(session, cr)} == {cr.version}


def test_an_internal_rejection_needs_a_reason_and_ends_in_rejected(session, alpha, admins):
    author, other = admins
    cr = submitted(session, alpha, [add("6000", "10.00")], by=author)
    with pytest.raises(DomainError) as refused:
        service.decide_internally(session, cr, alpha.account, other, version=cr.version, decision=Decision.REJECTED,
                                  reason="  ")
    session.rollback()
    assert (refused.value.status, refused.value.fields) == (422, {"reason": "required"})
    service.decide_internally(session, cr, alpha.account, other, version=cr.version, decision=Decision.REJECTED,
                              reason="Price too high.")
    session.commit()
    assert cr.status is CRStatus.REJECTED


@pytest.mark.parametrize(
    "typed",
    ["Anna Maria Schmidt", "anna maria schmidt", "  ANNA   Maria\tSchmidt  ", "Ａｎｎａ Ｍａｒｉａ Ｓｃｈｍｉｄｔ"],
    ids=["exact", "lower-case", "extra-spaces", "full-width"],
)
def test_the_typed_name_matches_regardless_of_case_and_spaces(session, alpha, typed):
    cr = submitted(session, alpha)
    assert approve(session, alpha, cr, name=typed).signature_name == typed.strip()
    assert cr.status is CRStatus.APPROVED


def test_a_typed_name_with_accents_matches_in_either_unicode_form(session, alpha):
    approver_of(alpha).name = "Nguyễn Văn An"
    session.commit()
    cr = submitted(session, alpha)
    decomposed = "NGUYE\u0302\u0303N VA\u0306N AN"  # combining marks, as some keyboards type them
    assert approve(session, alpha, cr, name=decomposed).decision is Decision.APPROVED


@pytest.mark.parametrize("typed", ["Anna Schmidt", "Someone Else", "", "   ", "Anna Maria Schmidt Jr"])
def test_another_name_is_refused_and_nothing_is_decided(session, alpha, typed):
    cr = submitted(session, alpha)
    with pytest.raises(DomainError) as refused:
        approve(session, alpha, cr, name=typed)
    session.rollback()
    assert refused.value.status == 422 and set(refused.value.fields) == {"signature_name"}
    assert reloaded(session, cr).status is CRStatus.PENDING_CLIENT_APPROVAL
    assert approvals_of(session, cr) == []


def test_the_client_approval_records_who_when_where_what_name_and_which_version(session, alpha):
    cr = submitted(session, alpha)
    before = utcnow()
    approve(session, alpha, cr, name="  anna maria SCHMIDT ")
    after = utcnow()
    [approval] = approvals_of(session, reloaded(session, cr))
    assert (approval.stage, approval.decision) == (ApprovalStage.CLIENT, Decision.APPROVED)
    assert approval.user_id == approver_of(alpha).id
    assert before <= approval.decided_at <= after and approval.decided_at.utcoffset() == timedelta(0)
    assert (approval.ip, approval.user_agent) == (IP, "pytest")
    assert approval.signature_name == "anna maria SCHMIDT"
    assert approval.version_hash == cr.version and HEX64.match(approval.version_hash)
    stored = reloaded(session, cr)
    assert stored.status is CRStatus.APPROVED and before <= stored.decided_at <= after
    assert service.client_approval(stored).id == approval.id


@pytest.mark.parametrize("role", [Role.CLIENT_VIEWER, Role.ACCOUNT_MANAGER])
def test_only_the_client_approver_decides(session, alpha, role):
    cr = submitted(session, alpha)
    someone = alpha.user(role)
    with pytest.raises(DomainError) as refused:
        service.decide(session, cr, alpha.account, someone, version=cr.version, decision=Decision.APPROVED,
                       signature_name=someone.name)
    session.rollback()
    assert refused.value.status == 403 and approvals_of(session, cr) == []


@pytest.mark.parametrize("reason", ["", "   \n "])
def test_a_rejection_needs_a_reason(session, alpha, reason):
    cr = submitted(session, alpha)
    with pytest.raises(DomainError) as refused:
        reject(session, alpha, cr, reason=reason)
    session.rollback()
    assert (refused.value.status, refused.value.fields) == (422, {"reason": "required"})
    assert reloaded(session, cr).status is CRStatus.PENDING_CLIENT_APPROVAL


def test_a_rejection_records_its_reason(session, alpha):
    cr = submitted(session, alpha)
    rejection = reject(session, alpha, cr, reason=" Not this quarter. ")
    assert cr.status is CRStatus.REJECTED
    assert (rejection.decision, rejection.reason) == (Decision.REJECTED, "Not this quarter.")
    assert rejection.signature_name == ""


def _after_approval(session, world, cr):
    approve(session, world, cr)


def _after_rejection(session, world, cr):
    reject(session, world, cr)


def _after_withdrawal(session, world, cr):
    service.withdraw(session, cr, manager_of(world))
    session.commit()


def _after_implementation(session, world, cr):
    approve(session, world, cr)
    service.implement(session, cr, manager_of(world))
    session.commit()


@pytest.mark.parametrize("decision", [Decision.APPROVED, Decision.REJECTED])
@pytest.mark.parametrize("before", [_after_approval, _after_rejection, _after_withdrawal, _after_implementation],
                         ids=["approved", "rejected", "withdrawn", "implemented"])
def test_no_decision_lands_once_the_cr_has_left_pending(session, alpha, before, decision):
    cr = submitted(session, alpha)
    version = cr.version
    before(session, alpha, cr)
    status, decided = cr.status, len(approvals_of(session, cr))
    with pytest.raises(Conflict):
        service.decide(session, cr, alpha.account, approver_of(alpha), version=version, decision=decision,
                       signature_name=APPROVER_NAME, reason="Changed my mind.")
    session.rollback()
    assert reloaded(session, cr).status is status
    assert len(approvals_of(session, cr)) == decided


class ChangeRequestMachine(RuleBasedStateMachine):
    """Random sequences of submit, edit, approve (current or an old version), reject,
    withdraw and implement on one CR, against a model of the workflow."""

    EDITABLE = {CRStatus.DRAFT, CRStatus.REJECTED, CRStatus.PENDING_CLIENT_APPROVAL}

    def __init__(self, session, world):
        super().__init__()
        self.session, self.world = session, world
        self.cr = draft(session, world, [add("1")])
        self.status = CRStatus.DRAFT
        self.versions: list[str] = []
        self.quantity = 1  # every edit gives new content, so every version has its own hash
        self.changed = True  # the content differs from every submitted version

    def attempt(self, allowed: bool, action) -> bool:
        try:
            action()
        except DomainError as error:
            self.session.rollback()
            assert not allowed, f"refused what the model allows: {error.message}"
            assert error.status == 409
            return False
        self.session.commit()
        assert allowed, "did what the model forbids"
        return True

    @precondition(lambda self: self.changed or self.status not in self.EDITABLE)
    @rule()
    def submit(self):
        if self.attempt(self.status in self.EDITABLE,
                        lambda: service.submit(self.session, self.cr, self.world.account, manager_of(self.world))):
            self.versions.append(self.cr.version)
            self.status, self.changed = CRStatus.PENDING_CLIENT_APPROVAL, False

    @rule()
    def edit(self):
        self.quantity += 1
        quantity = str(self.quantity)
        if self.attempt(self.status in self.EDITABLE, lambda: service.edit(
                self.session, self.cr, self.world.account, manager_of(self.world), title={"en": "Payroll"},
                description={}, in_scope=False, effective_date=EFFECTIVE, lines=[add(quantity)])):
            if self.status is CRStatus.PENDING_CLIENT_APPROVAL:
                self.versions.append(self.cr.version)
            else:
                self.status, self.changed = CRStatus.DRAFT, True

    def _decide(self, decision: Decision, pick: int):
        version = self.versions[pick % len(self.versions)] if self.versions else "f" * 64
        allowed = self.status is CRStatus.PENDING_CLIENT_APPROVAL and version == self.versions[-1]
        if self.attempt(allowed, lambda: service.decide(
                self.session, self.cr, self.world.account, approver_of(self.world), version=version, decision=decision,
                signature_name=APPROVER_NAME, reason="No.")):
            self.status = CRStatus.APPROVED if decision is Decision.APPROVED else CRStatus.REJECTED

    @rule(pick=st.integers(min_value=0, max_value=7))
    def approve(self, pick):
        self._decide(Decision.APPROVED, pick)

    @rule(pick=st.integers(min_value=0, max_value=7))
    def reject(self, pick):
        self._decide(Decision.REJECTED, pick)

    @rule()
    def withdraw(self):
        allowed = self.status in self.EDITABLE
        if self.attempt(allowed, lambda: service.withdraw(self.session, self.cr, manager_of(self.world))):
            self.status = CRStatus.WITHDRAWN

    @rule()
    def implement(self):
        if self.attempt(self.status is CRStatus.APPROVED,
                        lambda: service.implement(self.session, self.cr, manager_of(self.world))):
            self.status = CRStatus.IMPLEMENTED

    @invariant()
    def matches_the_model(self):
        assert self.cr.status is self.status
        assert [v.content_hash for v in self.cr.versions] == self.versions
        in_force = [v.voided_at is None for v in self.cr.versions]
        assert in_force == [False] * (len(self.versions) - 1) + [True] * bool(self.versions), "only the last counts"
        approvals = approvals_of(self.session, self.cr)
        assert {a.version_hash for a in approvals} <= set(self.versions)
        approved = [a for a in approvals if a.decision is Decision.APPROVED]
        assert len(approved) == (self.status in (CRStatus.APPROVED, CRStatus.IMPLEMENTED))
        if approved:
            assert approved[0].version_hash == self.cr.version == self.versions[-1]


def test_the_workflow_follows_its_state_machine_over_random_sequences(session, alpha):
    run_state_machine_as_test(lambda: ChangeRequestMachine(session, alpha),
                              settings=settings(max_examples=25, stateful_step_count=12, deadline=None))


# --- implementation ----------------------------------------------------------------------


def test_implement_closes_changed_lines_adds_new_ones_and_sets_the_annual_value(session, alpha):
    payroll, payables, contract = alpha["scope_line"], alpha["big_line"], alpha["contract"]
    cr = submitted(session, alpha, [add("10", "8.50"), remove(payroll), modify(payables, "1000", "99.00")])
    assert cr.price_impact == Decimal("-1915.00")
    approve(session, alpha, cr)
    service.implement(session, cr, manager_of(alpha))
    session.commit()

    session.expire_all()
    lines = session.scalars(sa.select(ScopeLine).where(ScopeLine.contract_id == contract.id)
                            .order_by(ScopeLine.id)).all()
    assert len(lines) == 4, "closed lines are kept"
    closed = {line.id: line for line in lines if line.removed_at is not None}
    assert set(closed) == {payroll.id, payables.id}
    assert {line.removed_by_change_request_id for line in closed.values()} == {cr.id}
    added = [line for line in lines if line.removed_at is None]
    assert [(line.service, line.quantity, line.unit_price) for line in added] == [
        ({"en": "Payroll, Vietnam"}, Decimal(10), Decimal("8.50")),
        ({"en": "Accounts payable"}, Decimal(1000), Decimal(99)),
    ]
    assert {(line.added_by_change_request_id, line.added_on) for line in added} == {(cr.id, EFFECTIVE)}
    stored = session.scalar(sa.select(Contract).where(Contract.id == contract.id))
    assert stored.annual_value == Decimal("99085.00") == sum(line.amount for line in added)
    assert reloaded(session, cr).status is CRStatus.IMPLEMENTED and cr.implemented_at is not None


def test_implement_rounds_the_annual_value_half_up_to_the_currency(session, alpha):
    """A line whose amount has more decimals than the currency (0.125 × 99.00 = 12.375
    dollars) makes an ACV in cents, rounded half-up, as the contract form makes it."""
    contract = alpha["contract"]
    before = sum((line.amount for line in contract.active_scope_lines), Decimal(0))
    cr = submitted(session, alpha, [add("0.125", "99.00")])
    approve(session, alpha, cr)
    service.implement(session, cr, manager_of(alpha))
    session.commit()
    session.expire_all()
    stored = session.scalar(sa.select(Contract).where(Contract.id == contract.id))
    assert stored.annual_value == before + Decimal("12.38") == stored.scope_annual_value


@pytest.mark.parametrize("status", ["draft", "pending", "rejected"])
def test_only_an_approved_cr_is_implemented(session, alpha, status):
    cr = draft(session, alpha, [remove(alpha["scope_line"])])
    if status != "draft":
        service.submit(session, cr, alpha.account, manager_of(alpha))
        session.commit()
    if status == "rejected":
        reject(session, alpha, cr)
    with pytest.raises(Conflict):
        service.implement(session, cr, manager_of(alpha))
    session.rollback()
    assert session.get(ScopeLine, alpha["scope_line"].id).removed_at is None


def test_a_second_cr_changing_an_already_changed_line_is_not_implemented_twice(session, alpha):
    """Two CRs drafted against the same line (100 payslips) are both approved. Once the
    first is implemented the line is closed; the second must not close it again and
    add a second successor (both would count in the annual value)."""
    payroll = alpha["scope_line"]
    first = submitted(session, alpha, [modify(payroll, "120", "10.00")])
    second = submitted(session, alpha, [modify(payroll, "150", "10.00")])
    approve(session, alpha, first)
    approve(session, alpha, second)
    service.implement(session, first, manager_of(alpha))
    session.commit()
    try:
        service.implement(session, second, manager_of(alpha))
        session.commit()
    except DomainError:
        session.rollback()
    session.expire_all()
    contract = session.scalar(sa.select(Contract).where(Contract.id == alpha["contract"].id))
    assert session.get(ScopeLine, payroll.id).removed_by_change_request_id == first.id
    assert contract.annual_value == Decimal(1200 + 100_000)


# --- audit and notifications ---------------------------------------------------------------


def chained_since(session, seq: int) -> list[AuditEvent]:
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.chain_seq > seq).order_by(AuditEvent.chain_seq)))


def chain_end(session) -> int:
    return session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.chain_seq), 0)))


def audit_verify(database_url: str) -> subprocess.CompletedProcess:
    """``flask --app wsgi audit verify``, the command of spec/api.md, on the test database."""
    env = {**os.environ, "DATABASE_URL": database_url, "PORTAL_ENV": "testing"}  # the tests' audit key
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "audit", "verify"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_decisions_and_document_issues_are_chained_audit_events(session, alpha, admins, database_url):
    author, other = admins
    start = chain_end(session)
    large = submitted(session, alpha, [add("6000", "10.00")], by=author)
    service.decide_internally(session, large, alpha.account, other, version=large.version,
                              decision=Decision.APPROVED, ip=IP)
    session.commit()
    approve(session, alpha, large)
    refused = submitted(session, alpha)
    reject(session, alpha, refused)
    document = issue_amendment(session, large, alpha.account, manager_of(alpha), ["en"])
    session.commit()

    events = chained_since(session, start)
    assert [(e.action, e.object_id) for e in events] == [
        ("change_request.internal_approved", large.id), ("change_request.client_approved", large.id),
        ("change_request.client_rejected", refused.id), ("document.issued", document.id),
    ]
    assert [e.chain_seq for e in events] == list(range(start + 1, start + 5))
    assert all(e.prev_hash == p.hash for p, e in zip(events, events[1:]))
    internal, client, rejection, issued = events
    assert (internal.actor_id, client.actor_id) == (other.id, approver_of(alpha).id)
    assert {e.account_id for e in events} == {alpha.account.id}
    assert (client.ip, client.actor_email) == (IP, "client.approver@alpha.example")
    assert client.data["version"] == large.version and client.data["signature_name"] == APPROVER_NAME
    assert rejection.data["reason"] == "Not this quarter."
    assert issued.data["sha256"] == document.sha256 and issued.data["number"] == document.number
    assert all(e.created_at.utcoffset() == timedelta(0) for e in events)

    result = audit_verify(database_url)
    assert result.returncode == 0, result.stderr
    assert f"Audit chain intact: {chain_end(session)} chained events." in result.stdout


def test_audit_verify_finds_a_forged_signature_in_an_approval_event(session, owner_session, alpha, database_url):
    cr = submitted(session, alpha)
    approve(session, alpha, cr)
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "change_request.client_approved"))
    forge(owner_session, sa.update(AuditEvent).where(AuditEvent.id == event.id)
          .values(data={**event.data, "signature_name": "Mallory"}))

    result = audit_verify(database_url)
    assert result.returncode == 1
    assert f"Audit chain broken at event #{event.chain_seq}: content does not match its hash" in result.stderr


def notifications_about(session, kind: str, cr) -> list[Notification]:
    """The notifications of ``kind`` whose subject names ``cr``."""
    return [n for n in notifications(session, kind) if cr.number in n.subject]


def test_submit_notifies_the_accounts_active_client_approvers(session, alpha):
    second = make_user(session, "second.approver@alpha.example", Role.CLIENT_APPROVER, alpha.account)
    gone = make_user(session, "gone.approver@alpha.example", Role.CLIENT_APPROVER, alpha.account)
    gone.active = False
    session.commit()
    cr = submitted(session, alpha)
    sent = notifications_about(session, "cr_awaiting_approval", cr)
    assert {n.recipient_id for n in sent} == {approver_of(alpha).id, second.id}
    assert all(cr.version in n.body and f"/change-requests/{cr.id}" in n.body for n in sent)


def test_above_the_threshold_admins_are_asked_first_then_the_client(session, alpha, admins):
    author, other = admins
    cr = submitted(session, alpha, [add("6000", "10.00")], by=author)
    internal = notifications_about(session, "cr_awaiting_internal_approval", cr)
    assert {n.recipient_id for n in internal} == {author.id, other.id}
    assert notifications_about(session, "cr_awaiting_approval", cr) == []
    service.decide_internally(session, cr, alpha.account, other, version=cr.version, decision=Decision.APPROVED)
    session.commit()
    assert {n.recipient_id for n in notifications_about(session, "cr_awaiting_approval", cr)} == {approver_of(alpha).id}


@pytest.mark.parametrize("decide", [approve, reject], ids=["approved", "rejected"])
def test_a_client_decision_notifies_the_account_manager(session, alpha, decide):
    cr = submitted(session, alpha)
    decide(session, alpha, cr)
    [sent] = notifications_about(session, "cr_decided", cr)
    assert sent.recipient_id == manager_of(alpha).id
    assert cr.version in sent.body

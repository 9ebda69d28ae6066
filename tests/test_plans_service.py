"""Business plans in the service layer: periods per type, a quarterly plan started from
the yearly one, frozen versions and their hashes, the firm's approval (every assigned
regional reviewer, else the account manager), requests for changes and the per-field
difference of the next version, the translation gate with missing and stale
translations, the client's sign-off as a chained audit event, progress against the
plan from the scorecard's actuals, and the notifications.

Account Alpha (factories): one user per role, the firm's assigned to Alpha only, a
contract whose KPI ``OTP`` (target 99, higher is better) measured 98.5 this month, and
the JBP FY2027 in review. Other accounts' ids answering 404 is proven in ``test_access``."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.admin.service import assign
from portal.audit import verify_chain
from portal.models import AuditEvent, Notification, Plan, PlanReview, PlanSignoff, PlanStatus, PlanType, ReviewDecision, Role
from portal.models.base import utcnow
from portal.plans import content as plan_content
from portal.plans import service
from portal.versioning import canonical_json, content_hash
from portal.domain import Conflict, DomainError
from tests.factories import build_account, build_admin, make_user, plan_awaiting_signoff, plan_in_review

APPROVE, CHANGES, COMMENT = ReviewDecision.APPROVE, ReviewDecision.REQUEST_CHANGES, ReviewDecision.COMMENT
APPROVER_NAME = "Client.Approver"


def jbp_content(**overrides) -> dict:
    return {
        "objectives": [{"en": "Keep payroll accuracy at 99.5 % or better."}],
        "kpis": [{"name": {"en": "On-time payroll"}, "baseline": "97", "target": "99.5", "unit": "%", "kpi": "OTP"}],
        "initiatives": [{"title": {"en": "Automate the time feed"}, "owner": "Lena Park", "due": "2027-03-31",
                         "status": "in_progress"}],
        "budget": [{"item": {"en": "Automation"}, "amount": "24000"}, {"item": {"en": "Workshops"}, "amount": "6000.50"}],
        "risks": [{"risk": {"en": "Late files"}, "mitigation": {"en": "Cut-off alert"}, "owner": "Lena Park"}],
        **overrides,
    }


def new_plan(session, world, period="FY2028", plan_type=PlanType.JBP, content=None, **kwargs) -> Plan:
    return service.create_plan(session, world.account, world.user(Role.ACCOUNT_MANAGER), plan_type=plan_type,
                               period=period, content=jbp_content() if content is None else content, **kwargs)


def review(session, world, plan, role, decision, body="", **kwargs):
    return service.review(session, plan, world.account, world.user(role), decision=decision, body=body, **kwargs)


def submitted(session, world) -> Plan:
    return plan_in_review(session, world, jbp_content())


# --- drafting ----------------------------------------------------------------------------


@pytest.mark.parametrize("plan_type, period", [
    (PlanType.JBP, "2027"), (PlanType.JBP, "2027-Q1"), (PlanType.QBP, "2027-Q5"), (PlanType.QBP, "FY2027"),
    (PlanType.MBP, "2027-13"), (PlanType.MBP, "2027-3"),
])
def test_the_period_must_have_its_types_form(session, alpha, plan_type, period):
    with pytest.raises(DomainError) as refused:
        new_plan(session, alpha, period=period, plan_type=plan_type)
    assert refused.value.status == 422 and "period" in refused.value.fields


def test_a_draft_keeps_amounts_in_the_contract_currency_and_totals_them(session, alpha):
    plan = new_plan(session, alpha)
    assert plan.status is PlanStatus.DRAFT and plan.currency == "USD"
    assert [line["amount"] for line in plan.content["budget"]] == ["24000.00", "6000.50"]
    assert plan_content.budget_total(plan.content) == Decimal("30000.50")


def test_bad_values_are_named_by_their_path(session, alpha):
    bad = jbp_content(kpis=[{"name": {"zh": "准时"}, "target": "lots", "kpi": "NOPE"}],
                      budget=[{"item": {"en": "Robot"}, "amount": "10.001"}],
                      initiatives=[{"title": {"en": "X"}, "owner": "", "due": "2027-02-30", "status": "sleeping"}])
    with pytest.raises(DomainError) as refused:
        new_plan(session, alpha, content=bad)
    assert refused.value.fields == {
        "kpis.0.name": "required", "kpis.0.target": "not a number", "kpis.0.kpi": "not a KPI of the contract",
        "initiatives.0.owner": "required", "initiatives.0.due": "not a date (YYYY-MM-DD)",
        "initiatives.0.status": "unknown status", "budget.0.amount": "too many decimals for USD",
    }


def test_one_plan_per_account_type_and_period(session, alpha):
    with pytest.raises(DomainError) as refused:
        new_plan(session, alpha, period="FY2027")  # the factories' JBP
    assert refused.value.status == 409


def test_a_quarterly_plan_starts_from_the_yearly_one_and_a_monthly_from_the_quarterly(session, alpha):
    yearly = new_plan(session, alpha, period="FY2028")
    quarter = service.create_plan(session, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), plan_type=PlanType.QBP,
                                  period="2028-Q2", parent=yearly)
    assert quarter.parent_id == yearly.id
    assert quarter.content["objectives"] == yearly.content["objectives"]
    assert quarter.content["kpis"] == yearly.content["kpis"]
    assert quarter.content["initiatives"] == quarter.content["budget"] == quarter.content["risks"] == []
    month = service.create_plan(session, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), plan_type=PlanType.MBP,
                                period="2028-05", parent=quarter)
    assert month.content["kpis"] == yearly.content["kpis"]
    for period, parent in (("2029-Q1", yearly), ("2028-07", quarter)):
        kind = PlanType.QBP if "Q" in period else PlanType.MBP
        with pytest.raises(DomainError) as refused:
            service.create_plan(session, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), plan_type=kind,
                                period=period, parent=parent)
        assert refused.value.fields == {"parent_id": "not a parent of this plan"}


# --- versions ----------------------------------------------------------------------------


def test_submitting_freezes_a_version_identified_by_the_hash_of_its_canonical_content(session, alpha):
    plan = new_plan(session, alpha)
    version = service.submit_for_review(session, plan, alpha.user(Role.ACCOUNT_MANAGER))
    assert plan.status is PlanStatus.IN_REVIEW and plan.version == version.content_hash
    assert version.content_hash == content_hash(canonical_json(version.content))
    assert version.content["content"]["budget"][0]["amount"] == "24000.00"
    assert version.content["version"] == 1 and version.content["period"] == "FY2028"
    # The stored row gives the same hash after a round trip through the database.
    session.commit()
    session.expire_all()
    stored = session.scalar(sa.select(Plan).where(Plan.id == plan.id)).versions[0]
    assert content_hash(canonical_json(stored.content)) == plan.version


def test_an_edit_under_review_is_a_new_version_and_an_unchanged_one_is_not(session, alpha):
    plan = submitted(session, alpha)
    first = plan.version
    service.edit(session, plan, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), jbp_content())
    assert plan.version == first and plan.version_number == 1
    service.edit(session, plan, alpha.account, alpha.user(Role.ACCOUNT_MANAGER),
                 jbp_content(objectives=[{"en": "Keep payroll accuracy at 99.8 % or better."}]))
    assert plan.version_number == 2 and plan.version != first and plan.status is PlanStatus.IN_REVIEW


def test_a_resubmission_of_the_same_content_has_its_own_hash(session, alpha):
    plan = submitted(session, alpha)
    first = plan.version
    review(session, alpha, plan, Role.REGIONAL_REVIEWER, CHANGES, "Add a baseline for the close.")
    service.submit_for_review(session, plan, alpha.user(Role.ACCOUNT_MANAGER))
    assert plan.version != first and [v.number for v in plan.versions] == [1, 2]


def test_submitting_notifies_the_regional_reviewers_and_the_account_manager(session, alpha):
    plan = new_plan(session, alpha)
    service.submit_for_review(session, plan, build_admin(session))
    sent = session.scalars(sa.select(Notification).where(Notification.kind == "plan_review_requested")).all()
    recipients = {n.to_email for n in sent if "FY2028" in n.subject}
    assert recipients == {alpha.user(Role.REGIONAL_REVIEWER).email, alpha.user(Role.ACCOUNT_MANAGER).email}


# --- the firm's review -------------------------------------------------------------------


def test_the_firm_approves_when_every_assigned_regional_reviewer_has_approved(session, alpha):
    second = make_user(session, "second.reviewer@alpha.example", Role.REGIONAL_REVIEWER)
    assign(session, second, alpha.account)
    plan = submitted(session, alpha)
    review(session, alpha, plan, Role.REGIONAL_REVIEWER, APPROVE)
    assert plan.status is PlanStatus.IN_REVIEW
    assert not service.firm_approval(session, plan, alpha.account).complete
    # The account manager's approval would not stand in for an assigned reviewer's: refused.
    with pytest.raises(DomainError) as refused:
        review(session, alpha, plan, Role.ACCOUNT_MANAGER, APPROVE)
    assert refused.value.status == 403 and "Second.Reviewer" in str(refused.value.message)
    assert plan.status is PlanStatus.IN_REVIEW
    assert not any(r.reviewer_id == alpha.user(Role.ACCOUNT_MANAGER).id for r in plan.reviews)
    service.review(session, plan, alpha.account, second, decision=APPROVE)
    assert plan.status is PlanStatus.PENDING_SIGNOFF
    sent = session.scalars(sa.select(Notification).where(Notification.kind == "plan_awaiting_signoff")).all()
    assert {n.to_email for n in sent} == {alpha.user(Role.CLIENT_APPROVER).email}


def test_with_no_one_assigned_to_approve_for_the_firm_an_approval_is_refused_and_says_who_assigns(session, alpha):
    plan = submitted(session, alpha)
    alpha.user(Role.REGIONAL_REVIEWER).active = alpha.user(Role.ACCOUNT_MANAGER).active = False
    session.flush()
    with pytest.raises(DomainError) as refused:
        review(session, alpha, plan, Role.ACCOUNT_MANAGER, APPROVE)
    assert refused.value.status == 403 and "an administrator assigns" in str(refused.value.message)
    assert plan.status is PlanStatus.IN_REVIEW and plan.reviews == []


def test_without_an_assigned_regional_reviewer_the_account_manager_approves(session, alpha):
    alpha.user(Role.REGIONAL_REVIEWER).active = False
    plan = submitted(session, alpha)
    approval = service.firm_approval(session, plan, alpha.account)
    assert approval.rule == "account_manager" and [u.role for u in approval.required] == [Role.ACCOUNT_MANAGER]
    review(session, alpha, plan, Role.ACCOUNT_MANAGER, APPROVE)
    assert plan.status is PlanStatus.PENDING_SIGNOFF


def test_an_approval_counts_for_its_version_only(session, alpha):
    plan = submitted(session, alpha)
    review(session, alpha, plan, Role.REGIONAL_REVIEWER, APPROVE)
    assert plan.status is PlanStatus.PENDING_SIGNOFF
    service.edit(session, plan, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), jbp_content(risks=[]))
    assert plan.status is PlanStatus.IN_REVIEW and not service.firm_approval(session, plan, alpha.account).complete
    with pytest.raises(Conflict):
        review(session, alpha, plan, Role.REGIONAL_REVIEWER, APPROVE, version=plan.versions[0].content_hash)


def test_a_reviewer_approves_a_version_once(session, alpha):
    make_user(session, "other.reviewer@alpha.example", Role.REGIONAL_REVIEWER, assigned=[alpha.account])
    plan = submitted(session, alpha)
    review(session, alpha, plan, Role.REGIONAL_REVIEWER, APPROVE)
    with pytest.raises(Conflict):
        review(session, alpha, plan, Role.REGIONAL_REVIEWER, APPROVE)
    reviewer = alpha.user(Role.REGIONAL_REVIEWER)
    # The database keeps it so (migration 0032), whatever path a second approval takes.
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.add(PlanReview(account_id=plan.account_id, plan_id=plan.id, version_hash=plan.version,
                               reviewer_id=reviewer.id, decision=APPROVE, language="en"))
    approvals = [r for r in plan.reviews if r.decision is APPROVE and r.reviewer_id == reviewer.id]
    chained = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "plan.approve")).all()
    assert len(approvals) == 1 and len(chained) == 1 and chained[0].chain_seq is not None


def test_a_request_for_changes_sends_the_plan_back_and_the_next_version_shows_what_changed(session, alpha):
    plan = submitted(session, alpha)
    review(session, alpha, plan, Role.REGIONAL_REVIEWER, CHANGES, "Kế hoạch cần mốc thời gian cụ thể.",
           language="vi", section="kpis")
    assert plan.status is PlanStatus.CHANGES_REQUESTED
    entry = plan.reviews[-1]
    assert (entry.section, entry.language, entry.version_hash) == ("kpis", "vi", plan.version)
    told = session.scalars(sa.select(Notification).where(Notification.kind == "plan_reviewed")).all()
    assert alpha.user(Role.ACCOUNT_MANAGER).email in {n.to_email for n in told}
    changed = jbp_content(kpis=[{"name": {"en": "On-time payroll"}, "baseline": "97", "target": "99.8", "unit": "%",
                                 "kpi": "OTP"}],
                          risks=[*jbp_content()["risks"], {"risk": {"en": "Turnover"}, "mitigation": {"en": "Cover"}}])
    service.edit(session, plan, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), changed)
    assert plan.status is PlanStatus.CHANGES_REQUESTED and plan.version_number == 1  # not yet resubmitted
    service.submit_for_review(session, plan, alpha.user(Role.ACCOUNT_MANAGER))
    old, new = (service.version_content(v) for v in plan.versions)
    changes = plan_content.diff(old, new)
    assert [(c.section, c.row, c.field, c.kind, c.before, c.after) for c in changes] == [
        ("kpis", 1, "target", "changed", "99.5", "99.8"),
        ("risks", 2, None, "added", None, "Turnover"),
    ]


def test_who_may_review_and_when(session, alpha):
    plan = new_plan(session, alpha)
    with pytest.raises(DomainError) as refused:
        review(session, alpha, plan, Role.REGIONAL_REVIEWER, COMMENT, "Early thoughts")
    assert refused.value.status == 409  # a draft is not in review
    service.submit_for_review(session, plan, alpha.user(Role.ACCOUNT_MANAGER))
    for role in (Role.CLIENT_VIEWER, Role.FINANCE):
        with pytest.raises(DomainError) as refused:
            review(session, alpha, plan, role, COMMENT, "Hello")
        assert refused.value.status == 403
    with pytest.raises(DomainError) as refused:
        review(session, alpha, plan, Role.CLIENT_APPROVER, APPROVE)
    assert refused.value.fields == {"decision": "the client signs off instead"}
    with pytest.raises(DomainError) as refused:
        review(session, alpha, plan, Role.REGIONAL_REVIEWER, COMMENT, "")
    assert refused.value.fields == {"body": "required"}
    comment = review(session, alpha, plan, Role.CLIENT_APPROVER, COMMENT, "Please add the Manchester site.",
                     section="initiatives")
    assert comment.section == "initiatives" and plan.status is PlanStatus.IN_REVIEW


# --- translations ------------------------------------------------------------------------


def test_the_translation_gate_holds_the_plan_until_every_text_is_translated(session, alpha):
    alpha.account.document_languages = ["en", "zh"]
    plan = submitted(session, alpha)
    review(session, alpha, plan, Role.REGIONAL_REVIEWER, APPROVE)
    assert service.firm_approval(session, plan, alpha.account).complete
    assert plan.status is PlanStatus.IN_REVIEW  # approved, but not translated
    missing = service.gaps(plan, alpha.account)
    assert {(g.path, g.language, g.kind) for g in missing} == {
        ("objectives.0", "zh", "missing"), ("kpis.0.name", "zh", "missing"), ("initiatives.0.title", "zh", "missing"),
        ("budget.0.item", "zh", "missing"), ("budget.1.item", "zh", "missing"), ("risks.0.risk", "zh", "missing"),
        ("risks.0.mitigation", "zh", "missing"),
    }
    service.edit(session, plan, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), with_chinese(jbp_content()))
    assert service.gaps(plan, alpha.account) == []
    review(session, alpha, plan, Role.REGIONAL_REVIEWER, APPROVE)
    assert plan.status is PlanStatus.PENDING_SIGNOFF


def with_chinese(content: dict) -> dict:
    """Every text of ``content`` with a Chinese translation."""
    content = json.loads(json.dumps(content))
    for ref in plan_content.texts(content):
        row = content[ref.section][ref.index]
        text = row if ref.field is None else row[ref.field]
        text["zh"] = "译：" + text["en"]
    return content


def test_a_changed_english_text_makes_its_translation_stale(session, alpha):
    alpha.account.document_languages = ["en", "zh"]
    plan = new_plan(session, alpha, content=with_chinese(jbp_content()))
    assert service.gaps(plan, alpha.account) == []
    written = dict(plan.text_written_at["objectives.0"])
    later = with_chinese(jbp_content())
    later["objectives"][0]["en"] = "Keep payroll accuracy at 99.8 % or better."
    later["risks"][0]["risk"]["zh"] = "迟交文件"  # a new translation of an unchanged English text
    service.edit(session, plan, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), later)
    assert [(g.path, g.language, g.kind) for g in service.gaps(plan, alpha.account)] == [
        ("objectives.0", "zh", "stale")]
    assert plan.text_written_at["objectives.0"]["zh"] == written["zh"]
    assert plan.text_written_at["objectives.0"]["en"] > written["en"]
    # Translating it again clears the gate.
    later["objectives"][0]["zh"] = "薪资准确率保持在99.8%或以上。"
    service.edit(session, plan, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), later)
    assert service.gaps(plan, alpha.account) == []


def test_a_removed_row_does_not_make_the_rows_after_it_look_new(session, alpha):
    before = with_chinese(jbp_content(objectives=[{"en": "First"}, {"en": "Second"}]))
    times = plan_content.written_times({}, {}, before, utcnow() - timedelta(days=2))
    after = json.loads(json.dumps(before))
    after["objectives"] = after["objectives"][1:]
    after["objectives"][0]["en"] = "Second, sharpened"
    moved = plan_content.written_times(before, times, after, utcnow())
    assert moved["objectives.0"]["zh"] == times["objectives.1"]["zh"]  # found where it was
    assert [g.kind for g in plan_content.translation_gaps(after, moved, ["en", "zh"])] == ["stale"]


def test_a_reader_sees_their_language_else_english_marked_as_such():
    assert plan_content.pick({"en": "Close by day 4", "zh": "第4个工作日结账"}, "zh") == ("第4个工作日结账", "zh")
    assert plan_content.pick({"en": "Close by day 4"}, "vi") == ("Close by day 4", "en")
    assert plan_content.pick({"zh": "仅中文"}, "vi") == ("仅中文", "zh")
    assert plan_content.pick("Plain", "zh") == ("Plain", "en")


# --- the client's sign-off -----------------------------------------------------------------


def awaiting_signoff(session, world) -> Plan:
    return plan_awaiting_signoff(session, world, jbp_content())


def test_the_client_approver_signs_off_the_version_with_their_name_in_the_audit_chain(session, alpha):
    plan = awaiting_signoff(session, alpha)
    approver = alpha.user(Role.CLIENT_APPROVER)
    with pytest.raises(DomainError) as refused:
        service.sign_off(session, plan, alpha.account, approver, version=plan.version, signature_name="Someone Else")
    assert refused.value.status == 422
    with pytest.raises(Conflict):
        service.sign_off(session, plan, alpha.account, approver, version="f" * 64, signature_name=APPROVER_NAME)
    signoff = service.sign_off(session, plan, alpha.account, approver, version=plan.version,
                               signature_name=" client.APPROVER ", ip="203.0.113.9")
    assert plan.status is PlanStatus.SIGNED_OFF and service.current_signoff(plan) is signoff
    assert (signoff.version_hash, signoff.signature_name, signoff.user_id) == (plan.version, "client.APPROVER", approver.id)
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "plan.signed_off"))
    assert event.chain_seq is not None and event.data["version"] == plan.version and event.ip == "203.0.113.9"
    assert verify_chain(session).ok
    with pytest.raises(Conflict):
        service.sign_off(session, plan, alpha.account, approver, version=plan.version, signature_name=APPROVER_NAME)
    with pytest.raises(DomainError):
        service.edit(session, plan, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), jbp_content(risks=[]))
    assert session.scalar(sa.select(sa.func.count()).select_from(PlanSignoff)) == 1


def test_only_the_client_approver_signs_off(session, alpha):
    plan = awaiting_signoff(session, alpha)
    for role in (Role.CLIENT_VIEWER, Role.ACCOUNT_MANAGER, Role.REGIONAL_REVIEWER):
        user = alpha.user(role)
        with pytest.raises(DomainError) as refused:
            service.sign_off(session, plan, alpha.account, user, version=plan.version, signature_name=user.name)
        assert refused.value.status == 403
    other = build_account(session, "Bravo")
    with pytest.raises(DomainError) as refused:
        service.sign_off(session, plan, alpha.account, other.user(Role.CLIENT_APPROVER), version=plan.version,
                         signature_name="Client.Approver")
    assert refused.value.status == 403


def test_the_gate_is_checked_again_at_sign_off(session, alpha):
    plan = awaiting_signoff(session, alpha)
    alpha.account.document_languages = ["en", "vi"]  # changed after the firm approved
    with pytest.raises(DomainError) as refused:
        service.sign_off(session, plan, alpha.account, alpha.user(Role.CLIENT_APPROVER), version=plan.version,
                         signature_name=APPROVER_NAME)
    assert refused.value.status == 409 and "objectives.0.vi" in refused.value.fields
    assert plan.status is PlanStatus.PENDING_SIGNOFF


# --- progress ----------------------------------------------------------------------------


def test_kpis_show_their_latest_actual_against_the_plans_target(session, alpha):
    plan = new_plan(session, alpha, content=jbp_content(initiatives=[
        {"title": {"en": "Done"}, "owner": "A", "due": "2020-01-31", "status": "done"},
        {"title": {"en": "Late"}, "owner": "B", "due": (date.today() - timedelta(days=1)).isoformat(), "status": "at_risk"},
        {"title": {"en": "Later"}, "owner": "C", "due": (date.today() + timedelta(days=30)).isoformat()},
    ], kpis=[*jbp_content()["kpis"], {"name": {"en": "Happiness"}, "target": "9"}]))
    kpi = alpha["kpi"]
    older = date.today().replace(day=1) - timedelta(days=40)
    from portal.models import KpiMeasurement

    session.add(KpiMeasurement(account_id=alpha.account.id, kpi_id=kpi.id, period=older.replace(day=1),
                               actual=Decimal("90")))
    session.flush()
    progress = service.progress(session, plan, plan.content, date.today())
    measured, unlinked = progress.kpis
    assert (measured.actual, measured.period) == (Decimal("98.5"), date.today().replace(day=1))  # the latest month
    assert measured.attainment == Decimal("0.9899") and measured.status == "amber"  # 98.5 of the plan's 99.5
    assert unlinked.actual is None and unlinked.status == "none"
    assert progress.initiatives == {"done": 1, "at_risk": 1, "planned": 1}
    assert progress.overdue == [1]

"""Decisions by line and by the client's own authority (issue #22): a client approver
approves, rejects or counters each line; a counter-proposal the firm accepts becomes a
new version the client approves as a whole, and its amendment holds only the approved
lines. Above an approver's limit a second approver (one whose limit covers it, or the
account's higher authority) approves too, in any order, and the CR is approved once.

Account Alpha (factories): a contract line "Payroll" (100 × 10.00), threshold 50,000 USD."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal import audit
from portal.change_requests import service
from portal.change_requests.service import LineDecisionInput as Decide
from portal.documents.service import issue_amendment
from portal.domain import Conflict, DomainError
from portal.models import Approval, ApprovalStage, AuditEvent, ChangeRequest, CRStatus, Decision, LineVerdict, Role
from tests.conftest import csrf_token
from tests.docgen.reading import full_text, open_docx
from tests.factories import make_user
from tests.helpers import approver_of, latest, manager_of, post, signed_in
from tests.test_cr_concurrency import race, tokens_for
from tests.test_cr_service import add, draft, modify

APPROVER_NAME = "Client.Approver"
SECOND_NAME = "王晓梅"
SECOND = "wang.xiaomei@alpha.example"
CLIENT = "client.approver@alpha.example"
AM = "account.manager@alpha.example"
APPROVE, REJECT, COUNTER = LineVerdict.APPROVE, LineVerdict.REJECT, LineVerdict.COUNTER


def three_lines(session, world) -> ChangeRequest:
    """Pending client approval: 10 × 8.50 (Vietnam), 5 × 20.00 (Thailand), Payroll 100 → 120 × 10.00."""
    cr = draft(session, world, [add("10", "8.50", "Payroll, Vietnam"), add("5", "20.00", "Payroll, Thailand"),
                                modify(world["scope_line"], "120", "10.00")])
    service.submit(session, cr, world.account, manager_of(world))
    session.commit()
    return cr


def decide_lines(session, world, cr, decisions, *, by=None, name=APPROVER_NAME) -> Approval:
    approval = service.decide_lines(session, cr, world.account, by or approver_of(world), version=cr.version,
                                    lines=decisions, signature_name=name, ip="203.0.113.7")
    session.commit()
    return approval


def approvals(session, cr, **where) -> list[Approval]:
    query = sa.select(Approval).where(Approval.change_request_id == cr.id, Approval.stage == ApprovalStage.CLIENT)
    return list(latest(session).scalars(query.filter_by(**where).order_by(Approval.id)))


def events(session, cr, action) -> list[AuditEvent]:
    return list(latest(session).scalars(sa.select(AuditEvent).where(
        AuditEvent.object_type == "ChangeRequest", AuditEvent.object_id == cr.id, AuditEvent.action == action)))


def amendment_text(session, world, cr) -> str:
    document = issue_amendment(session, cr, world.account, manager_of(world), ["en"])
    session.commit()
    return full_text(open_docx(document.file.data))


@pytest.fixture
def limited(session, alpha):
    """Alpha's approver may approve up to 1,000.00 alone; 王晓梅, a second approver,
    is the account's higher authority."""
    approver_of(alpha).approval_limit = Decimal("1000")
    second = make_user(session, SECOND, Role.CLIENT_APPROVER, alpha.account, name=SECOND_NAME)
    second.higher_authority = True
    session.commit()
    alpha.objects["second"] = second
    return alpha


# --- line by line ----------------------------------------------------------------------


def test_every_line_approved_is_the_ordinary_approval(session, alpha):
    cr = three_lines(session, alpha)
    decide_lines(session, alpha, cr, [Decide(1, APPROVE), Decide(2, APPROVE), Decide(3, APPROVE)])
    assert latest(session).get(ChangeRequest, cr.id).status is CRStatus.APPROVED
    [approval] = approvals(session, cr)
    assert (approval.decision, approval.signature_name) == (Decision.APPROVED, APPROVER_NAME)
    assert [item["decision"] for item in approval.line_decisions] == ["approve"] * 3


def test_a_partial_decision_is_a_counter_proposal_with_each_lines_decision(session, alpha):
    cr = three_lines(session, alpha)
    decide_lines(session, alpha, cr, [Decide(1, APPROVE), Decide(2, REJECT, reason="Not in Thailand."),
                                      Decide(3, COUNTER, quantity=Decimal("110"), reason="110 is enough.")])
    cr = latest(session).get(ChangeRequest, cr.id)
    assert cr.status is CRStatus.COUNTERED and cr.client_visible
    [approval] = approvals(session, cr)
    assert approval.decision is Decision.COUNTERED
    rows = service.line_decision_rows(cr, service.counter_proposal(cr))
    assert [(r.number, r.decision, r.quantity, r.unit_price, r.reason) for r in rows] == [
        (1, APPROVE, None, None, ""), (2, REJECT, None, None, "Not in Thailand."),
        (3, COUNTER, Decimal("110"), Decimal("10.00"), "110 is enough.")]
    assert len(events(session, cr, "change_request.client_countered")) == 1


def test_every_line_rejected_is_the_ordinary_rejection(session, alpha):
    cr = three_lines(session, alpha)
    decide_lines(session, alpha, cr, [Decide(1, REJECT, reason="No."), Decide(2, REJECT, reason="No."),
                                      Decide(3, REJECT, reason="Too many.")])
    assert latest(session).get(ChangeRequest, cr.id).status is CRStatus.REJECTED
    [approval] = approvals(session, cr)
    assert approval.decision is Decision.REJECTED and "3. Too many." in approval.reason


@pytest.mark.parametrize(("decisions", "field"), [
    ([Decide(1, APPROVE), Decide(2, APPROVE)], "lines"),
    ([Decide(1, APPROVE), Decide(1, APPROVE), Decide(3, APPROVE)], "lines.1.line"),
    ([Decide(1, APPROVE), Decide(2, REJECT), Decide(3, APPROVE)], "lines.1.reason"),
    ([Decide(1, APPROVE), Decide(2, APPROVE), Decide(3, COUNTER, quantity=Decimal("120"))], "lines.2"),
    ([Decide(1, APPROVE), Decide(2, APPROVE), Decide(3, COUNTER, unit_price=Decimal("9.12345"))], "lines.2"),
])
def test_a_bad_line_decision_is_refused_naming_the_line(session, alpha, decisions, field):
    cr = three_lines(session, alpha)
    with pytest.raises(DomainError) as refused:
        decide_lines(session, alpha, cr, decisions)
    assert field in refused.value.fields
    session.rollback()
    assert approvals(session, cr) == []


def test_a_line_decision_needs_the_signature_and_the_current_version(session, alpha):
    cr = three_lines(session, alpha)
    with pytest.raises(DomainError):
        decide_lines(session, alpha, cr, [Decide(1, APPROVE), Decide(2, REJECT, reason="No."), Decide(3, APPROVE)],
                     name="Someone Else")
    session.rollback()
    stale = cr.version
    service.edit(session, cr, alpha.account, manager_of(alpha), title=dict(cr.title), description={}, in_scope=False,
                 effective_date=cr.effective_date, lines=[add("11", "8.50")])
    session.commit()
    with pytest.raises(Conflict):
        service.decide_lines(session, cr, alpha.account, approver_of(alpha), version=stale, lines=[Decide(1, APPROVE)],
                             signature_name=APPROVER_NAME)
    session.rollback()
    assert approvals(session, cr) == []


def test_an_accepted_counter_proposal_is_a_new_version_whose_amendment_holds_only_approved_lines(session, alpha):
    cr = three_lines(session, alpha)
    first_version = cr.version
    decide_lines(session, alpha, cr, [Decide(1, APPROVE), Decide(2, REJECT, reason="Not in Thailand."),
                                      Decide(3, COUNTER, quantity=Decimal("110"))])
    service.accept_counter(session, cr, alpha.account, manager_of(alpha))
    session.commit()
    cr = latest(session).get(ChangeRequest, cr.id)
    assert (cr.status, cr.version_number) == (CRStatus.PENDING_CLIENT_APPROVAL, 2) and cr.version != first_version
    assert [(line.description["en"], line.quantity) for line in cr.lines] == [
        ("Payroll, Vietnam", Decimal("10")), ("Payroll", Decimal("110"))]
    assert cr.price_impact == Decimal("185.00")  # 85.00 + (110 - 100) × 10.00
    assert len(events(session, cr, "change_request.counter_accepted")) == 1

    service.decide(session, cr, alpha.account, approver_of(alpha), version=cr.version, decision=Decision.APPROVED,
                   signature_name=APPROVER_NAME)
    session.commit()
    text = amendment_text(session, alpha, cr)
    assert "Payroll, Vietnam" in text and "Thailand" not in text and "110" in text
    assert cr.version in text


def test_a_counter_proposal_above_the_threshold_goes_to_internal_approval_again(session, alpha):
    cr = three_lines(session, alpha)
    decide_lines(session, alpha, cr, [Decide(1, APPROVE), Decide(2, REJECT, reason="No."),
                                      Decide(3, COUNTER, quantity=Decimal("9000"))])
    service.accept_counter(session, cr, alpha.account, manager_of(alpha))
    session.commit()
    assert latest(session).get(ChangeRequest, cr.id).status is CRStatus.PENDING_INTERNAL_APPROVAL


def test_the_firm_may_revise_a_counter_proposal_instead(session, alpha):
    cr = three_lines(session, alpha)
    decide_lines(session, alpha, cr, [Decide(1, APPROVE), Decide(2, REJECT, reason="No."), Decide(3, APPROVE)])
    service.edit(session, cr, alpha.account, manager_of(alpha), title=dict(cr.title), description={}, in_scope=False,
                 effective_date=cr.effective_date, lines=[add("12", "8.50")])
    session.commit()
    assert cr.status is CRStatus.DRAFT
    service.submit(session, cr, alpha.account, manager_of(alpha))
    session.commit()
    assert (cr.status, cr.version_number) == (CRStatus.PENDING_CLIENT_APPROVAL, 2)
    with pytest.raises(Conflict):
        service.accept_counter(session, cr, alpha.account, manager_of(alpha))


# --- the client's delegation of authority ----------------------------------------------------


def waiting_ids(client, headers) -> list[int]:
    items = client.get("/api/v1/inbox", headers=headers).json["items"]
    return [i["id"] for i in items if i["kind"] == "change_request_approval"]


def test_an_approver_over_their_limit_alone_leaves_the_cr_pending_waiting_for_a_second(app, session, limited, client,
                                                                                        auth):
    cr = three_lines(session, limited)  # price impact 85.00 + 100.00 + 200.00
    approver_of(limited).approval_limit = Decimal("100")
    third = make_user(session, "third.approver@alpha.example", Role.CLIENT_APPROVER, limited.account, name="Third")
    third.approval_limit = Decimal("300")
    session.commit()
    assert cr.id in waiting_ids(client, auth("third.approver@alpha.example"))
    cr = latest(session).get(ChangeRequest, cr.id)
    service.decide(session, cr, limited.account, approver_of(limited), version=cr.version, decision=Decision.APPROVED,
                   signature_name=APPROVER_NAME)
    session.commit()
    cr = latest(session).get(ChangeRequest, cr.id)
    assert cr.status is CRStatus.PENDING_CLIENT_APPROVAL and cr.decided_at is None
    standing = service.authority(session, cr, limited.account)
    assert standing.waiting and [u.name for u in standing.waiting_for] == [SECOND_NAME]
    with app.test_request_context():
        assert service.waiting_text(standing, cr.currency) == (
            f"Waiting for: {SECOND_NAME} or a client approver with a limit of $385.00 or more")
    # The inbox: the first approver no longer waits on themselves; the second does.
    assert cr.id not in waiting_ids(client, auth(CLIENT))
    assert cr.id in waiting_ids(client, auth(SECOND))
    assert cr.id not in waiting_ids(client, auth("third.approver@alpha.example")), "her limit cannot complete it"
    cr = latest(session).get(ChangeRequest, cr.id)  # SQLite: no write on a snapshot older than the API's
    with pytest.raises(Conflict):  # one decision per approver on a version
        service.decide(session, cr, limited.account, approver_of(limited), version=cr.version,
                       decision=Decision.APPROVED, signature_name=APPROVER_NAME)
    session.rollback()

    service.decide(session, cr, limited.account, limited["second"], version=cr.version, decision=Decision.APPROVED,
                   signature_name=SECOND_NAME)
    session.commit()
    cr = latest(session).get(ChangeRequest, cr.id)
    assert cr.status is CRStatus.APPROVED
    text = amendment_text(session, limited, cr)
    assert APPROVER_NAME in text and SECOND_NAME in text and text.count("Approved by") == 2


def test_within_the_limit_one_approver_approves_alone(session, limited):
    cr = limited["change_request"]  # 85.00
    service.decide(session, cr, limited.account, approver_of(limited), version=cr.version, decision=Decision.APPROVED,
                   signature_name=APPROVER_NAME)
    session.commit()
    assert latest(session).get(ChangeRequest, cr.id).status is CRStatus.APPROVED


def test_the_limit_applies_to_the_absolute_price_impact(session, limited):
    approver_of(limited).approval_limit = Decimal("100")
    session.commit()
    cr = draft(session, limited, [modify(limited["scope_line"], "50", "10.00")])  # -500.00
    service.submit(session, cr, limited.account, manager_of(limited))
    service.decide(session, cr, limited.account, approver_of(limited), version=cr.version, decision=Decision.APPROVED,
                   signature_name=APPROVER_NAME)
    session.commit()
    assert latest(session).get(ChangeRequest, cr.id).status is CRStatus.PENDING_CLIENT_APPROVAL


def approve_call(cr, headers, name):
    url, version = f"/api/v1/change-requests/{cr.id}/approve", cr.version
    return lambda client: client.post(url, headers=headers, json={"version": version, "signature_name": name})


def test_sixteen_concurrent_approvals_by_each_of_two_approvers_approve_once(app, session, limited):
    """The first approver's limit is below the price impact, 王晓梅 is the higher
    authority: an approval of the first recorded before hers leaves the CR pending and
    hers completes it; hers alone, first, approves it (the first's then come too late).
    Either way each approver has at most one row, hers exactly one, and the CR is
    approved exactly once."""
    approver_of(limited).approval_limit = Decimal("10")
    session.commit()
    cr = limited["change_request"]  # 85.00
    first = tokens_for(session, approver_of(limited), 16)
    second = tokens_for(session, limited["second"], 16)
    calls = [approve_call(cr, h, APPROVER_NAME) for h in first] + [approve_call(cr, h, SECOND_NAME) for h in second]
    answers = race(app, calls)

    assert all(status in (200, 409) for status, _ in answers)
    rows = approvals(session, cr)
    per_approver = Counter(a.user_id for a in rows)
    assert per_approver[limited["second"].id] == 1 and per_approver[approver_of(limited).id] <= 1
    assert Counter(status for status, _ in answers)[200] == len(rows)
    stored = latest(session).get(ChangeRequest, cr.id)
    assert stored.status is CRStatus.APPROVED
    assert len(events(session, cr, "change_request.client_approved")) == len(rows)
    assert len(events(session, cr, "change_request.approved_jointly")) == (1 if len(rows) == 2 else 0)
    assert audit.verify_chain(session).ok


def test_sixteen_concurrent_approvals_each_by_two_limited_approvers_record_both_then_approve_once(app, session,
                                                                                                  limited):
    """Neither approver alone covers the CR: each's limit is below it, and the second's
    approval is needed whichever comes first; the higher authority's is the one that
    covers. Every approver gets exactly one row, the CR moves to approved exactly once."""
    approver_of(limited).approval_limit = Decimal("10")
    third = make_user(session, "third.approver@alpha.example", Role.CLIENT_APPROVER, limited.account,
                      name="Third Approver")
    third.approval_limit = Decimal("50")
    session.commit()
    cr = limited["change_request"]  # 85.00
    callers = [(approver_of(limited), APPROVER_NAME), (third, "Third Approver")]
    calls = [approve_call(cr, h, name) for user, name in callers for h in tokens_for(session, user, 16)]
    answers = race(app, calls)

    assert Counter(status for status, _ in answers) == {200: 2, 409: 30}
    rows = approvals(session, cr)
    assert sorted(a.user_id for a in rows) == sorted([approver_of(limited).id, third.id])
    assert latest(session).get(ChangeRequest, cr.id).status is CRStatus.PENDING_CLIENT_APPROVAL
    assert len(events(session, cr, "change_request.client_approved")) == 2

    service.decide(session, cr, limited.account, limited["second"], version=cr.version, decision=Decision.APPROVED,
                   signature_name=SECOND_NAME)
    session.commit()
    assert latest(session).get(ChangeRequest, cr.id).status is CRStatus.APPROVED
    assert len(events(session, cr, "change_request.approved_jointly")) == 1
    assert audit.verify_chain(session).ok


# --- the page and the API ------------------------------------------------------------------


def test_the_approver_decides_line_by_line_on_the_page_and_the_firm_accepts(session, alpha, new_browser):
    cr = three_lines(session, alpha)
    approver = signed_in(new_browser, CLIENT)
    url = f"/change-requests/{cr.id}"
    page = approver.get(url).text
    assert "Decide line by line" in page and 'name="by_line-lines-2-decision"' in page
    form = {"by_line-csrf_token": csrf_token(page), "by_line-version": cr.version,
            "by_line-signature_name": APPROVER_NAME, "by_line-consent": "y",
            "by_line-lines-0-decision": "approve", "by_line-lines-1-decision": "reject",
            "by_line-lines-1-reason": "Not in Thailand.", "by_line-lines-2-decision": "counter",
            "by_line-lines-2-quantity": "110"}
    response = approver.client.post(f"{url}/line-decisions", data=form)
    assert response.status_code == 302
    page = approver.get(url).text
    assert "Counter-proposal" in page and "Not in Thailand." in page
    assert latest(session).get(ChangeRequest, cr.id).status is CRStatus.COUNTERED

    am = signed_in(new_browser, AM)
    assert "Accept the counter-proposal" in am.get(url).text
    assert am.post_form(f"{url}/accept-counter", {}, page=url).status_code == 302
    cr = latest(session).get(ChangeRequest, cr.id)
    assert (cr.status, cr.version_number, len(cr.lines)) == (CRStatus.PENDING_CLIENT_APPROVAL, 2, 2)


def test_the_page_shows_who_approved_and_who_is_still_needed(session, limited, new_browser):
    cr = limited["change_request"]
    approver_of(limited).approval_limit = Decimal("10")
    session.commit()
    service.decide(session, cr, limited.account, approver_of(limited), version=cr.version, decision=Decision.APPROVED,
                   signature_name=APPROVER_NAME)
    session.commit()
    page = signed_in(new_browser, AM).get(f"/change-requests/{cr.id}").text
    assert f"Approved by {APPROVER_NAME}" in page
    assert f"Waiting for: {SECOND_NAME} or a client approver with a limit of $85.00 or more" in page
    mine = signed_in(new_browser, CLIENT).get(f"/change-requests/{cr.id}").text
    assert 'name="signature_name"' not in mine, "no second decision is offered to the first approver"
    other = three_lines(latest(session), limited)  # SQLite: no write on a snapshot older than the pages'
    assert "above your approval limit of $10.00" in signed_in(new_browser, CLIENT).get(f"/change-requests/{other.id}").text
    assert 'name="signature_name"' in signed_in(new_browser, SECOND).get(f"/change-requests/{cr.id}").text


def test_line_decisions_and_the_counter_proposal_through_the_api(session, alpha, client, auth):
    cr = three_lines(session, alpha)
    url = f"/api/v1/change-requests/{cr.id}"
    body = {"version": cr.version, "signature_name": APPROVER_NAME, "lines": [
        {"line": 1, "decision": "approve"}, {"line": 2, "decision": "reject", "reason": "Not in Thailand."},
        {"line": 3, "decision": "counter", "unit_price": "9.50"}]}
    response = post(client, f"{url}/line-decisions", auth(CLIENT), body)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "countered"
    assert [(i["line"], i["decision"], i["unit_price"]) for i in response.json["counter_proposal"]["lines"]] == [
        (1, "approve", None), (2, "reject", None), (3, "counter", "9.50")]
    assert post(client, f"{url}/line-decisions", auth(CLIENT), body).status_code == 409
    assert post(client, f"{url}/accept-counter", auth(CLIENT), {}).status_code == 403

    accepted = post(client, f"{url}/accept-counter", auth(AM), {})
    assert accepted.status_code == 200, accepted.json
    assert (accepted.json["status"], accepted.json["version_number"]) == ("pending_client_approval", 2)
    assert [line["unit_price"] for line in accepted.json["lines"]] == ["8.50", "9.50"]


def test_the_api_shows_who_approved_and_who_is_still_needed(session, limited, client, auth):
    cr = limited["change_request"]
    approver_of(limited).approval_limit = Decimal("10")
    session.commit()
    response = post(client, f"/api/v1/change-requests/{cr.id}/approve", auth(CLIENT),
                    {"version": cr.version, "signature_name": APPROVER_NAME})
    assert response.status_code == 200, response.json
    assert response.json["status"] == "pending_client_approval"
    assert [a["signature_name"] for a in response.json["client_approvals"]] == [APPROVER_NAME]
    waiting = response.json["waiting_for"]
    assert [a["name"] for a in waiting["approvers"]] == [SECOND_NAME] and waiting["minimum_limit"] == "85.00"


# --- where the limits are set -----------------------------------------------------------------


def test_the_account_manager_sets_the_limits_on_the_people_page(session, limited, new_browser):
    url = f"/accounts/{limited.account.id}/approval-limits"
    am = signed_in(new_browser, AM)
    page = am.get(url).text
    assert SECOND_NAME in page and 'value="1000.00"' in page
    first, second = approver_of(limited), limited["second"]
    rows = {i: u for i, u in enumerate(sorted([first, second], key=lambda u: (u.name, u.id)))}
    form = {"higher_authority": str(first.id), "save": "Save"}
    for i, user in rows.items():
        form[f"limits-{i}-user_id"] = str(user.id)
        form[f"limits-{i}-limit"] = "250000" if user is first else ""
    assert am.post_form(url, form, page=url).status_code == 302
    session.expire_all()
    first, second = latest(session).get(type(first), first.id), session.get(type(second), second.id)
    assert (first.approval_limit, first.higher_authority) == (Decimal("250000"), True)
    assert (second.approval_limit, second.higher_authority) == (None, False)
    assert signed_in(new_browser, CLIENT).get(url).status_code == 403


def test_the_limits_through_the_api(session, limited, client, auth):
    url = f"/api/v1/accounts/{limited.account.id}/approval-limits"
    body = {"approvers": [{"user_id": approver_of(limited).id, "approval_limit": "5000"}],
            "higher_authority_id": limited["second"].id}
    response = client.put(url, headers=auth(AM), json=body)
    assert response.status_code == 200, response.json
    by_name = {a["name"]: a for a in response.json["approvers"]}
    assert by_name[APPROVER_NAME]["approval_limit"] == "5000.00" and by_name[SECOND_NAME]["higher_authority"]
    assert client.put(url, headers=auth(CLIENT), json=body).status_code == 403
    bad = {"approvers": [{"user_id": limited.user(Role.CLIENT_VIEWER).id, "approval_limit": "1"}]}
    assert client.put(url, headers=auth(AM), json=bad).status_code == 422


def test_the_amendment_lists_every_approver_in_each_language(session, limited):
    limited.account.document_languages = ["en", "zh", "vi"]
    approver_of(limited).approval_limit = Decimal("10")
    cr = limited["change_request"]  # every text in the three languages
    session.commit()
    for user, name in ((approver_of(limited), APPROVER_NAME), (limited["second"], SECOND_NAME)):
        service.decide(session, cr, limited.account, user, version=cr.version, decision=Decision.APPROVED,
                       signature_name=name)
        session.commit()
    for languages, label in ((["zh"], "批准人"), (["vi"], "Người phê duyệt"), (["en"], "Approved by")):
        document = issue_amendment(session, cr, limited.account, manager_of(limited), languages)
        session.commit()
        text = full_text(open_docx(document.file.data))
        assert text.count(label) == 2 and SECOND_NAME in text and APPROVER_NAME in text, languages

"""Service requests in the service layer: SLA clocks from the contract in the account's
business time, the pause while waiting on the client, escalation (automatic and by
hand), the workflow's transitions, assignment, internal notes, feedback and CSAT.

Times are fixed with ``now=``: the account is in Shanghai (CN holidays), and the
request is raised on Friday 13 March 2026 at 17:30 local time, so every due time
below can be checked by hand against a calendar (business day 09:00-18:00)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from portal.models import (
    ActionItem,
    ActionSource,
    AuditEvent,
    Escalation,
    EscalationContact,
    EscalationTrigger,
    Feedback,
    Priority,
    RequestCategory,
    RequestStatus,
    Role,
    ServiceRequest,
    SlaTarget,
)
from portal.service_requests import service
from portal.domain import DomainError
from tests import factories
from tests.factories import build_account, build_admin
from tests.helpers import approver_of, manager_of, notifications, utc

SHANGHAI = ZoneInfo("Asia/Shanghai")


def cst(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=SHANGHAI)


FRIDAY_EVENING = cst(2026, 3, 13, 17, 30)
raise_request = partial(factories.raise_request, now=FRIDAY_EVENING)  # unless a test says when


@pytest.fixture
def alpha(alpha, session):
    """Alpha in Shanghai with a three-level escalation matrix."""
    alpha.account.timezone, alpha.account.country = "Asia/Shanghai", "CN"
    session.add_all([
        EscalationContact(account_id=alpha.account.id, level=2, name="Level Two", email="l2@alpha.example"),
        EscalationContact(account_id=alpha.account.id, level=3, name="Level Three", email="l3@alpha.example"),
    ])
    session.commit()
    return alpha


def escalations_of(session, request) -> list[Escalation]:
    return list(session.scalars(sa.select(Escalation).where(Escalation.request_id == request.id).order_by(Escalation.id)))


# --- SLA clocks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "first_response_due", "resolution_due"),
    [
        # The contract's target (540/1620 business minutes): 30 minutes on Friday, the
        # rest from Monday 09:00 in Shanghai. Saturday and Sunday count nothing.
        pytest.param(Priority.NORMAL, cst(2026, 3, 16, 17, 30), cst(2026, 3, 18, 17, 30), id="normal-from-contract"),
        # No target in the contract: the defaults (urgent 60/240, low 1080/2700).
        pytest.param(Priority.URGENT, cst(2026, 3, 16, 9, 30), cst(2026, 3, 16, 12, 30), id="urgent-default"),
        pytest.param(Priority.LOW, cst(2026, 3, 17, 17, 30), cst(2026, 3, 20, 17, 30), id="low-default"),
    ],
)
def test_due_times_count_business_hours_in_the_accounts_time_zone(session, alpha, priority, first_response_due,
                                                                    resolution_due):
    request = raise_request(session, alpha, priority=priority)
    session.expire_all()
    stored = session.scalar(sa.select(ServiceRequest).where(ServiceRequest.id == request.id))
    assert stored.first_response_due_at == first_response_due
    assert stored.resolution_due_at == resolution_due
    assert (stored.status, stored.escalation_level) == (RequestStatus.OPEN, 1)


def test_a_contract_target_for_the_priority_overrides_the_default(session, alpha):
    session.add(SlaTarget(account_id=alpha.account.id, contract_id=alpha["contract"].id, priority=Priority.HIGH,
                          first_response_minutes=120, resolution_minutes=480))
    session.commit()
    request = raise_request(session, alpha, priority=Priority.HIGH)
    # Default for high would be 240/540 (Monday 12:30 and 17:30).
    assert request.first_response_due_at == cst(2026, 3, 16, 10, 30)
    assert request.resolution_due_at == cst(2026, 3, 16, 16, 30)


def test_a_round_the_clock_contract_target_counts_wall_time(session, alpha):
    session.add(SlaTarget(account_id=alpha.account.id, contract_id=alpha["contract"].id, priority=Priority.URGENT,
                          first_response_minutes=60, resolution_minutes=240, business_hours=False))
    session.commit()
    request = raise_request(session, alpha, priority=Priority.URGENT)
    assert request.first_response_due_at == cst(2026, 3, 13, 18, 30)
    assert request.resolution_due_at == cst(2026, 3, 13, 21, 30)


def test_the_same_moment_is_a_weekend_in_shanghai_but_a_weekday_in_london(session, alpha):
    """Saturday 07:00 in Shanghai is Friday 23:00 in London: the calendar is the account's."""
    moment = utc(2026, 3, 13, 23)
    in_shanghai = raise_request(session, alpha, priority=Priority.URGENT, now=moment)
    alpha.account.timezone, alpha.account.country = "Europe/London", "GB"
    session.commit()
    in_london = raise_request(session, alpha, priority=Priority.URGENT, now=moment)
    assert in_shanghai.first_response_due_at == cst(2026, 3, 16, 10)
    assert in_london.first_response_due_at == utc(2026, 3, 16, 10)


def _pause_and_resume_by_client_reply(session, world, request, at):
    service.add_comment(session, request, world.account, approver_of(world), "Here is the file.", now=at)


def _pause_and_resume_by_status_change(session, world, request, at):
    service.change_status(session, request, world.account, manager_of(world), RequestStatus.IN_PROGRESS, now=at)


@pytest.mark.parametrize("resume", [_pause_and_resume_by_client_reply, _pause_and_resume_by_status_change],
                         ids=["client-reply", "status-change"])
def test_waiting_on_the_client_moves_both_due_times_by_the_business_time_waited(session, alpha, resume):
    request = raise_request(session, alpha)
    # Paused on Monday 11:00 before any reply, resumed on Tuesday 15:00: 420 + 360 = 780
    # business minutes spent waiting.
    service.change_status(session, request, alpha.account, manager_of(alpha), RequestStatus.WAITING_CLIENT,
                          now=cst(2026, 3, 16, 11))
    session.commit()
    assert request.first_response_due_at == cst(2026, 3, 16, 17, 30)  # unchanged while paused
    resume(session, alpha, request, cst(2026, 3, 17, 15))
    session.commit()
    session.expire_all()
    stored = session.scalar(sa.select(ServiceRequest).where(ServiceRequest.id == request.id))
    assert stored.status is RequestStatus.IN_PROGRESS
    assert stored.waiting_since is None
    # Monday 17:30 + 780: 30 on Monday, 540 on Tuesday, 210 on Wednesday.
    assert stored.first_response_due_at == cst(2026, 3, 18, 12, 30)
    # Wednesday 17:30 + 780: 30 on Wednesday, 540 on Thursday, 210 on Friday.
    assert stored.resolution_due_at == cst(2026, 3, 20, 12, 30)


def test_answered_request_moves_only_the_resolution_due_time(session, alpha):
    request = raise_request(session, alpha)
    service.add_comment(session, request, alpha.account, manager_of(alpha), "Looking into it.", now=cst(2026, 3, 16, 10))
    service.change_status(session, request, alpha.account, manager_of(alpha), RequestStatus.WAITING_CLIENT,
                          now=cst(2026, 3, 16, 11))
    service.add_comment(session, request, alpha.account, approver_of(alpha), "Sent.", now=cst(2026, 3, 17, 15))
    session.commit()
    assert request.first_responded_at == cst(2026, 3, 16, 10)
    assert request.first_response_due_at == cst(2026, 3, 16, 17, 30)
    assert request.resolution_due_at == cst(2026, 3, 20, 12, 30)


def test_waiting_over_a_weekend_costs_no_business_time(session, alpha):
    request = raise_request(session, alpha, now=cst(2026, 3, 11, 10))
    due = request.resolution_due_at
    service.change_status(session, request, alpha.account, manager_of(alpha), RequestStatus.WAITING_CLIENT,
                          now=cst(2026, 3, 13, 18))
    service.add_comment(session, request, alpha.account, approver_of(alpha), "Back.", now=cst(2026, 3, 16, 8, 59))
    assert request.resolution_due_at == due


def test_a_request_waiting_on_the_client_is_not_overdue(session, alpha):
    request = raise_request(session, alpha)
    late = cst(2026, 3, 30, 12)
    assert service.is_overdue(request, late)
    service.change_status(session, request, alpha.account, manager_of(alpha), RequestStatus.WAITING_CLIENT,
                          now=cst(2026, 3, 16, 11))
    assert not service.is_overdue(request, late)


def test_the_firms_first_public_reply_stops_the_first_response_clock(session, alpha):
    request = raise_request(session, alpha)
    service.add_comment(session, request, alpha.account, manager_of(alpha), "Note to self", internal=True,
                        now=cst(2026, 3, 16, 9, 30))
    assert (request.first_responded_at, request.status) == (None, RequestStatus.OPEN)
    assert service.next_due(request) == cst(2026, 3, 16, 17, 30)
    service.add_comment(session, request, alpha.account, manager_of(alpha), "On it.", now=cst(2026, 3, 16, 10))
    assert request.first_responded_at == cst(2026, 3, 16, 10)
    assert request.status is RequestStatus.IN_PROGRESS
    assert service.next_due(request) == cst(2026, 3, 18, 17, 30)


# --- automatic escalation --------------------------------------------------------------


def test_sla_check_escalates_each_breach_once(session, alpha):
    request = raise_request(session, alpha)
    before_due = cst(2026, 3, 16, 17, 29)
    assert service.check_sla(session, now=before_due) == []

    after_first_response_due = cst(2026, 3, 16, 17, 31)
    first = service.check_sla(session, now=after_first_response_due)
    session.commit()
    assert [(e.request_id, e.from_level, e.to_level, e.trigger) for e in first] == [
        (request.id, 1, 2, EscalationTrigger.FIRST_RESPONSE_BREACH)]
    assert service.check_sla(session, now=after_first_response_due) == []
    assert service.check_sla(session, now=cst(2026, 3, 17, 12)) == []

    after_resolution_due = cst(2026, 3, 18, 17, 31)
    second = service.check_sla(session, now=after_resolution_due)
    session.commit()
    assert [(e.from_level, e.to_level, e.trigger) for e in second] == [(2, 3, EscalationTrigger.RESOLUTION_BREACH)]
    assert service.check_sla(session, now=after_resolution_due + timedelta(days=3)) == []
    session.commit()
    assert len(escalations_of(session, request)) == 2
    assert request.escalation_level == 3


def test_sla_check_at_the_top_level_records_the_breach_without_escalating(session, alpha):
    request = raise_request(session, alpha)
    request.escalation_level = 3
    session.commit()
    assert service.check_sla(session, now=cst(2026, 3, 30)) == []
    assert request.first_response_breached_at == cst(2026, 3, 30)
    assert request.resolution_breached_at == cst(2026, 3, 30)
    assert escalations_of(session, request) == []


def test_sla_check_skips_requests_waiting_on_the_client(session, alpha):
    request = raise_request(session, alpha)
    service.change_status(session, request, alpha.account, manager_of(alpha), RequestStatus.WAITING_CLIENT,
                          now=cst(2026, 3, 16, 11))
    session.commit()
    assert service.check_sla(session, now=cst(2026, 3, 30)) == []
    assert request.escalation_level == 1
    assert request.first_response_breached_at is None


@pytest.mark.parametrize("status", [RequestStatus.RESOLVED, RequestStatus.CLOSED])
def test_sla_check_skips_finished_requests(session, alpha, status):
    request = raise_request(session, alpha)
    service.change_status(session, request, alpha.account, manager_of(alpha), status, now=cst(2026, 3, 16, 11))
    session.commit()
    assert service.check_sla(session, now=cst(2026, 3, 30)) == []


def test_a_first_response_in_time_is_not_a_breach(session, alpha):
    request = raise_request(session, alpha)
    service.add_comment(session, request, alpha.account, manager_of(alpha), "On it.", now=cst(2026, 3, 16, 10))
    session.commit()
    assert service.check_sla(session, now=cst(2026, 3, 17, 12)) == []
    assert request.escalation_level == 1


def test_an_escalation_is_audited_and_notifies_the_contacts_of_the_new_level(session, alpha):
    request = raise_request(session, alpha)
    [escalation] = service.check_sla(session, now=cst(2026, 3, 16, 17, 31))
    session.commit()
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "request.escalated"))
    assert (event.object_type, event.object_id, event.account_id) == ("ServiceRequest", request.id, alpha.account.id)
    assert event.data == {"from": 1, "to": 2, "trigger": "first_response_breach", "reason": ""}
    emails = {n.to_email for n in notifications(session, "request_escalated")}
    assert "l2@alpha.example" in emails
    assert {"l1@alpha.example", "l3@alpha.example"}.isdisjoint(emails)
    assert all(n.account_id == alpha.account.id for n in notifications(session, "request_escalated"))


# --- escalation by hand ----------------------------------------------------------------


def test_the_client_escalates_by_hand_with_a_reason(session, alpha):
    request = raise_request(session, alpha)
    client = approver_of(alpha)
    escalation = service.escalate(session, request, alpha.account, client, trigger=EscalationTrigger.CLIENT,
                                  reason="  Payroll is due tomorrow.  ", now=cst(2026, 3, 16, 9))
    session.commit()
    assert (escalation.from_level, escalation.to_level, escalation.trigger) == (1, 2, EscalationTrigger.CLIENT)
    assert (escalation.reason, escalation.created_by_id) == ("Payroll is due tomorrow.", client.id)
    assert request.escalation_level == 2
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "request.escalated"))
    assert (event.actor_id, event.data["trigger"]) == (client.id, "client")
    assert "l2@alpha.example" in {n.to_email for n in notifications(session, "request_escalated")}


def test_escalating_beyond_level_three_is_refused_with_a_message(session, alpha):
    request = raise_request(session, alpha)
    for _ in range(2):
        service.escalate(session, request, alpha.account, approver_of(alpha), trigger=EscalationTrigger.CLIENT, reason="r")
    session.commit()
    with pytest.raises(DomainError) as refused:
        service.escalate(session, request, alpha.account, approver_of(alpha), trigger=EscalationTrigger.CLIENT, reason="r")
    assert refused.value.status == 409
    assert str(refused.value.message) == "This request is already at the highest escalation level."
    session.rollback()
    assert request.escalation_level == 3
    assert len(escalations_of(session, request)) == 2


@pytest.mark.parametrize("status", [RequestStatus.RESOLVED, RequestStatus.CLOSED])
def test_a_finished_request_cannot_be_escalated(session, alpha, status):
    request = raise_request(session, alpha)
    service.change_status(session, request, alpha.account, manager_of(alpha), status)
    with pytest.raises(DomainError):
        service.escalate(session, request, alpha.account, approver_of(alpha), trigger=EscalationTrigger.CLIENT, reason="r")
    assert request.escalation_level == 1


# --- workflow --------------------------------------------------------------------------

S = RequestStatus


@pytest.mark.parametrize(
    ("path", "role", "target", "allowed"),
    [
        ([], Role.ACCOUNT_MANAGER, S.IN_PROGRESS, True),
        ([], Role.ACCOUNT_MANAGER, S.RESOLVED, True),
        ([], Role.ACCOUNT_MANAGER, S.OPEN, False),
        ([S.WAITING_CLIENT], Role.FINANCE, S.RESOLVED, True),
        ([S.RESOLVED], Role.ACCOUNT_MANAGER, S.IN_PROGRESS, True),  # reopened by the firm
        ([S.RESOLVED], Role.ACCOUNT_MANAGER, S.WAITING_CLIENT, False),
        ([S.CLOSED], Role.ACCOUNT_MANAGER, S.IN_PROGRESS, False),
        ([S.CLOSED], Role.ACCOUNT_MANAGER, S.OPEN, False),
        ([], Role.CLIENT_APPROVER, S.RESOLVED, False),
        ([], Role.CLIENT_APPROVER, S.CLOSED, False),
        ([S.IN_PROGRESS], Role.CLIENT_VIEWER, S.WAITING_CLIENT, False),
        ([S.RESOLVED], Role.CLIENT_APPROVER, S.IN_PROGRESS, True),  # reopened by the client
        ([S.RESOLVED], Role.CLIENT_VIEWER, S.CLOSED, True),  # confirmed by the client
    ],
)
def test_status_changes_follow_the_allowed_transitions(session, alpha, path, role, target, allowed):
    request = raise_request(session, alpha)
    for step in path:
        service.change_status(session, request, alpha.account, manager_of(alpha), step)
    before = request.status
    if allowed:
        service.change_status(session, request, alpha.account, alpha.user(role), target)
        assert request.status is target
    else:
        with pytest.raises(DomainError):
            service.change_status(session, request, alpha.account, alpha.user(role), target)
        assert request.status is before


def test_reopening_clears_the_resolution_and_a_status_change_is_audited(session, alpha):
    request = raise_request(session, alpha)
    service.change_status(session, request, alpha.account, manager_of(alpha), S.RESOLVED, now=cst(2026, 3, 16, 12))
    assert request.resolved_at == cst(2026, 3, 16, 12)
    service.change_status(session, request, alpha.account, approver_of(alpha), S.IN_PROGRESS, now=cst(2026, 3, 16, 13))
    session.commit()
    assert request.resolved_at is None
    changes = session.scalars(sa.select(AuditEvent.data).where(AuditEvent.action == "request.status_changed")
                              .order_by(AuditEvent.id)).all()
    assert changes == [{"from": "open", "to": "resolved"}, {"from": "resolved", "to": "in_progress"}]


def test_a_closed_request_takes_no_more_replies(session, alpha):
    request = raise_request(session, alpha)
    service.change_status(session, request, alpha.account, manager_of(alpha), S.CLOSED)
    with pytest.raises(DomainError) as refused:
        service.add_comment(session, request, alpha.account, approver_of(alpha), "Hello?")
    assert refused.value.status == 409


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("account_manager", True), ("finance", True), ("admin", True), ("regional_reviewer", False),
     ("client_approver", False), ("other_account_manager", False)],
)
def test_requests_are_assigned_only_to_the_accounts_team(session, alpha, who, allowed):
    bravo = build_account(session, "Bravo")
    admin = build_admin(session)
    session.commit()
    assignee = {"admin": admin, "other_account_manager": manager_of(bravo)}.get(who) or alpha.user(Role(who))
    request = raise_request(session, alpha)
    if allowed:
        service.assign(session, request, alpha.account, manager_of(alpha), assignee)
        assert request.assignee_id == assignee.id
    else:
        with pytest.raises(DomainError) as refused:
            service.assign(session, request, alpha.account, manager_of(alpha), assignee)
        assert refused.value.status == 422
        assert request.assignee_id == manager_of(alpha).id  # the default: the account manager


# --- internal notes --------------------------------------------------------------------


def test_internal_notes_and_their_attachments_are_the_firms_only(session, alpha):
    from portal.files import check_upload

    request = raise_request(session, alpha)
    public = service.add_comment(session, request, alpha.account, manager_of(alpha), "Dear client",
                                 files=[check_upload("public.txt", b"for the client")])
    internal = service.add_comment(session, request, alpha.account, manager_of(alpha), "Client is difficult",
                                   internal=True, files=[check_upload("internal.txt", b"firm only")])
    session.commit()
    session.expire(request)
    client, manager = approver_of(alpha), manager_of(alpha)
    assert [c.id for c in service.visible_comments(request, client)] == [public.id]
    assert [c.id for c in service.visible_comments(request, manager)] == [public.id, internal.id]
    assert [a.file.filename for a in service.visible_attachments(request, client)] == ["public.txt"]
    assert sorted(a.file.filename for a in service.visible_attachments(request, manager)) == ["internal.txt", "public.txt"]


def test_a_client_cannot_write_an_internal_note(session, alpha):
    request = raise_request(session, alpha)
    comment = service.add_comment(session, request, alpha.account, approver_of(alpha), "Secret?", internal=True)
    assert comment.internal is False


# --- feedback --------------------------------------------------------------------------


@pytest.mark.parametrize(("rating", "opens_action"), [(1, True), (2, True), (3, False), (5, False)])
def test_a_rating_of_two_or_less_opens_an_action_for_the_account_manager_due_in_seven_days(session, alpha, rating,
                                                                                          opens_action):
    # Friday 20:00 UTC is already Saturday 14 March in Shanghai.
    feedback = service.give_feedback(session, alpha.account, approver_of(alpha), rating=rating, comment="Slow answers",
                                     now=utc(2026, 3, 13, 20))
    session.commit()
    actions = session.scalars(sa.select(ActionItem).where(ActionItem.feedback_id == feedback.id)).all()
    if not opens_action:
        assert actions == []
        assert notifications(session, "feedback_low") == []
        return
    [action] = actions
    assert action.owner_id == manager_of(alpha).id
    assert (action.source, action.due_date) == (ActionSource.FEEDBACK, date(2026, 3, 21))
    assert action.created_at == utc(2026, 3, 13, 20)  # raised when the rating was given
    assert action.account_id == alpha.account.id
    assert [n.to_email for n in notifications(session, "feedback_low")] == ["account.manager@alpha.example"]


def test_feedback_on_a_request_waits_until_it_is_resolved_and_is_given_once(session, alpha):
    request = raise_request(session, alpha)
    with pytest.raises(DomainError) as unresolved:
        service.give_feedback(session, alpha.account, approver_of(alpha), rating=4, request=request)
    assert unresolved.value.status == 409
    service.change_status(session, request, alpha.account, manager_of(alpha), S.RESOLVED)
    service.give_feedback(session, alpha.account, approver_of(alpha), rating=4, request=request)
    with pytest.raises(DomainError) as twice:
        service.give_feedback(session, alpha.account, approver_of(alpha), rating=5, request=request)
    assert twice.value.status == 409
    session.commit()
    assert session.scalars(sa.select(Feedback.rating).where(Feedback.request_id == request.id)).all() == [4]


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_a_rating_outside_one_to_five_is_refused(session, alpha, rating):
    with pytest.raises(DomainError) as refused:
        service.give_feedback(session, alpha.account, approver_of(alpha), rating=rating)
    assert refused.value.status == 422


def test_resolved_requests_await_the_raisers_feedback_until_rated(session, alpha):
    request = raise_request(session, alpha)
    still_open = raise_request(session, alpha, subject="Still open")
    service.change_status(session, request, alpha.account, manager_of(alpha), S.RESOLVED)
    session.commit()
    assert service.awaiting_feedback(session, approver_of(alpha)) == [request]
    assert service.awaiting_feedback(session, alpha.user(Role.CLIENT_VIEWER)) == []  # not theirs
    service.give_feedback(session, alpha.account, approver_of(alpha), rating=5, request=request)
    session.commit()
    assert service.awaiting_feedback(session, approver_of(alpha)) == []
    assert still_open.status is S.OPEN


def test_csat_is_per_account_and_month_of_the_accounts_time_zone(session, alpha):
    bravo = build_account(session, "Bravo")  # in UTC
    session.commit()
    march = [(5, utc(2026, 3, 2, 3)), (4, utc(2026, 3, 20, 8)), (1, utc(2026, 3, 25, 8))]
    for rating, at in march:
        service.give_feedback(session, alpha.account, approver_of(alpha), rating=rating, now=at)
    # 31 March 20:00 UTC is 1 April 04:00 in Shanghai but still March in UTC.
    service.give_feedback(session, alpha.account, approver_of(alpha), rating=3, now=utc(2026, 3, 31, 20))
    service.give_feedback(session, bravo.account, approver_of(bravo), rating=2, now=utc(2026, 3, 31, 20))
    session.commit()

    rows = service.csat_by_month(session, [alpha.account, bravo.account], today=date(2026, 4, 20))
    table = {(r["account"].name, r["month"]): (r["count"], r["average"], r["csat"]) for r in rows
             if r["month"] < date(2026, 5, 1)}
    assert table == {
        ("Account Alpha", date(2026, 4, 1)): (1, 3.0, 0.0),
        ("Account Alpha", date(2026, 3, 1)): (3, pytest.approx(10 / 3), pytest.approx(2 / 3)),
        ("Account Bravo", date(2026, 3, 1)): (1, 2.0, 0.0),
    }


# --- the firm's queue ------------------------------------------------------------------


def test_the_queue_filters_by_account_status_priority_category_and_overdue(session, alpha):
    bravo = build_account(session, "Bravo")
    session.commit()
    now = cst(2026, 3, 17, 12)
    billing = raise_request(session, alpha, category=RequestCategory.BILLING, subject="Billing", now=cst(2026, 3, 16, 9))
    urgent = raise_request(session, alpha, priority=Priority.URGENT, subject="Urgent", now=cst(2026, 3, 17, 11))
    waiting = raise_request(session, alpha, subject="Waiting", now=cst(2026, 3, 2, 9))
    service.change_status(session, waiting, alpha.account, manager_of(alpha), S.WAITING_CLIENT, now=cst(2026, 3, 2, 10))
    done = raise_request(session, alpha, subject="Done", now=cst(2026, 3, 2, 9))
    service.change_status(session, done, alpha.account, manager_of(alpha), S.RESOLVED, now=cst(2026, 3, 2, 10))
    other = raise_request(session, bravo, subject="Bravo's", now=cst(2026, 3, 2, 9))
    session.commit()
    mine = {billing.id, urgent.id, waiting.id, done.id, other.id}

    def ids(**filters):
        return {r.id for r in session.scalars(service.queue_query(now=now, **filters))} & mine

    assert ids(account_id=bravo.account.id) == {other.id}
    assert ids(status="active") == {billing.id, urgent.id, waiting.id, other.id}
    assert ids(status="resolved") == {done.id}
    assert ids(priority="urgent") == {urgent.id}
    assert ids(category="billing") == {billing.id}
    # Overdue: the billing request's first response was due Monday 18:00; the urgent one
    # (due 12:00) is not yet late; the waiting one is paused and the done one finished.
    assert ids(overdue=True, account_id=alpha.account.id) == {billing.id}


def test_the_queue_sorts_by_the_next_due_time_with_finished_requests_last(session, alpha):
    low = raise_request(session, alpha, priority=Priority.LOW, subject="Low", now=cst(2026, 3, 16, 9))
    urgent = raise_request(session, alpha, priority=Priority.URGENT, subject="Urgent", now=cst(2026, 3, 16, 10))
    normal = raise_request(session, alpha, subject="Normal", now=cst(2026, 3, 16, 9))
    answered = raise_request(session, alpha, subject="Answered", now=cst(2026, 3, 16, 9))
    service.add_comment(session, answered, alpha.account, manager_of(alpha), "On it.", now=cst(2026, 3, 16, 9, 5))
    done = raise_request(session, alpha, priority=Priority.URGENT, subject="Done", now=cst(2026, 3, 16, 9))
    service.change_status(session, done, alpha.account, manager_of(alpha), S.RESOLVED)
    session.commit()
    mine = [urgent.id, normal.id, low.id, answered.id, done.id]
    order = [r.id for r in session.scalars(service.queue_query(status="all")) if r.id in mine]
    # urgent first response Mon 11:00; normal Mon 18:00; low Tue 18:00; answered: resolution Wed 18:00.
    assert order == [urgent.id, normal.id, low.id, answered.id, done.id]


def test_csat_covers_the_last_twelve_months(session, alpha):
    service.give_feedback(session, alpha.account, approver_of(alpha), rating=4, now=cst(2025, 4, 15, 12))
    service.give_feedback(session, alpha.account, approver_of(alpha), rating=5, now=cst(2025, 5, 15, 12))
    session.commit()
    months = {r["month"] for r in service.csat_by_month(session, [alpha.account], months=12, today=date(2026, 4, 20))
              if r["month"] < date(2026, 5, 1)}
    assert months == {date(2025, 5, 1)}


def test_csat_window_starts_at_the_accounts_local_midnight(session, alpha):
    # 31 March 20:00 UTC is 1 April 04:00 in Shanghai: an April rating.
    service.give_feedback(session, alpha.account, approver_of(alpha), rating=5, now=utc(2026, 3, 31, 20))
    session.commit()
    rows = service.csat_by_month(session, [alpha.account], months=1, today=date(2026, 4, 20))
    assert [(r["month"], r["count"]) for r in rows if r["month"] < date(2026, 5, 1)] == [(date(2026, 4, 1), 1)]

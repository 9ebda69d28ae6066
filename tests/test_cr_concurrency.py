"""Races on the API: any number of concurrent decisions on one change request, exactly
one wins (battery item 7), and concurrent amendment issues on one contract share no
number and leave no gap.

Each caller is a thread with its own test client, released together by a barrier. On
SQLite the writing requests queue on BEGIN IMMEDIATE; on PostgreSQL they meet at the
conditional UPDATE's row lock and at the counter's."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from portal import audit
from portal.auth.service import issue_api_token
from portal.change_requests import service
from portal.models import Approval, ApprovalStage, AuditEvent, CRStatus, Decision, Document, DocumentKind, Role
from portal.domain import DomainError
from tests.conftest import bearer
from tests.test_cr_service import add, draft

APPROVER_NAME = "Client.Approver"  # the factories' name for client.approver@alpha.example


def tokens_for(session, user, n: int) -> list[dict]:
    """``n`` bearer headers, each with a token of its own, all for ``user``."""
    headers = [bearer(issue_api_token(session, user)[0]) for _ in range(n)]
    session.commit()
    return headers


def race(app, calls: list[Callable]) -> list[tuple[int, dict]]:
    """Run each ``call(client)`` in a thread of its own, all released at once; return
    each answer's status and JSON, in the order of ``calls``."""
    barrier = threading.Barrier(len(calls))
    answers: list = [None] * len(calls)

    def run(index: int, call: Callable) -> None:
        client = app.test_client()
        try:
            barrier.wait(timeout=30)
            response = call(client)
            answers[index] = (response.status_code, response.get_json(silent=True))
        except BaseException as error:  # reported below, not lost in the thread
            answers[index] = error

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a request never finished"
    errors = [answer for answer in answers if isinstance(answer, BaseException)]
    assert not errors, errors
    return answers


def approve_call(cr, headers):
    url, version = f"/api/v1/change-requests/{cr.id}/approve", cr.version  # read here: threads hold no ORM objects
    return lambda client: client.post(url, headers=headers, json={"version": version, "signature_name": APPROVER_NAME})


def reject_call(cr, headers):
    url, version = f"/api/v1/change-requests/{cr.id}/reject", cr.version
    return lambda client: client.post(url, headers=headers, json={"version": version, "reason": "Not now."})


def client_decisions(session, cr) -> list[Approval]:
    session.rollback()  # a new transaction: see what the requests committed
    return list(session.scalars(sa.select(Approval).where(Approval.change_request_id == cr.id,
                                                          Approval.stage == ApprovalStage.CLIENT)))


def decision_events(session, cr) -> list[AuditEvent]:
    return list(session.scalars(sa.select(AuditEvent).where(
        AuditEvent.object_id == cr.id, AuditEvent.object_type == "ChangeRequest",
        AuditEvent.action.in_(["change_request.client_approved", "change_request.client_rejected"]))))


@pytest.mark.parametrize("callers", [2, 32])
def test_of_concurrent_approvals_exactly_one_succeeds(app, session, alpha, callers):
    cr = alpha["change_request"]
    headers = tokens_for(session, alpha.user(Role.CLIENT_APPROVER), callers)
    answers = race(app, [approve_call(cr, h) for h in headers])

    assert Counter(status for status, _ in answers) == {200: 1, 409: callers - 1}
    [winner] = [body for status, body in answers if status == 200]
    assert (winner["status"], winner["version"]) == ("approved", cr.version)
    assert {body["error"]["code"] for status, body in answers if status == 409} == {"conflict"}

    [approval] = client_decisions(session, cr)
    assert (approval.decision, approval.version_hash) == (Decision.APPROVED, cr.version)
    [event] = decision_events(session, cr)
    assert event.chain_seq is not None and event.data["version"] == cr.version
    assert audit.verify_chain(session).ok


def test_of_racing_approvals_and_rejections_exactly_one_decides(app, session, alpha):
    cr = alpha["change_request"]
    headers = tokens_for(session, alpha.user(Role.CLIENT_APPROVER), 16)
    calls = [approve_call(cr, h) if i % 2 else reject_call(cr, h) for i, h in enumerate(headers)]
    answers = race(app, calls)

    assert Counter(status for status, _ in answers) == {200: 1, 409: 15}
    [winner] = [body for status, body in answers if status == 200]
    [decision] = client_decisions(session, cr)
    assert winner["status"] == decision.decision.value
    session.refresh(cr)
    assert cr.status is CRStatus(decision.decision.value)
    assert len(decision_events(session, cr)) == 1
    assert audit.verify_chain(session).ok


def test_concurrent_amendments_of_one_contract_are_numbered_without_gap_or_duplicate(app, session, alpha):
    am, approver = alpha.user(Role.ACCOUNT_MANAGER), alpha.user(Role.CLIENT_APPROVER)
    approved = []
    for n in range(16):
        cr = draft(session, alpha, [add(str(n + 1))], title=f"Change {n + 1}")
        service.submit(session, cr, alpha.account, am)
        service.decide(session, cr, alpha.account, approver, version=cr.version, decision=Decision.APPROVED,
                       signature_name=APPROVER_NAME)
        session.commit()
        approved.append(cr)
    headers = tokens_for(session, am, 1)[0]
    urls = [f"/api/v1/change-requests/{cr.id}/amendment" for cr in approved]
    answers = race(app, [
        (lambda client, url=url: client.post(url, headers=headers, json={"languages": ["en"]})) for url in urls
    ])

    assert [status for status, _ in answers] == [201] * 16, answers
    year = datetime.now(ZoneInfo(alpha.account.timezone)).year
    expected = [f"AMD-{year}-{n:04d}" for n in range(1, 17)]
    assert sorted(body["number"] for _, body in answers) == expected
    assert {body["change_request_id"] for _, body in answers} == {cr.id for cr in approved}
    session.rollback()
    stored = session.scalars(sa.select(Document.number).where(
        Document.contract_id == alpha["contract"].id, Document.kind == DocumentKind.AMENDMENT,
        Document.number.like(f"AMD-{year}-%"))).all()
    assert sorted(stored) == expected
    assert audit.verify_chain(session).ok



def test_concurrent_retries_with_one_idempotency_key_issue_one_amendment(app, session, alpha):
    """Every retry gets the first answer, or (while the first still runs) a 409 to
    retry later; never a second document."""
    am, approver = alpha.user(Role.ACCOUNT_MANAGER), alpha.user(Role.CLIENT_APPROVER)
    cr = alpha["change_request"]
    service.decide(session, cr, alpha.account, approver, version=cr.version, decision=Decision.APPROVED,
                   signature_name=APPROVER_NAME)
    session.commit()
    headers = {**tokens_for(session, am, 1)[0], "Idempotency-Key": "amendment-of-cr-1"}
    url = f"/api/v1/change-requests/{cr.id}/amendment"
    answers = race(app, [lambda client: client.post(url, headers=headers, json={"languages": ["en"]})] * 8)

    issued = [body for status, body in answers if status == 201]
    assert issued and all(body == issued[0] for body in issued)
    assert all(status == 201 or (status, body["error"]["code"]) == (409, "conflict") for status, body in answers)
    session.rollback()
    [document] = session.scalars(sa.select(Document).where(Document.change_request_id == cr.id)).all()
    assert document.id == issued[0]["id"]


def test_an_edit_racing_an_approval_does_not_undo_it(app, session, alpha):
    """The account manager's edit request has loaded the pending CR when the client's
    approval commits. The edit must then fail like a late decision does (409), not
    replace the content the client has just approved with a new pending version."""
    cr = alpha["change_request"]
    seen_version = cr.version
    line = cr.lines[0]
    session.expunge(cr)  # what the edit request loaded: pending, version 1

    client = app.test_client()
    headers = tokens_for(session, alpha.user(Role.CLIENT_APPROVER), 1)[0]
    approved = client.post(f"/api/v1/change-requests/{cr.id}/approve", headers=headers,
                           json={"version": seen_version, "signature_name": APPROVER_NAME})
    assert approved.status_code == 200

    session.add(cr)
    try:
        service.edit(session, cr, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), title=dict(cr.title),
                     description={}, in_scope=False, effective_date=cr.effective_date,
                     lines=[service.LineInput(line.change, dict(line.description), line.unit, line.quantity * 100,
                                              line.unit_price)])
        session.commit()
    except DomainError as error:
        session.rollback()
        assert error.status == 409
    session.expire_all()
    stored = session.get(type(cr), cr.id)
    assert (stored.status, stored.version) == (CRStatus.APPROVED, seen_version)

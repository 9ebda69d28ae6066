"""The requests and feedback API (api.md): creating requests for the caller's account,
the thread with internal notes hidden from clients, replies, and feedback with its
403, 409 and 422 answers in the API's error shape.

Another account's ids answering 404 on the id routes is proven in ``test_access``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.models import (
    ActionItem,
    Feedback,
    Notification,
    RequestComment,
    RequestStatus,
    Role,
    ServiceRequest,
)
from portal.service_requests import service
from tests.factories import raise_request
from tests.helpers import assert_error, latest

CLIENT = "client.approver@alpha.example"
VIEWER = "client.viewer@alpha.example"
AM = "account.manager@alpha.example"
FINANCE = "finance@alpha.example"
REVIEWER = "regional.reviewer@alpha.example"
BRAVO_CLIENT = "client.approver@bravo.example"

NEW_REQUEST = {"category": "scope", "subject": "Does the MSA cover Vietnam?", "description": "We open in Hanoi in May.",
               "priority": "high"}


# Bravo beside Alpha in every test: no answer may include Bravo's rows.
pytestmark = pytest.mark.beside_alpha("bravo")


def resolve(session, world, request):
    service.change_status(session, request, world.account, world.user(Role.ACCOUNT_MANAGER), RequestStatus.RESOLVED)
    session.commit()


# --- creating --------------------------------------------------------------------------


@pytest.mark.parametrize("email", [CLIENT, VIEWER])
def test_a_client_creates_a_request_for_its_own_account(session, worlds, client, auth, email):
    alpha, bravo = worlds
    response = client.post("/api/v1/requests", json={**NEW_REQUEST, "account_id": bravo.account.id},
                           headers=auth(email))
    assert response.status_code == 201, response.json
    body = response.json
    assert body["account_id"] == alpha.account.id  # the body's account_id is not a client's to choose
    assert (body["status"], body["escalation_level"], body["priority"], body["category"]) == ("open", 1, "high", "scope")
    created = latest(session).scalar(sa.select(ServiceRequest).where(ServiceRequest.id == body["id"]))
    assert created.account_id == alpha.account.id
    assert body["sla_due_at"] == created.first_response_due_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["resolution_due_at"] == created.resolution_due_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert created.resolution_due_at > created.first_response_due_at > created.created_at

    listed = client.get("/api/v1/requests", headers=auth(email)).json["items"]
    assert listed[0]["id"] == body["id"]  # newest first
    assert {item["account_id"] for item in listed} == {alpha.account.id}


def test_a_firm_user_names_the_account(session, worlds, client, auth):
    alpha, _ = worlds
    missing = client.post("/api/v1/requests", json=NEW_REQUEST, headers=auth(AM))
    assert assert_error(missing, 422)["fields"] == {"account_id": "required"}
    response = client.post("/api/v1/requests", json={**NEW_REQUEST, "account_id": alpha.account.id}, headers=auth(AM))
    assert response.status_code == 201
    assert response.json["account_id"] == alpha.account.id
    assert response.json["assignee"]["name"] == alpha.user(Role.ACCOUNT_MANAGER).name


def test_a_firm_user_cannot_raise_a_request_for_an_account_outside_its_team(session, worlds, client, auth):
    _, bravo = worlds
    before = session.scalar(sa.select(sa.func.count()).select_from(ServiceRequest))
    response = client.post("/api/v1/requests", json={**NEW_REQUEST, "account_id": bravo.account.id}, headers=auth(AM))
    assert_error(response, 404)
    assert latest(session).scalar(sa.select(sa.func.count()).select_from(ServiceRequest)) == before


def test_a_regional_reviewer_does_not_raise_requests(worlds, client, auth):
    alpha, _ = worlds
    response = client.post("/api/v1/requests", json={**NEW_REQUEST, "account_id": alpha.account.id},
                           headers=auth(REVIEWER))
    assert_error(response, 403)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "invoice"}, "category"),
        ({"priority": "asap"}, "priority"),
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"description": None}, "description"),
    ],
)
def test_an_invalid_request_gets_422_naming_the_field(worlds, client, auth, change, field):
    body = {k: v for k, v in {**NEW_REQUEST, **change}.items() if v is not None}
    error = assert_error(client.post("/api/v1/requests", json=body, headers=auth(CLIENT)), 422)
    assert set(error["fields"]) == {field}


def test_the_list_filters_by_status(session, alpha, client, auth):
    waiting = raise_request(session, alpha)
    raise_request(session, alpha)
    service.change_status(session, waiting, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), RequestStatus.WAITING_CLIENT)
    session.commit()
    items = client.get("/api/v1/requests?status=waiting_client", headers=auth(CLIENT)).json["items"]
    assert [(i["id"], i["status"]) for i in items] == [(waiting.id, "waiting_client")]
    error = assert_error(client.get("/api/v1/requests?status=lost", headers=auth(CLIENT)), 422)
    assert "status" in error["fields"]


# --- the thread ------------------------------------------------------------------------


def test_internal_notes_are_in_the_firms_detail_and_not_the_clients(session, alpha, client, auth):
    request = raise_request(session, alpha)
    manager = alpha.user(Role.ACCOUNT_MANAGER)
    service.add_comment(session, request, alpha.account, manager, "We will check the run log.")
    service.add_comment(session, request, alpha.account, manager, "Their HR data was late again", internal=True)
    session.commit()

    seen_by_client = client.get(f"/api/v1/requests/{request.id}", headers=auth(CLIENT)).json
    assert [c["body"] for c in seen_by_client["comments"]] == ["We will check the run log."]
    assert "Their HR data was late again" not in str(seen_by_client)
    seen_by_firm = client.get(f"/api/v1/requests/{request.id}", headers=auth(AM)).json
    assert [(c["body"], c["internal"]) for c in seen_by_firm["comments"]] == [
        ("We will check the run log.", False), ("Their HR data was late again", True)]
    assert seen_by_firm["account_id"] == alpha.account.id
    assert all(c["account_id"] == alpha.account.id for c in seen_by_firm["comments"])


def test_both_sides_reply_and_a_client_reply_is_never_internal(session, alpha, client, auth):
    request = raise_request(session, alpha)
    reply = client.post(f"/api/v1/requests/{request.id}/comments", json={"body": "Any news?", "internal": True},
                        headers=auth(CLIENT))
    assert reply.status_code == 201
    assert (reply.json["body"], reply.json["internal"]) == ("Any news?", False)
    note = client.post(f"/api/v1/requests/{request.id}/comments", json={"body": "Checking", "internal": True},
                       headers=auth(AM))
    answer = client.post(f"/api/v1/requests/{request.id}/comments", json={"body": "Fixed tonight"}, headers=auth(AM))
    assert (note.status_code, answer.status_code) == (201, 201)
    stored = latest(session).execute(sa.select(RequestComment.body, RequestComment.internal)
                                     .where(RequestComment.request_id == request.id).order_by(RequestComment.id)).all()
    assert stored == [("Any news?", False), ("Checking", True), ("Fixed tonight", False)]
    detail = client.get(f"/api/v1/requests/{request.id}", headers=auth(CLIENT)).json
    assert [c["body"] for c in detail["comments"]] == ["Any news?", "Fixed tonight"]
    assert detail["status"] == "in_progress"  # the firm's first public reply


@pytest.mark.parametrize("body", [{}, {"body": ""}])
def test_an_empty_reply_gets_422_naming_body(alpha, session, client, auth, body):
    request = raise_request(session, alpha)
    error = assert_error(client.post(f"/api/v1/requests/{request.id}/comments", json=body, headers=auth(CLIENT)), 422)
    assert set(error["fields"]) == {"body"}


def test_a_reply_on_a_closed_request_gets_409(session, alpha, client, auth):
    request = raise_request(session, alpha)
    service.change_status(session, request, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), RequestStatus.CLOSED)
    session.commit()
    assert_error(client.post(f"/api/v1/requests/{request.id}/comments", json={"body": "Hello?"}, headers=auth(CLIENT)),
                 409)
    assert latest(session).scalars(sa.select(RequestComment).where(RequestComment.request_id == request.id)).all() == []


# --- feedback --------------------------------------------------------------------------


def feedback_count(session) -> int:
    return latest(session).scalar(sa.select(sa.func.count()).select_from(Feedback))


@pytest.mark.parametrize("email", [AM, FINANCE, REVIEWER])
def test_feedback_is_for_clients_only(session, alpha, client, auth, email):
    before = feedback_count(session)
    assert_error(client.post("/api/v1/feedback", json={"rating": 5, "comment": "We are great"}, headers=auth(email)), 403)
    assert feedback_count(session) == before


@pytest.mark.parametrize("rating", [6, 0, -1, "five", 4.5, None])
def test_a_rating_outside_one_to_five_gets_422_naming_rating(session, alpha, client, auth, rating):
    before = feedback_count(session)
    body = {"comment": "hmm"} if rating is None else {"rating": rating, "comment": "hmm"}
    error = assert_error(client.post("/api/v1/feedback", json=body, headers=auth(CLIENT)), 422)
    assert set(error["fields"]) == {"rating"}
    assert feedback_count(session) == before


def test_feedback_on_the_account_at_any_time(session, alpha, client, auth):
    response = client.post("/api/v1/feedback", json={"rating": 4, "comment": "Good quarter"}, headers=auth(CLIENT))
    assert response.status_code == 201
    assert {k: response.json[k] for k in ("account_id", "rating", "comment", "request_id")} == {
        "account_id": alpha.account.id, "rating": 4, "comment": "Good quarter", "request_id": None}
    assert response.json["created_at"].endswith("Z")


def test_feedback_on_an_unresolved_request_gets_409(session, alpha, client, auth):
    request = raise_request(session, alpha)
    before = feedback_count(session)
    response = client.post("/api/v1/feedback", json={"rating": 5, "request_id": request.id}, headers=auth(CLIENT))
    assert_error(response, 409)
    assert feedback_count(session) == before


def test_feedback_on_a_resolved_request_once(session, alpha, client, auth):
    request = raise_request(session, alpha)
    resolve(session, alpha, request)
    first = client.post("/api/v1/feedback", json={"rating": 5, "comment": "Quick", "request_id": request.id},
                        headers=auth(CLIENT))
    assert first.status_code == 201
    assert first.json["request_id"] == request.id
    again = client.post("/api/v1/feedback", json={"rating": 1, "request_id": request.id}, headers=auth(VIEWER))
    assert_error(again, 409)
    ratings = latest(session).scalars(sa.select(Feedback.rating).where(Feedback.request_id == request.id)).all()
    assert ratings == [5]


def test_feedback_on_another_accounts_request_gets_404(session, worlds, client, auth):
    alpha, bravo = worlds
    theirs = raise_request(session, bravo)
    resolve(session, bravo, theirs)
    before = feedback_count(session)
    response = client.post("/api/v1/feedback", json={"rating": 1, "request_id": theirs.id}, headers=auth(CLIENT))
    assert_error(response, 404)
    assert feedback_count(session) == before


def test_a_low_rating_through_the_api_opens_an_action_item_and_tells_the_account_manager(session, alpha, client, auth):
    response = client.post("/api/v1/feedback", json={"rating": 2, "comment": "Invoices are always late"},
                           headers=auth(CLIENT))
    assert response.status_code == 201
    latest(session)
    action = session.scalar(sa.select(ActionItem).where(ActionItem.feedback_id == response.json["id"]))
    assert action.owner_id == alpha.user(Role.ACCOUNT_MANAGER).id
    assert action.description == "Invoices are always late"
    assert session.scalars(sa.select(Notification.to_email).where(Notification.kind == "feedback_low")).all() == [AM]

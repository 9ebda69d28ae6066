"""``PUT /accounts/{id}/escalation-contacts`` and ``PUT /accounts/{id}/team`` as api.md
gives them (and the GETs that read them back): who may (403), a title as text or per
language, each bad field named (422), a team member in another role than their own
refused with a clear message, the team's change holding for the next request, and an
``Idempotency-Key`` retry answered once.

Another account's ids answering 404 on every id route is proven in ``test_access``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.models import AuditEvent, EscalationContact, IdempotencyKey, Role
from tests.factories import make_user
from tests.helpers import assert_error, latest, manager_of

ADMIN = "admin@firm.example"
AM = "account.manager@alpha.example"
FINANCE = "finance@alpha.example"
CLIENT = "client.approver@alpha.example"


# Bravo and the firm's admin beside Alpha in every test.
pytestmark = pytest.mark.beside_alpha("bravo", "admin")


def matrix_url(world) -> str:
    return f"/api/v1/accounts/{world.account.id}/escalation-contacts"


def team_url(world) -> str:
    return f"/api/v1/accounts/{world.account.id}/team"


CONTACTS = [
    {"level": 1, "side": "firm", "name": "Mei Chen", "title": "Service Delivery Manager", "email": "mei.chen@firm.example"},
    {"level": 3, "side": "client", "name": "Wang Fang", "title": {"en": "Finance Director", "zh": "财务总监"},
     "email": "wang.fang@alpha.example", "phone": "+86 755 1234"},
]


# --- the escalation matrix -----------------------------------------------------------------


def test_the_account_manager_replaces_the_matrix_and_reads_it_back(client, alpha, auth):
    answer = client.put(matrix_url(alpha), json={"contacts": CONTACTS}, headers=auth(AM))
    assert answer.status_code == 200, answer.json
    assert answer.json["account_id"] == alpha.account.id
    contacts = answer.json["contacts"]
    assert [(c["level"], c["side"], c["name"], c["title"], c["phone"], c["account_id"]) for c in contacts] == [
        (1, "firm", "Mei Chen", {"en": "Service Delivery Manager"}, "", alpha.account.id),
        (3, "client", "Wang Fang", {"en": "Finance Director", "zh": "财务总监"}, "+86 755 1234", alpha.account.id)]
    assert client.get(matrix_url(alpha), headers=auth(CLIENT)).json == answer.json


def test_an_empty_list_empties_the_matrix_and_the_audit_event_keeps_what_it_was(client, session, alpha, auth):
    assert client.put(matrix_url(alpha), json={"contacts": []}, headers=auth(ADMIN)).json["contacts"] == []
    assert client.get(matrix_url(alpha), headers=auth(AM)).json["contacts"] == []
    event = latest(session).scalar(sa.select(AuditEvent).where(AuditEvent.action == "account.escalation_matrix_changed"))
    assert [c["email"] for c in event.data["before"]] == ["l1@alpha.example"] and event.data["after"] == []


@pytest.mark.parametrize("change, field", [
    ({"email": "wang.fang"}, "contacts.1.email"),
    ({"name": ""}, "contacts.1.name"),
    ({"level": 4}, "contacts.1.level"),
    ({"side": "vendor"}, "contacts.1.side"),
    ({"title": {"fr": "Directrice"}}, "contacts.1.title"),
])
def test_a_bad_contact_is_a_422_naming_its_field_and_changes_nothing(client, session, alpha, auth, change, field):
    body = {"contacts": [CONTACTS[0], {**CONTACTS[1], **change}]}
    error = assert_error(client.put(matrix_url(alpha), json=body, headers=auth(AM)), 422)
    assert any(name == field or name.startswith(f"{field}.") for name in error["fields"]), error["fields"]
    assert [c.name for c in latest(session).scalars(sa.select(EscalationContact))
            .all() if c.account_id == alpha.account.id] == ["Level One"]


@pytest.mark.parametrize("email", [FINANCE, CLIENT, "regional.reviewer@alpha.example"])
def test_only_the_admin_and_account_managers_replace_the_matrix(client, alpha, auth, email):
    assert_error(client.put(matrix_url(alpha), json={"contacts": CONTACTS}, headers=auth(email)), 403)


def test_a_retried_put_with_the_same_idempotency_key_is_answered_once(client, session, alpha, auth):
    headers = {**auth(AM), "Idempotency-Key": "matrix-1"}
    first = client.put(matrix_url(alpha), json={"contacts": CONTACTS}, headers=headers)
    again = client.put(matrix_url(alpha), json={"contacts": CONTACTS}, headers=headers)
    assert again.status_code == 200 and again.json == first.json
    stored = latest(session).scalar(sa.select(IdempotencyKey).where(IdempotencyKey.key == "matrix-1"))
    assert stored.status_code == 200 and stored.response == first.json
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "account.escalation_matrix_changed")) == 1


# --- the team -----------------------------------------------------------------------------------


def test_the_admin_replaces_the_team_and_the_newcomer_sees_the_account_on_their_next_request(
        client, session, alpha, auth):
    newcomer = make_user(session, "am2@firm.example", Role.ACCOUNT_MANAGER)
    session.commit()

    def accounts() -> list[int]:
        return [a["id"] for a in client.get("/api/v1/accounts", headers=auth(newcomer.email)).json["items"]]

    assert alpha.account.id not in accounts()
    body = {"members": [{"user_id": newcomer.id, "role": "account_manager"},
                        {"user_id": alpha.user(Role.FINANCE).id, "role": "finance"}]}
    answer = client.put(team_url(alpha), json=body, headers=auth(ADMIN))
    assert answer.status_code == 200, answer.json
    assert answer.json == {"account_id": alpha.account.id, "members": [
        {"user_id": newcomer.id, "email": "am2@firm.example", "name": "Am2", "role": "account_manager", "active": True},
        {"user_id": alpha.user(Role.FINANCE).id, "email": FINANCE, "name": "Finance", "role": "finance", "active": True}]}
    assert alpha.account.id in accounts()
    assert_error(client.get(f"/api/v1/accounts/{alpha.account.id}/escalation-contacts", headers=auth(AM)), 404)
    assert client.get(team_url(alpha), headers=auth(FINANCE)).json == answer.json


def test_a_member_in_another_role_than_their_own_is_a_clear_422(client, session, alpha, auth):
    finance = alpha.user(Role.FINANCE)
    body = {"members": [{"user_id": manager_of(alpha).id, "role": "account_manager"},
                        {"user_id": finance.id, "role": "regional_reviewer"}]}
    error = assert_error(client.put(team_url(alpha), json=body, headers=auth(ADMIN)), 422, "validation_failed")
    assert error["fields"] == {"members.1.role": "not the user's role (finance)"}
    assert error["message"] == "Finance is “Finance”, not “Regional reviewer”: each member joins the team in the role they have."
    assert [m["user_id"] for m in client.get(team_url(alpha), headers=auth(ADMIN)).json["members"]] == [
        manager_of(alpha).id, alpha.user(Role.REGIONAL_REVIEWER).id, finance.id]


@pytest.mark.parametrize("member, field", [
    ({"user_id": 987654, "role": "finance"}, "members.0.user_id"),
    ({"user_id": 2**63, "role": "finance"}, "members.0.user_id"),
    ({"user_id": 1, "role": "admin"}, "members.0.role"),
])
def test_an_unknown_user_or_a_role_outside_the_team_is_a_422(client, alpha, auth, member, field):
    error = assert_error(client.put(team_url(alpha), json={"members": [member]}, headers=auth(ADMIN)), 422)
    assert field in error["fields"]


@pytest.mark.parametrize("email", [AM, FINANCE, CLIENT])
def test_only_the_admin_replaces_the_team(client, alpha, auth, email):
    assert_error(client.put(team_url(alpha), json={"members": []}, headers=auth(email)), 403)


def test_clients_do_not_read_the_team(client, alpha, auth):
    assert_error(client.get(team_url(alpha), headers=auth(CLIENT)), 403)


def test_the_openapi_document_describes_both_puts(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"get", "put"} <= set(paths["/accounts/{account_id}/escalation-contacts"])
    assert {"get", "put"} <= set(paths["/accounts/{account_id}/team"])

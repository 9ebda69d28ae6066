"""The JSON API's foundation: bearer tokens, ``/me``, the error shape, input errors,
pagination, the OpenAPI document and headers (api.md; battery items 15, 24)."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from portal.models import ApiToken, Role
from tests.conftest import PASSWORD, api_token, bearer
from tests.factories import build_admin, make_account, make_user
from tests.helpers import assert_error

ROLES = list(Role)


@pytest.fixture
def account(session):
    account = make_account(session, "Account Alpha")
    session.commit()
    return account


def email_of(role: Role) -> str:
    return f"{role.value.replace('_', '.')}@alpha.example"


@pytest.fixture
def every_role(session, account):
    """One user of every role; each speaks Vietnamese, so ``language`` is not a default."""
    for role in ROLES:
        make_user(session, email_of(role), role, account, language="vi", timezone="Asia/Ho_Chi_Minh")
    session.commit()
    return {"id": account.id, "name": account.name}


# --- tokens and /me ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value)
def test_every_role_gets_a_token_and_its_own_profile(client, every_role, role):
    response = client.post("/api/v1/auth/token", json={"email": email_of(role), "password": PASSWORD})
    assert response.status_code == 201
    assert set(response.json) == {"token", "expires_at"}
    expires_at = datetime.fromisoformat(response.json["expires_at"].replace("Z", "+00:00"))
    assert response.json["expires_at"].endswith("Z") and expires_at > datetime.now(timezone.utc)

    me = client.get("/api/v1/me", headers=bearer(response.json["token"]))
    assert me.status_code == 200
    assert me.json["email"] == email_of(role)
    assert me.json["role"] == role.value
    assert me.json["language"] == "vi"
    assert me.json["account"] == (every_role if role.is_client else None)


def test_a_wrong_password_gets_401_in_the_error_shape(client, every_role):
    response = client.post("/api/v1/auth/token", json={"email": email_of(Role.FINANCE), "password": "wrong password!"})
    assert_error(response, 401)
    assert "token" not in response.json


def _expire(session, token):
    session.execute(sa.update(ApiToken).values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))


def _revoke(session, token):
    session.execute(sa.update(ApiToken).values(revoked_at=datetime.now(timezone.utc)))


@pytest.mark.parametrize(
    "case",
    ["missing", "empty-bearer", "invalid", "basic-scheme", "token-without-scheme", "expired", "revoked"],
)
def test_requests_without_a_valid_bearer_token_get_401(client, session, every_role, case):
    token = api_token(client, email_of(Role.CLIENT_VIEWER))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    if case in ("expired", "revoked"):
        session.rollback()  # a new transaction: the test's old snapshot cannot write on SQLite
        {"expired": _expire, "revoked": _revoke}[case](session, token)
        session.commit()
    headers = {
        "missing": {},
        "empty-bearer": {"Authorization": "Bearer "},
        "invalid": bearer(token[:-2] + "xx"),
        "basic-scheme": {"Authorization": "Basic " + base64.b64encode(f"x:{token}".encode()).decode()},
        "token-without-scheme": {"Authorization": token},
        "expired": bearer(token),
        "revoked": bearer(token),
    }[case]
    assert_error(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_the_session_cookie_alone_does_not_authenticate_the_api(browser, every_role):
    browser.login(email_of(Role.ADMIN))
    assert browser.get("/account").status_code == 200, "signed in to the web UI"
    assert_error(browser.get("/api/v1/me"), 401)
    assert_error(browser.get("/api/v1/accounts"), 401)


def test_tokens_are_stored_only_as_hashes(client, session, every_role):
    token = api_token(client, email_of(Role.FINANCE))
    session.rollback()  # a new transaction: see what the request committed
    stored = session.scalars(sa.select(ApiToken.token_hash)).all()
    assert stored and token not in stored


# --- input errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"email": "a@b.example", "password": ', b"\xff\xfe", b'["a@b.example", "pw"]', b'"text"', b"null"],
    ids=["garbage", "truncated", "not-utf8", "array", "string", "null"],
)
def test_a_malformed_json_body_gets_400(client, body):
    response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    assert_error(response, 400)


@pytest.mark.parametrize(
    ("body", "missing"),
    [({}, {"email", "password"}), ({"email": "a@b.example"}, {"password"}), ({"password": "x"}, {"email"})],
    ids=["both", "password", "email"],
)
def test_missing_fields_get_422_naming_each_field(client, body, missing):
    error = assert_error(client.post("/api/v1/auth/token", json=body), 422)
    assert set(error["fields"]) == missing


def test_a_field_of_the_wrong_type_gets_422_naming_it(client):
    error = assert_error(client.post("/api/v1/auth/token", json={"email": ["a"], "password": "x"}), 422)
    assert set(error["fields"]) == {"email"}


@pytest.mark.parametrize("limit", ["0", "201", "-1", "abc", "1.5", ""])
def test_a_limit_outside_1_to_200_gets_422(client, every_role, limit):
    token = api_token(client, email_of(Role.ADMIN))
    error = assert_error(client.get(f"/api/v1/accounts?limit={limit}", headers=bearer(token)), 422)
    assert "limit" in error["fields"]


@pytest.mark.parametrize("limit", ["1", "200"])
def test_limits_at_the_bounds_are_accepted(client, every_role, limit):
    token = api_token(client, email_of(Role.ADMIN))
    assert client.get(f"/api/v1/accounts?limit={limit}", headers=bearer(token)).status_code == 200


def _b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    ["!!!", "bm90IGpzb24", _b64({"id": 1}), _b64([1, 2]), _b64(["abc"]), _b64([None]), "%00"]
    + [pytest.param(_b64([value]), id=name)
       for name, value in [("2**63", 2**63), ("-2**63-1", -(2**63) - 1), ("10**30", 10**30), ("1e308", 1e308)]],
    ids=["not-base64", "not-json", "object", "too-many-values", "not-an-int", "null", "nul-byte"] + [None] * 4,
)
def test_a_bad_cursor_gets_400(client, every_role, cursor):
    token = api_token(client, email_of(Role.ADMIN))
    response = client.get("/api/v1/accounts", query_string={"cursor": cursor}, headers=bearer(token))
    assert_error(response, 400)


# --- lists ---------------------------------------------------------------------------------


def test_accounts_are_paginated_newest_first_with_next_cursor(client, session):
    ids = [make_account(session, f"Account {name}").id for name in ("One", "Two", "Three")]
    build_admin(session)
    session.commit()
    token = api_token(client, "admin@firm.example")

    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/accounts", query_string=query, headers=bearer(token))
        assert response.status_code == 200
        assert set(response.json) == {"items", "next_cursor"}
        pages += 1
        items = response.json["items"]
        assert len(items) == (2 if pages == 1 else 1)
        seen += [item["id"] for item in items]
        assert all(item["account_id"] == item["id"] for item in items)
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
        assert pages < 5, "pagination does not end"
    assert pages == 2
    assert seen == sorted(ids, reverse=True)


def test_a_list_shows_only_what_the_caller_may_see(client, session, every_role):
    make_account(session, "Account Other")
    session.commit()
    token = api_token(client, email_of(Role.CLIENT_APPROVER))
    response = client.get("/api/v1/accounts", headers=bearer(token))
    assert [item["name"] for item in response.json["items"]] == ["Account Alpha"]
    assert response.json["next_cursor"] is None


# --- the OpenAPI document -------------------------------------------------------------------


def test_the_openapi_document_is_served_without_auth_and_documents_the_foundation(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json
    assert re.fullmatch(r"3\.\d+\.\d+", document["openapi"])
    for path, method in [("/me", "get"), ("/accounts", "get"), ("/auth/token", "post")]:
        assert method in document["paths"][path], f"{method.upper()} {path} is documented"
    assert document["paths"]["/auth/token"]["post"]["security"] == [], "the token endpoint needs no token"
    assert "401" in document["paths"]["/me"]["get"]["responses"]
    assert "422" in document["paths"]["/auth/token"]["post"]["responses"]
    schemas = document["components"]["schemas"]
    assert set(schemas["Error"]["properties"]["error"]["required"]) == {"code", "message"}


def test_every_schema_reference_in_the_openapi_document_resolves(client):
    document = client.get("/api/v1/openapi.json").json
    refs = re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(document))
    assert refs
    assert set(refs) <= set(document["components"]["schemas"])


def test_each_list_of_lines_in_the_openapi_document_describes_its_own_lines(client):
    """A change request's scope lines and an invoice's lines were two classes of one name,
    and the document described both with the fields of one."""
    document = client.get("/api/v1/openapi.json").json
    schemas = document["components"]["schemas"]

    def line_fields(path: str) -> set[str]:
        response = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        lines = schemas[response["$ref"].rsplit("/", 1)[1]]["properties"]["lines"]["items"]["$ref"]
        return set(schemas[lines.rsplit("/", 1)[1]]["properties"])

    assert {"change", "quantity", "unit_price"} <= line_fields("/change-requests/{change_request_id}")
    assert {"description", "quantity", "unit_price", "amount"} <= line_fields("/invoices/{invoice_id}")
    assert "change" not in line_fields("/invoices/{invoice_id}")


# --- headers and language ----------------------------------------------------------------------


CACHE_CASES = {
    "openapi": lambda c, t: c.get("/api/v1/openapi.json"),
    "me": lambda c, t: c.get("/api/v1/me", headers=bearer(t)),
    "token-201": lambda c, t: c.post("/api/v1/auth/token", json={"email": email_of(Role.FINANCE), "password": PASSWORD}),
    "token-401": lambda c, t: c.post("/api/v1/auth/token", json={"email": "x@y.example", "password": "wrong"}),
    "me-401": lambda c, t: c.get("/api/v1/me"),
    "limit-422": lambda c, t: c.get("/api/v1/accounts?limit=0", headers=bearer(t)),
    "cursor-400": lambda c, t: c.get("/api/v1/accounts?cursor=!", headers=bearer(t)),
}


@pytest.mark.parametrize(
    "case",
    list(CACHE_CASES)
    + [
        pytest.param("unknown-path-404"),
        pytest.param("wrong-method-405"),
    ],
)
def test_every_api_response_is_not_stored(client, every_role, case):
    token = api_token(client, email_of(Role.FINANCE))
    send = CACHE_CASES.get(case) or {
        "unknown-path-404": lambda c, t: c.get("/api/v1/no-such-resource", headers=bearer(t)),
        "wrong-method-405": lambda c, t: c.get("/api/v1/auth/token"),
    }[case]
    response = send(client, token)
    assert response.mimetype == "application/json"
    assert "no-store" in response.headers.get("Cache-Control", "")


def test_unknown_api_paths_answer_in_the_error_shape(client, every_role):
    token = api_token(client, email_of(Role.FINANCE))
    assert_error(client.get("/api/v1/no-such-resource", headers=bearer(token)), 404, "not_found")
    assert_error(client.get("/api/v1/auth/token"), 405)


def _message_for(client, session, account, language: str) -> str:
    email = f"{language}.viewer@alpha.example"
    make_user(session, email, Role.CLIENT_VIEWER, account, language=language)
    session.commit()
    token = api_token(client, email)
    response = client.get("/api/v1/accounts?limit=0", headers=bearer(token))
    return assert_error(response, 422)["message"]


def test_error_messages_follow_the_users_language(client, session, account):
    english = _message_for(client, session, account, "en")
    chinese = _message_for(client, session, account, "zh")
    assert chinese != english
    assert re.search(r"[\u4e00-\u9fff]", chinese), chinese

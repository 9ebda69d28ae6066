"""The access matrix: every route of the URL map, as a user of another account and
signed out. A new route with an id in its path fails here until it is classified in
``PATH_OBJECTS`` (or ``ADMIN_ONLY``)."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from portal.models import AccountOwned, AuditEvent, Base, Role
from tests.conftest import Browser, api_token, bearer, csrf_token

# Which object of account A each path variable names.
PATH_OBJECTS = {
    "account_id": "account",
    "request_id": "request",
    "comment_id": "comment",
    "attachment_id": "attachment",
    "file_id": "file",
    "feedback_id": "feedback",
    "contract_id": "contract",
    "scope_line_id": "scope_line",
    "kpi_id": "kpi",
    "change_request_id": "change_request",
    "cr_id": "change_request",
    "version_id": "change_request_version",
    "approval_id": "approval",
    "document_id": "document",
    "plan_id": "plan",
    "review_id": "plan_review",
    "invoice_id": "invoice",
    "credit_note_id": "credit_note",
    "credit_id": "service_credit",
    "action_id": "action",
    "user_id": "user",
    "stakeholder_id": "stakeholder",
    "interaction_id": "interaction",
    "purchase_order_id": "purchase_order",
    "job_id": "job",
    "alert_id": "portfolio_alert",
    "notification_id": "notification",
    "meeting_id": "meeting",
    "key": "minutes",  # an occurrence of the meeting: the one with minutes
    "opportunity_id": "opportunity",
}
# The attribute a path variable takes of its object (else ``id``).
PATH_ATTRIBUTES = {"key": "key"}
# Path variables that hold a secret instead of an id (a one-time link's token): a made-up
# one, which no row has, is what another account's user or a visitor can send.
PATH_SECRETS = {"token": "made-up-link-token"}
# Routes only an admin may use (403 for everyone else, whatever the id).
ADMIN_ONLY = {"admin.users", "admin.toggle_user", "admin.audit_log", "change_requests.internal_decision", "api.internal_decision",
              "people.edit_team", "api.put_team", "admin.edit_user", "admin.turn_off_two_factor",
              "admin.two_factor_policy", "account_import.progress",
              "portfolio.acknowledge_alert", "portfolio.check_alerts"}
# Routes open without signing in.
PUBLIC = {"static", "auth.login", "main.set_language", "main.health", "main.readiness", "api.token",
          "api.openapi_document", "auth.two_factor_sign_in", "users.accept_invitation", "users.forgot_password",
          "users.reset_password", "api.password_reset", "meetings.calendar_feed",
          "metrics"}  # with METRICS_ENABLED, for the operator's scraper (behind METRICS_TOKEN when set)
MISSING_ID = 987654


def secrets_of(world) -> list[str]:
    return [
        world.account.name, world["request"].subject, world["request"].description, world["invoice"].number,
        world["change_request"].title["en"], world["plan"].content["objectives"][0]["en"], world["action"].title,
        world["contract"].number, world["document"].number, world.user(Role.CLIENT_APPROVER).email,
        world["stakeholder"].notes, world["interaction"].subject, world["job"].message,
        world["meeting"].location, world["minutes"].body,
        world["opportunity"].title["en"], world["opportunity"].notes,
    ]


def fingerprint(session, account_id: int) -> str:
    """A hash of every row that belongs to the account, to prove nothing changed."""
    digest = hashlib.sha256()
    for mapper in sorted(Base.registry.mappers, key=lambda m: m.class_.__name__):
        cls = mapper.class_
        if issubclass(cls, AccountOwned) or cls is AuditEvent:
            table = cls.__table__
            rows = session.execute(sa.select(table).where(table.c.account_id == account_id).order_by(*table.primary_key)).all()
            digest.update(repr((cls.__name__, rows)).encode())
    return digest.hexdigest()


def id_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.arguments and rule.endpoint != "static":
            yield rule


def methods_of(rule):
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def build_url(rule, world) -> tuple[str, str]:
    unknown = set(rule.arguments) - set(PATH_OBJECTS) - set(PATH_SECRETS)
    assert not unknown, f"classify the path variables {unknown} of {rule.rule} in PATH_OBJECTS"
    values = {arg: PATH_SECRETS[arg] if arg in PATH_SECRETS else
              getattr(world.account if PATH_OBJECTS[arg] == "account" else world[PATH_OBJECTS[arg]],
                      PATH_ATTRIBUTES.get(arg, "id")) for arg in rule.arguments}
    missing = {arg: PATH_SECRETS.get(arg, MISSING_ID) for arg in rule.arguments}
    return rule.build(values, append_unknown=False)[1], rule.build(missing, append_unknown=False)[1]


def send(client, method: str, url: str, *, token: str | None, csrf: str | None):
    if url.startswith("/api/"):
        return client.open(url, method=method, headers=bearer(token), json={})
    data = {"csrf_token": csrf} if method != "GET" else None
    return client.open(url, method=method, data=data)


def test_every_route_with_an_id_answers_404_to_another_account(app, session, worlds, admin):
    alpha, bravo = worlds
    before = fingerprint(session, alpha.account.id)
    secrets = secrets_of(alpha)
    checked = 0
    for role, user in bravo.users.items():
        client = app.test_client()
        Browser(client).login(user.email)
        csrf = csrf_token(client.get("/account").text)
        token = api_token(client, user.email)
        for rule in id_rules(app):
            url, missing_url = build_url(rule, alpha)
            for method in methods_of(rule):
                response = send(client, method, url, token=token, csrf=csrf)
                baseline = send(client, method, missing_url, token=token, csrf=csrf)
                where = f"{method} {rule.rule} as {role.value} of another account"
                body = response.get_data(as_text=True)
                for secret in secrets:
                    assert secret not in body, f"{where} leaks {secret!r}"
                if rule.endpoint in ADMIN_ONLY:
                    assert response.status_code == 403, where
                    continue
                assert response.status_code in (403, 404, 405), f"{where}: {response.status_code}"
                assert response.status_code == baseline.status_code, f"{where}: differs from a missing id"
                checked += 1
    after = fingerprint(session, alpha.account.id)
    assert before == after, "a request by another account changed account A's rows"
    assert checked > 0


def test_each_id_route_answers_404_to_some_role_of_another_account(app, session, worlds, admin):
    """403 is only for a role that may never do this; some role allowed to must get 404."""
    alpha, bravo = worlds
    statuses: dict[tuple[str, str], set[int]] = {}
    for user in bravo.users.values():
        client = app.test_client()
        Browser(client).login(user.email)
        csrf = csrf_token(client.get("/account").text)
        token = api_token(client, user.email)
        for rule in id_rules(app):
            if rule.endpoint in ADMIN_ONLY:
                continue
            url, _ = build_url(rule, alpha)
            for method in methods_of(rule):
                statuses.setdefault((method, rule.rule), set()).add(send(client, method, url, token=token, csrf=csrf).status_code)
    for (method, rule), seen in statuses.items():
        assert 404 in seen or seen == {405}, f"{method} {rule}: {seen}"


def test_lists_and_pages_show_nothing_of_another_account(app, session, worlds, admin):
    alpha, bravo = worlds
    secrets = secrets_of(alpha)
    for user in bravo.users.values():
        client = app.test_client()
        Browser(client).login(user.email)
        token = api_token(client, user.email)
        for rule in app.url_map.iter_rules():
            if rule.arguments or "GET" not in rule.methods or rule.endpoint in PUBLIC:
                continue
            headers = bearer(token) if rule.rule.startswith("/api/") else {}
            body = client.get(rule.rule, headers=headers).get_data(as_text=True)
            for secret in secrets:
                assert secret not in body, f"GET {rule.rule} as {user.role.value} of another account leaks {secret!r}"


def test_admin_sees_every_account(app, session, worlds, admin):
    alpha, bravo = worlds
    browser = Browser(app.test_client())
    browser.login("admin@firm.example")
    for world in (alpha, bravo):
        assert browser.get(f"/accounts/{world.account.id}").status_code == 200


def test_signed_out_requests_are_sent_to_sign_in(app, session, worlds, admin):
    alpha, _ = worlds
    client = app.test_client()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        url = build_url(rule, alpha)[0] if rule.arguments else rule.rule
        for method in methods_of(rule):
            response = client.open(url, method=method, json={} if url.startswith("/api/") else None)
            where = f"{method} {rule.rule} signed out"
            if url.startswith("/api/"):
                assert response.status_code == 401, where
                assert response.json["error"]["code"] == "unauthorized"
            elif method == "GET":
                assert response.status_code == 302, where
                assert response.headers["Location"].startswith("/login"), where
            else:
                # A POST without a session fails CSRF first: 400, and nothing happens.
                assert response.status_code in (302, 400), where


def test_public_routes_are_only_the_allowlist(app):
    public = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static" or getattr(view, "public", False):
            public.add(rule.endpoint)
    from portal.web import PUBLIC_ENDPOINTS

    assert (public | PUBLIC_ENDPOINTS) == PUBLIC


HUGE_ID = 2**63  # one past what the databases store in a BIGINT


def test_ids_beyond_the_database_range_are_refused_never_a_500(app, session, worlds, admin):
    """In the path (404, as a missing id) and in the query strings of lists (4xx or the
    list without it): SQLite's driver and PostgreSQL refuse such numbers."""
    alpha, _ = worlds
    for email in (alpha.user(Role.ACCOUNT_MANAGER).email, "admin@firm.example"):
        client = app.test_client()
        Browser(client).login(email)
        csrf = csrf_token(client.get("/account").text)
        token = api_token(client, email)
        for rule in id_rules(app):
            url = rule.build({arg: HUGE_ID for arg in rule.arguments}, append_unknown=False)[1]
            for method in methods_of(rule):
                status = send(client, method, url, token=token, csrf=csrf).status_code
                assert status in (403, 404, 405), f"{method} {rule.rule} with id {HUGE_ID}: {status}"
        for rule in app.url_map.iter_rules():
            if rule.arguments or "GET" not in rule.methods or rule.endpoint in PUBLIC:
                continue
            headers = bearer(token) if rule.rule.startswith("/api/") else {}
            for name in ("account", "account_id", "contract_id", "kpi", "kpi_id", "owner_id", "after", "cursor"):
                status = client.get(f"{rule.rule}?{name}={HUGE_ID}", headers=headers).status_code
                assert status < 500, f"GET {rule.rule}?{name}={HUGE_ID}: {status}"

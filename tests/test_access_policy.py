"""The access matrix's second axis: objects of the caller's own account that its role may
not see. A client sees neither the firm's drafts (a change request not yet sent to it,
one awaiting the firm's internal approval, a plan not yet sent for review) nor internal
notes and their files. For every route, page and API alike, such an object answers as
a missing one (404), and no list shows it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.change_requests.service import LineInput, create_draft, submit
from portal.models import (
    Attachment,
    ChangeRequest,
    CRStatus,
    LineChange,
    Plan,
    PlanType,
    RequestComment,
    Role,
    ServiceCredit,
    ServiceRequest,
    StoredFile,
)
from portal.security import Scope, scoped_to
from tests.conftest import Browser, api_token, bearer, csrf_token
from tests.test_access import PUBLIC, build_url, id_rules, methods_of, send

# Each path variable that may name a firm-only object, and the object it names.
HIDDEN = {"change_request_id": "change_request", "plan_id": "plan", "attachment_id": "attachment",
          "stakeholder_id": "stakeholder", "interaction_id": "interaction", "credit_id": "service_credit"}


def _draft(session, world, title: str, price: str) -> ChangeRequest:
    line = LineInput(change=LineChange.ADD, description={"en": f"{title} line"}, unit="payslip",
                     quantity=Decimal(10), unit_price=Decimal(price))
    return create_draft(session, world["contract"], world.user(Role.ACCOUNT_MANAGER), title={"en": title},
                        description={"en": f"{title} description"}, in_scope=False,
                        effective_date=date.today() + timedelta(days=30), lines=[line])


@pytest.fixture
def firm_only(session, worlds, admin):
    """Account Alpha with, beside what every role sees, one firm-only object of each
    kind; returns the world and, per kind, the hidden object and a text only it holds."""
    alpha, _bravo = worlds
    draft = _draft(session, alpha, "Draft kept from the client", "9.00")
    pending = _draft(session, alpha, "Awaiting the firm's own approval", "9000.00")  # 90,000: over the threshold
    submit(session, pending, alpha.account, alpha.user(Role.ACCOUNT_MANAGER))
    assert pending.status is CRStatus.PENDING_INTERNAL_APPROVAL
    plan = Plan(account_id=alpha.account.id, contract_id=alpha["contract"].id, plan_type=PlanType.JBP, period="FY2030",
                currency="USD", content={"objectives": [{"en": "Draft plan objective kept from the client"}]})
    note = RequestComment(account_id=alpha.account.id, request_id=alpha["request"].id,
                          author_id=alpha.user(Role.ACCOUNT_MANAGER).id, body="Internal note kept from the client",
                          internal=True)
    stored = StoredFile(account_id=alpha.account.id, filename="internal-margin.xlsx", content_type="text/plain",
                        size=4, sha256="0" * 64, data=b"note")
    # A service credit still proposed: the firm's until finance approves it.
    proposed = ServiceCredit(account_id=alpha.account.id, contract_id=alpha["contract"].id, kpi_id=alpha["kpi"].id,
                             period=date(2020, 1, 1), currency="USD", computed_amount=Decimal("9.99"),
                             amount=Decimal("9.99"), reason="Service credit proposal kept from the client",
                             calculation=dict(alpha["service_credit"].calculation))
    session.add_all([plan, note, stored, proposed])
    session.flush()
    attachment = Attachment(account_id=alpha.account.id, request_id=alpha["request"].id, comment_id=note.id,
                            file_id=stored.id)
    session.add(attachment)
    session.commit()
    hidden = {
        "draft change request": ({"change_request": draft}, draft.title["en"]),
        "change request awaiting internal approval": ({"change_request": pending}, pending.title["en"]),
        "draft plan": ({"plan": plan}, "Draft plan objective kept from the client"),
        "internal note's file": ({"attachment": attachment, "comment": note}, "internal-margin.xlsx"),
        "stakeholder": ({"stakeholder": alpha["stakeholder"]}, alpha["stakeholder"].notes),
        "interaction": ({"interaction": alpha["interaction"]}, alpha["interaction"].summary),
        "proposed service credit": ({"service_credit": proposed}, proposed.reason),
    }
    return alpha, hidden


class _Swapped:
    """The world, with some of its objects replaced by hidden ones."""

    def __init__(self, world, replaced: dict):
        self.account, self._world, self._replaced = world.account, world, replaced

    def __getitem__(self, key: str):
        return self._replaced.get(key) or self._world[key]


def _signed_in(app, email: str):
    client = app.test_client()
    Browser(client).login(email)
    return client, csrf_token(client.get("/account").text), api_token(client, email)


@pytest.mark.parametrize("role", [Role.CLIENT_APPROVER, Role.CLIENT_VIEWER])
def test_every_route_answers_a_client_as_for_a_missing_id_for_firm_only_objects_of_its_own_account(
        app, session, firm_only, role):
    alpha, hidden = firm_only
    client, csrf, token = _signed_in(app, alpha.user(role).email)
    checked = 0
    for kind, (replaced, secret) in hidden.items():
        world = _Swapped(alpha, replaced)
        for rule in id_rules(app):
            if not any(HIDDEN[arg] in replaced for arg in rule.arguments if arg in HIDDEN):
                continue
            url, missing_url = build_url(rule, world)
            for method in methods_of(rule):
                response = send(client, method, url, token=token, csrf=csrf)
                baseline = send(client, method, missing_url, token=token, csrf=csrf)
                where = f"{method} {rule.rule} with the {kind}, as {role.value}"
                assert secret not in response.get_data(as_text=True), f"{where} shows it"
                assert response.status_code == baseline.status_code, f"{where}: {response.status_code}"
                assert response.status_code in (403, 404), where
                checked += 1
    assert checked > 40
    # Nothing moved: the drafts are drafts still, the note is internal still.
    for kind, (replaced, _secret) in hidden.items():
        for obj in replaced.values():
            session.refresh(obj)
    assert hidden["draft change request"][0]["change_request"].status is CRStatus.DRAFT
    assert hidden["change request awaiting internal approval"][0]["change_request"].status \
        is CRStatus.PENDING_INTERNAL_APPROVAL


def test_no_list_or_page_shows_a_client_the_firm_only_objects_of_its_own_account(app, session, firm_only):
    alpha, hidden = firm_only
    client, _csrf, token = _signed_in(app, alpha.user(Role.CLIENT_APPROVER).email)
    account = alpha.account.id
    pages = [f"/requests/{alpha['request'].id}", f"/api/v1/requests/{alpha['request'].id}", f"/accounts/{account}",
             f"/api/v1/accounts/{account}/escalation-contacts"]
    for rule in app.url_map.iter_rules():
        if not rule.arguments and "GET" in rule.methods and rule.endpoint not in PUBLIC:
            pages.append(rule.rule)
    for url in pages:
        body = client.get(url, headers=bearer(token) if url.startswith("/api/") else {}).get_data(as_text=True)
        for kind, (_replaced, secret) in hidden.items():
            assert secret not in body, f"GET {url} shows the client the {kind}"
        assert "Internal note kept from the client" not in body, f"GET {url} shows the internal note"


def test_the_firm_sees_what_is_kept_from_the_client(app, session, firm_only):
    """The filter keeps these objects from clients only: the proof that they exist."""
    alpha, hidden = firm_only
    client, _csrf, _token = _signed_in(app, alpha.user(Role.ACCOUNT_MANAGER).email)
    draft = hidden["draft change request"][0]["change_request"]
    assert client.get(f"/change-requests/{draft.id}").status_code == 200
    assert "Draft kept from the client" in client.get("/change-requests").text
    attachment = hidden["internal note's file"][0]["attachment"]
    assert client.get(f"/requests/{alpha['request'].id}/attachments/{attachment.id}").status_code == 200


def test_a_client_approving_a_draft_through_the_api_gets_404_as_for_a_missing_one(app, session, firm_only):
    """The API once answered 409 here, which told the client that the draft existed."""
    alpha, hidden = firm_only
    client, _csrf, token = _signed_in(app, alpha.user(Role.CLIENT_APPROVER).email)
    draft = hidden["draft change request"][0]["change_request"]
    body = {"version": "0" * 64, "signature_name": alpha.user(Role.CLIENT_APPROVER).name}
    answer = client.post(f"/api/v1/change-requests/{draft.id}/approve", headers=bearer(token), json=body)
    missing = client.post("/api/v1/change-requests/987654/approve", headers=bearer(token), json=body)
    assert answer.status_code == missing.status_code == 404
    assert answer.json == missing.json


def test_the_scope_of_a_client_filters_every_statement_by_the_models_policy(session, firm_only):
    """Selects and relationship loads alike, for a client's scope; not for the firm's."""
    alpha, hidden = firm_only
    request_id, account_id = alpha["request"].id, alpha.account.id
    session.expunge_all()
    with scoped_to(Scope(frozenset({account_id}), client=True)):
        titles = {cr.title["en"] for cr in session.scalars(sa.select(ChangeRequest))}
        periods = {plan.period for plan in session.scalars(sa.select(Plan))}
        loaded = session.scalar(sa.select(ServiceRequest).where(ServiceRequest.id == request_id))
        comments = [c.body for c in loaded.comments]
        files = [a.file.filename for a in loaded.attachments]
    assert "Draft kept from the client" not in titles and "Awaiting the firm's own approval" not in titles
    assert titles  # the submitted CR is there
    assert "FY2030" not in periods and periods
    assert "Internal note kept from the client" not in comments and comments
    assert "internal-margin.xlsx" not in files and files
    session.expunge_all()
    with scoped_to(Scope(frozenset({account_id}))):
        titles = {cr.title["en"] for cr in session.scalars(sa.select(ChangeRequest))}
    assert "Draft kept from the client" in titles

"""The inbox: what waits for each user, on the home page and at GET /api/v1/inbox.

For each kind of work: the item is in the inbox of whoever must do it, leaves once the
work is done, and is never in the inbox of a user of another account (Alpha's users
against Bravo's rows, each asked in the user's own scope, as a request would be).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from portal import inbox
from portal.actions import service as actions
from portal.billing.service import dispute
from portal.change_requests import service as change_requests
from portal.change_requests.service import LineInput
from portal.documents import review as document_review
from portal.documents.service import issue_amendment
from portal.i18n import day
from portal.kpis import service as kpis
from portal.models import (
    ActionItem,
    ActionSource,
    ActionStatus,
    CRStatus,
    Decision,
    InvoiceStatus,
    LineChange,
    OwnerSide,
    PlanStatus,
    Priority,
    RequestCategory,
    RequestStatus,
    ReviewDecision,
    Role,
    ScorecardAcknowledgement,
)
from portal.plans import service as plans
from portal.security import scope_for, scoped_to
from portal.service_requests import service as requests
from tests.factories import add_invoice
from tests.helpers import approver_of, manager_of, signed_in, today_of, translated

APPROVER, VIEWER = "client.approver@alpha.example", "client.viewer@alpha.example"
AM, REVIEWER = "account.manager@alpha.example", "regional.reviewer@alpha.example"


def inbox_of(session, user, **kwargs) -> list[inbox.InboxItem]:
    """``user``'s inbox as their request would read it: in their scope, after what the
    test committed."""
    session.expire_all()
    with scoped_to(scope_for(user)):
        return inbox.items_for(session, user, **kwargs)


def keys(items) -> set[tuple[str, int]]:
    return {(item.kind, item.id) for item in items}


def of_kind(session, user, kind: str) -> list[inbox.InboxItem]:
    return [item for item in inbox_of(session, user) if item.kind == kind]


@pytest.fixture
def worlds(worlds, session):
    """Alpha and Bravo with approvers who sign with their registered names."""
    for world in worlds:
        approver_of(world).name = f"Approver of {world.account.name}"
    session.commit()
    return worlds


# --- change requests -----------------------------------------------------------------------------


def test_a_change_request_waits_for_its_accounts_approver_until_decided(session, worlds):
    alpha, bravo = worlds
    cr = alpha["change_request"]
    assert cr.status is CRStatus.PENDING_CLIENT_APPROVAL
    [item] = of_kind(session, approver_of(alpha), "change_request_approval")
    assert (item.id, item.account_id, item.url) == (cr.id, alpha.account.id, f"/change-requests/{cr.id}")
    assert item.title == f"{cr.number} · CR of Alpha" and item.due_on == cr.effective_date
    assert item.due_at == datetime.combine(cr.effective_date, datetime.max.time().replace(microsecond=0), UTC)
    assert bravo["change_request"].id not in {i.id for i in of_kind(session, approver_of(alpha), "change_request_approval")}
    assert of_kind(session, alpha.user(Role.CLIENT_VIEWER), "change_request_approval") == []  # viewers do not decide

    change_requests.decide(session, cr, alpha.account, approver_of(alpha), version=cr.version,
                           decision=Decision.APPROVED, signature_name=approver_of(alpha).name)
    session.commit()
    assert of_kind(session, approver_of(alpha), "change_request_approval") == []


def above_the_threshold(session, world):
    """A change request of ``world`` priced above its threshold, submitted by its account
    manager: waiting for an administrator's internal approval; committed."""
    line = LineInput(LineChange.ADD, {"en": "Payroll, Vietnam"}, "payslip", Decimal(10000), Decimal("8.50"))
    cr = change_requests.create_draft(session, world["contract"], manager_of(world), title={"en": "Big payroll"},
                                      description={"en": "Many payslips."}, in_scope=False,
                                      effective_date=today_of(world) + timedelta(days=40), lines=[line])
    change_requests.submit(session, cr, world.account, manager_of(world))
    session.commit()
    assert cr.status is CRStatus.PENDING_INTERNAL_APPROVAL
    return cr


def test_above_the_threshold_an_admin_approves_internally_then_the_client(session, worlds, admin):
    alpha, _bravo = worlds
    cr = above_the_threshold(session, alpha)
    assert ("change_request_internal_approval", cr.id) in keys(inbox_of(session, admin))
    assert cr.id not in {i.id for i in inbox_of(session, approver_of(alpha))}  # the client does not see it yet

    change_requests.decide_internally(session, cr, alpha.account, admin, version=cr.version, decision=Decision.APPROVED)
    session.commit()
    assert ("change_request_internal_approval", cr.id) not in keys(inbox_of(session, admin))
    assert ("change_request_approval", cr.id) in keys(inbox_of(session, approver_of(alpha)))


# --- plans ---------------------------------------------------------------------------------------


def test_a_plan_waits_for_the_regional_reviewer_then_for_the_clients_sign_off(session, worlds):
    alpha, bravo = worlds
    plan = alpha["plan"]
    assert plan.status is PlanStatus.IN_REVIEW
    reviewer = alpha.user(Role.REGIONAL_REVIEWER)
    assert keys(of_kind(session, reviewer, "plan_review")) == {("plan_review", plan.id)}  # not Bravo's plan
    assert of_kind(session, manager_of(alpha), "plan_review") == []  # the account has its reviewer
    assert of_kind(session, approver_of(alpha), "plan_signoff") == []

    plans.review(session, plan, alpha.account, reviewer, decision=ReviewDecision.COMMENT, body="Reads well.")
    session.commit()
    assert keys(of_kind(session, reviewer, "plan_review")) == {("plan_review", plan.id)}  # a comment decides nothing
    plans.review(session, plan, alpha.account, reviewer, decision=ReviewDecision.APPROVE)
    session.commit()
    assert plan.status is PlanStatus.PENDING_SIGNOFF
    assert of_kind(session, reviewer, "plan_review") == []
    [item] = of_kind(session, approver_of(alpha), "plan_signoff")
    assert (item.id, item.title, item.url, item.due_at) == (plan.id, "Joint business plan FY2027", f"/plans/{plan.id}", None)
    assert bravo["plan"].id not in {i.id for i in inbox_of(session, approver_of(alpha))}

    plans.sign_off(session, plan, alpha.account, approver_of(alpha), version=plan.version,
                   signature_name=approver_of(alpha).name)
    session.commit()
    assert of_kind(session, approver_of(alpha), "plan_signoff") == []


def test_without_a_regional_reviewer_the_account_manager_reviews_the_plan(session, worlds):
    alpha, _bravo = worlds
    alpha.user(Role.REGIONAL_REVIEWER).active = False
    session.commit()
    plan = alpha["plan"]
    assert keys(of_kind(session, manager_of(alpha), "plan_review")) == {("plan_review", plan.id)}

    plans.review(session, plan, alpha.account, manager_of(alpha), decision=ReviewDecision.REQUEST_CHANGES,
                 body="Add the Vietnam entity.")
    session.commit()
    assert plan.status is PlanStatus.CHANGES_REQUESTED
    assert of_kind(session, manager_of(alpha), "plan_review") == []


# --- documents -----------------------------------------------------------------------------------


def test_a_draft_waits_for_its_languages_reviewer_until_approved(session, worlds):
    alpha, bravo = worlds
    for world in worlds:
        world.account.document_languages, world.account.review_languages = ["en", "zh"], ["zh"]
        world.user(Role.REGIONAL_REVIEWER).language = "zh"
    session.commit()
    drafts = []
    for world in worlds:
        cr = world["change_request"]
        change_requests.decide(session, cr, world.account, approver_of(world), version=cr.version,
                               decision=Decision.APPROVED, signature_name=approver_of(world).name)
        drafts.append(issue_amendment(session, cr, world.account, manager_of(world), ["en", "zh"],
                                      show_source_text=True))
        session.commit()
    mine, theirs = drafts
    reviewer = alpha.user(Role.REGIONAL_REVIEWER)
    [item] = of_kind(session, reviewer, "document_review")
    assert (item.id, item.account_id, item.url) == (mine.id, alpha.account.id, f"/documents/{mine.id}")
    assert item.title.startswith(mine.number) and theirs.id != item.id
    assert of_kind(session, manager_of(alpha), "document_review") == []  # the issuer does not review

    document_review.approve(session, mine, alpha.account, reviewer, version=mine.sha256)
    session.commit()
    assert of_kind(session, reviewer, "document_review") == []


# --- requests ------------------------------------------------------------------------------------


def test_a_request_waiting_for_the_client_waits_for_whoever_raised_it_until_they_reply(session, worlds):
    alpha, bravo = worlds
    for world in worlds:
        requests.change_status(session, world["request"], world.account, manager_of(world), RequestStatus.WAITING_CLIENT)
    session.commit()
    request = alpha["request"]
    [item] = of_kind(session, approver_of(alpha), "request_awaiting_reply")
    assert (item.id, item.title, item.url) == (request.id, f"Request #{request.id}: Request of Alpha",
                                               f"/requests/{request.id}")
    assert item.due_at is None  # the clock is paused while the client is asked
    assert of_kind(session, alpha.user(Role.CLIENT_VIEWER), "request_awaiting_reply") == []  # not theirs

    requests.add_comment(session, request, alpha.account, approver_of(alpha), "Here is the headcount.")
    session.commit()
    assert of_kind(session, approver_of(alpha), "request_awaiting_reply") == []
    # Now the firm owes the answer: the account manager (the request is unassigned) until they reply.
    [firm_item] = of_kind(session, manager_of(alpha), "request_awaiting_reply")
    assert firm_item.id == request.id and firm_item.due_at == requests.next_due(request)
    assert bravo["request"].id not in {i.id for i in inbox_of(session, manager_of(alpha))}
    requests.add_comment(session, request, alpha.account, manager_of(alpha), "An internal note.", internal=True)
    session.commit()
    assert [i.id for i in of_kind(session, manager_of(alpha), "request_awaiting_reply")] == [request.id]
    requests.add_comment(session, request, alpha.account, manager_of(alpha), "Thank you, fixed in the next run.")
    session.commit()
    assert of_kind(session, manager_of(alpha), "request_awaiting_reply") == []


def test_a_request_the_firm_raised_for_the_client_waits_for_any_of_its_users(session, worlds):
    alpha, _bravo = worlds
    request = requests.create_request(session, alpha.account, manager_of(alpha), category=RequestCategory.SCOPE,
                                      subject="Confirm the new headcount", description="For January.",
                                      priority=Priority.NORMAL)
    requests.change_status(session, request, alpha.account, manager_of(alpha), RequestStatus.WAITING_CLIENT)
    session.commit()
    for role in (Role.CLIENT_VIEWER, Role.CLIENT_APPROVER):
        assert ("request_awaiting_reply", request.id) in keys(inbox_of(session, alpha.user(role)))


def test_a_new_request_waits_for_its_assignee_by_its_first_response_target(session, worlds):
    alpha, _bravo = worlds
    finance = alpha.user(Role.FINANCE)
    request = requests.create_request(session, alpha.account, approver_of(alpha), category=RequestCategory.BILLING,
                                      subject="Invoice question", description="Why two lines?",
                                      priority=Priority.HIGH)
    requests.assign(session, request, alpha.account, manager_of(alpha), finance)
    session.commit()
    [item] = of_kind(session, finance, "request_awaiting_reply")
    assert item.id == request.id and item.due_at == request.first_response_due_at
    assert request.id not in {i.id for i in of_kind(session, manager_of(alpha), "request_awaiting_reply")}

    requests.change_status(session, request, alpha.account, finance, RequestStatus.RESOLVED)
    session.commit()
    assert of_kind(session, finance, "request_awaiting_reply") == []


# --- action items --------------------------------------------------------------------------------


def _action(session, world, owner, due: date, side=OwnerSide.FIRM) -> ActionItem:
    item = ActionItem(account_id=world.account.id, title=f"Call {owner.name}", source=ActionSource.MEETING,
                      owner_side=side, owner_id=owner.id, owner_name=owner.name, due_date=due)
    session.add(item)
    session.commit()
    return item


def test_action_items_wait_for_their_owner_when_due_within_a_week_or_overdue(session, worlds):
    alpha, bravo = worlds
    manager, today = manager_of(alpha), today_of(alpha)
    overdue = _action(session, alpha, manager, today - timedelta(days=3))
    soon = _action(session, alpha, manager, today + timedelta(days=inbox.ACTION_DUE_WITHIN_DAYS))
    later = _action(session, alpha, manager, today + timedelta(days=inbox.ACTION_DUE_WITHIN_DAYS + 1))
    _action(session, alpha, alpha.user(Role.FINANCE), today)  # someone else's
    _action(session, bravo, manager_of(bravo), today)  # another account's
    items = of_kind(session, manager, "action_due")
    assert [i.id for i in items] == [overdue.id, soon.id]  # oldest due first; the later one is not due yet
    now = datetime.now(UTC)
    assert items[0].overdue(now) and not items[1].overdue(now)
    assert items[0].due_on == overdue.due_date and items[0].url == f"/actions/{overdue.id}"
    assert later.id not in {i.id for i in items}

    actions.update(session, overdue, alpha.account, manager, status=ActionStatus.DONE)
    session.commit()
    assert [i.id for i in of_kind(session, manager, "action_due")] == [soon.id]


def test_an_action_item_the_client_owns_waits_for_its_client_owner_until_marked_done(session, worlds):
    alpha, _bravo = worlds
    viewer = alpha.user(Role.CLIENT_VIEWER)
    item = _action(session, alpha, viewer, today_of(alpha) + timedelta(days=2), side=OwnerSide.CLIENT)
    assert [i.id for i in of_kind(session, viewer, "action_due")] == [item.id]
    actions.mark_done_by_client(session, item, alpha.account, viewer)
    session.commit()
    assert of_kind(session, viewer, "action_due") == []


# --- scorecards ----------------------------------------------------------------------------------


def test_the_latest_measured_scorecard_waits_for_the_clients_acknowledgement(session, worlds):
    alpha, bravo = worlds
    for world in worlds:  # the factory acknowledged this month: take it back
        session.delete(world["acknowledgement"])
    session.commit()
    month = today_of(alpha).replace(day=1)
    for role in (Role.CLIENT_APPROVER, Role.CLIENT_VIEWER):
        [item] = of_kind(session, alpha.user(role), "scorecard_acknowledgement")
        assert (item.id, item.account_id) == (month.year * 100 + month.month, alpha.account.id)
        assert item.url == f"/scorecards/{alpha.account.id}?period={month:%Y-%m}"
        with force_locale("zh"):
            [chinese] = of_kind(session, alpha.user(role), "scorecard_acknowledgement")
        assert chinese.title == f"{month.year}年{month.month}月绩效记分卡"
    assert of_kind(session, manager_of(alpha), "scorecard_acknowledgement") == []  # the client's to acknowledge

    kpis.acknowledge(session, alpha.account, alpha.user(Role.CLIENT_VIEWER), month)
    session.commit()
    assert of_kind(session, approver_of(alpha), "scorecard_acknowledgement") == []  # one acknowledgement for the client
    assert session.scalar(sa.select(sa.func.count()).select_from(ScorecardAcknowledgement)) == 1
    assert [i.account_id for i in of_kind(session, approver_of(bravo), "scorecard_acknowledgement")] == [bravo.account.id]


# --- invoices ------------------------------------------------------------------------------------


def test_an_overdue_invoice_waits_for_the_client_until_paid_or_disputed(session, worlds):
    alpha, bravo = worlds
    late = add_invoice(session, alpha, "INV-LATE-1", days_ago=40, total="1200.00")  # due 10 days ago
    disputed = add_invoice(session, alpha, "INV-LATE-2", days_ago=35, total="300.00")
    add_invoice(session, alpha, "INV-DUE-TODAY", days_ago=30)  # overdue only tomorrow
    add_invoice(session, bravo, "INV-BRAVO-LATE", days_ago=40)
    session.commit()
    items = of_kind(session, alpha.user(Role.CLIENT_VIEWER), "invoice_overdue")
    assert [(i.id, i.title) for i in items] == [(late.id, "INV-LATE-1 · $1,200.00"), (disputed.id, "INV-LATE-2 · $300.00")]
    assert items[0].due_on == late.due_date and items[0].overdue(datetime.now(UTC))
    assert of_kind(session, manager_of(alpha), "invoice_overdue") == []  # the client's finance view

    dispute(session, disputed, alpha.account, approver_of(alpha), reason="Two lines for one service.")
    late.status, late.paid_on = InvoiceStatus.PAID, today_of(alpha)
    session.commit()
    assert of_kind(session, alpha.user(Role.CLIENT_VIEWER), "invoice_overdue") == []


# --- the whole inbox -----------------------------------------------------------------------------


def test_the_inbox_lists_the_oldest_due_first_and_undated_work_last(session, worlds):
    alpha, _bravo = worlds
    add_invoice(session, alpha, "INV-LATE-1", days_ago=45)
    session.commit()
    items = inbox_of(session, approver_of(alpha))
    dated = [i.due_at for i in items if i.due_at is not None]
    assert dated == sorted(dated) and len(dated) >= 2
    assert all(i.due_at is None for i in items[len(dated):])
    assert {i.account_id for i in items} == {alpha.account.id}


def test_the_inbox_asks_the_same_number_of_statements_however_many_accounts(session, worlds, app):
    """Bounded: a firm user with one account and with three costs the same statements."""
    from tests.factories import build_account
    from portal.admin.service import assign

    alpha, bravo = worlds
    manager = manager_of(alpha)
    statements: list[str] = []
    engine = session.get_bind()

    def counted() -> int:
        manager._account_ids = None
        assert manager.account_ids  # the scope's own statement, before counting
        statements.clear()
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            inbox_of(session, manager)
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        return len(statements)

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    one = counted()
    charlie = build_account(session, "Charlie")
    for world in (bravo, charlie):
        assign(session, manager, world.account)
    session.commit()
    assert counted() == one


# --- the API -------------------------------------------------------------------------------------


def test_the_api_lists_the_callers_items_as_the_page_does(client, session, worlds, auth):
    alpha, bravo = worlds
    late = add_invoice(session, alpha, "INV-LATE-1", days_ago=40)
    session.commit()
    answer = client.get("/api/v1/inbox", headers=auth(APPROVER))
    assert answer.status_code == 200
    items = answer.json["items"]
    assert set(items[0]) == {"kind", "id", "account_id", "title", "due_at", "url"}
    assert items[0] == {"kind": "invoice_overdue", "id": late.id, "account_id": alpha.account.id,
                        "title": "INV-LATE-1 · $1,000.00",
                        "due_at": f"{late.due_date.isoformat()}T23:59:59Z", "url": f"/invoices/{late.id}"}
    cr = alpha["change_request"]
    assert {"kind": "change_request_approval", "id": cr.id, "account_id": alpha.account.id,
            "title": f"{cr.number} · CR of Alpha", "due_at": f"{cr.effective_date.isoformat()}T23:59:59Z",
            "url": f"/change-requests/{cr.id}"} in items
    assert {item["account_id"] for item in items} == {alpha.account.id}
    assert bravo["change_request"].id not in {i["id"] for i in items if i["kind"].startswith("change_request")}

    with scoped_to(scope_for(approver_of(alpha))):
        page_items = inbox.items_for(session, approver_of(alpha))
    assert [(i["kind"], i["id"]) for i in items] == [(i.kind, i.id) for i in page_items]


def test_the_api_inbox_is_in_the_callers_language_and_needs_a_token(client, session, worlds, auth):
    alpha, _bravo = worlds
    approver_of(alpha).language = "vi"
    session.commit()
    assert client.get("/api/v1/inbox").status_code == 401
    month = today_of(alpha).replace(day=1)
    session.delete(alpha["acknowledgement"])
    session.commit()
    items = client.get("/api/v1/inbox", headers=auth(APPROVER)).json["items"]
    [scorecard] = [i for i in items if i["kind"] == "scorecard_acknowledgement"]
    assert scorecard["title"] == f"Bảng điểm hiệu suất tháng {month.month} năm {month.year}"
    assert scorecard["id"] == month.year * 100 + month.month and scorecard["due_at"] is None


def test_the_openapi_document_describes_the_inbox(client):
    document = client.get("/api/v1/openapi.json").json
    operation = document["paths"]["/inbox"]["get"]
    schema = document["components"]["schemas"]["InboxItemOut"]
    assert set(schema["properties"]) == {"kind", "id", "account_id", "title", "due_at", "url"}
    assert "service_credit_approval" in schema["properties"]["kind"]["enum"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/InboxOut")


# --- the home page -------------------------------------------------------------------------------


def _inbox_section(html: str) -> str:
    match = re.search(r'<section class="inbox".*?</section>', html, re.S)
    assert match, "no inbox on the page"
    return match.group(0)


@pytest.mark.parametrize("language", ["zh", "vi"])
def test_the_home_page_lists_the_users_work_with_due_dates_and_overdue_marked(session, worlds, new_browser, language):
    alpha, _bravo = worlds
    approver_of(alpha).language = language
    alpha.account.timezone = "Asia/Ho_Chi_Minh"
    late = add_invoice(session, alpha, "INV-LATE-1", days_ago=40)
    session.commit()
    section = _inbox_section(signed_in(new_browser, APPROVER).get("/").text)
    assert translated(language, "Waiting for you") in section
    cr = alpha["change_request"]
    assert f'href="/change-requests/{cr.id}"' in section and translated(language, "Change request to approve") in section
    assert f'href="/invoices/{late.id}"' in section and translated(language, "Overdue invoice") in section
    overdue_rows = re.findall(r'<li class="inbox-item is-overdue"[^>]*data-kind="([a-z_]+)"', section)
    assert overdue_rows == ["invoice_overdue"]
    assert translated(language, "Overdue") in section
    with force_locale(language):
        due = translated(language, "Due %(date)s") % {"date": day(late.due_date)}
    assert due in section
    assert section.index(f"/invoices/{late.id}") < section.index(f"/change-requests/{cr.id}")  # oldest due first


def test_the_home_page_says_when_nothing_waits(session, worlds, new_browser):
    alpha, _bravo = worlds
    finance = alpha.user(Role.FINANCE)
    finance.language = "zh"
    session.commit()
    page = signed_in(new_browser, "finance@alpha.example").get("/").text
    section = _inbox_section(page)
    assert translated("zh", "Nothing is waiting for you.") in section and "<li" not in section
    assert 'class="cards"' in page  # the accounts stay below


def test_the_account_cards_counts_link_to_their_filtered_lists(session, worlds, new_browser):
    alpha, _bravo = worlds
    browser = signed_in(new_browser, AM)
    home = browser.get("/").text
    account = alpha.account.id
    for link in (f"/requests?account={account}", f"/change-requests?account={account}&amp;status=pending",
                 f"/invoices/statement?account={account}", f"/actions?account={account}"):
        assert f'href="{link}"' in home, link
    pending = browser.get(f"/change-requests?account={account}&status=pending").text
    assert alpha["change_request"].number in pending and 'value="pending" selected' in pending


def test_an_action_items_title_is_in_the_readers_language(app, session, worlds):
    from flask_babel import force_locale

    alpha, _bravo = worlds
    manager = manager_of(alpha)
    item = _action(session, alpha, manager, today_of(alpha))
    item.title_translations = {"zh": "致电华南客户"}
    session.commit()
    with app.app_context(), force_locale("zh"):
        assert [i.title for i in of_kind(session, manager, "action_due")] == ["致电华南客户"]
    with app.app_context(), force_locale("vi"):  # no Vietnamese title: the English one
        assert [i.title for i in of_kind(session, manager, "action_due")] == [item.title]

"""The people pages through the browser's eyes (the Flask test client): the account page
with its team and escalation matrix, the administrator editing the team (a user added
sees the account on their next page, one removed no longer does), the account managers
editing the matrix (a refusal keeps what was typed), the stakeholders and the interaction
log (firm users only), in Chinese too; and, in headless Chromium, every page at a desktop's
and a phone's width in English and Chinese.

Other accounts' ids answering 404 on every route is proven in ``test_access``; a
client's 404s for the firm-only rows of its own account in ``test_access_policy``."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from markupsafe import escape

from portal.models import (
    ActionItem,
    ActionSource,
    DecisionRole,
    EscalationContact,
    Interaction,
    InteractionKind,
    OwnerSide,
    Role,
    Stakeholder,
    User,
)
from portal.people import service
from tests.conftest import screenshot, sign_in_page
from tests.factories import make_user
from tests.helpers import flashes, latest, manager_of, signed_in, today_of, translated

ADMIN = "admin@firm.example"
AM = "account.manager@alpha.example"
FINANCE = "finance@alpha.example"
CLIENT = "client.approver@alpha.example"


# The firm's administrator beside Alpha.
pytestmark = pytest.mark.beside_alpha("admin")


def team_form(**roles: list[int]) -> dict:
    return {**{role: [str(i) for i in ids] for role, ids in roles.items()}, "save": "Save the team"}


def contact_row(index: int, **fields) -> dict:
    row = {"level": "1", "side": "firm", "name": "", "email": "", "phone": "", "title_en": "", "title_zh": "",
           "title_vi": "", **fields}
    return {f"contacts-{index}-{name}": value for name, value in row.items()}


# --- the team --------------------------------------------------------------------------


def test_a_firm_user_added_to_the_team_sees_the_account_on_their_next_page(session, alpha, new_browser):
    newcomer = make_user(session, "am2@firm.example", Role.ACCOUNT_MANAGER)
    session.commit()
    url = f"/accounts/{alpha.account.id}"
    their = signed_in(new_browser, newcomer.email)
    assert their.get(url).status_code == 404
    admin = signed_in(new_browser, ADMIN)
    page = admin.get(f"{url}/team").text
    assert f'value="{newcomer.id}"' in page and "Am2" in page
    answer = admin.post_form(f"{url}/team", team_form(account_manager=[manager_of(alpha).id, newcomer.id]), page=f"{url}/team")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(f"{url}#team")
    assert their.get(url).status_code == 200
    assert "Account Alpha" in their.get("/").text


def test_a_firm_user_taken_off_the_team_no_longer_sees_the_account(session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}"
    theirs = signed_in(new_browser, FINANCE)
    assert theirs.get(url).status_code == 200
    admin = signed_in(new_browser, ADMIN)
    admin.post_form(f"{url}/team", team_form(account_manager=[manager_of(alpha).id]), page=f"{url}/team")
    assert theirs.get(url).status_code == 404
    assert theirs.get(f"/requests/{alpha['request'].id}").status_code == 404


def test_the_account_page_shows_the_team_to_the_firm_and_the_edit_link_to_the_admin(session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}"
    admin_page = signed_in(new_browser, ADMIN).get(url).text
    assert f'href="{url}/team"' in admin_page
    am_page = signed_in(new_browser, AM).get(url).text
    assert "Account team" in am_page and "Account.Manager" in am_page and "Regional.Reviewer" in am_page
    assert f'href="{url}/team"' not in am_page
    client_page = signed_in(new_browser, CLIENT).get(url).text
    assert "Account team" not in client_page and "Regional.Reviewer" not in client_page


def test_only_the_admin_opens_the_team_page(session, alpha, new_browser):
    assert signed_in(new_browser, AM).get(f"/accounts/{alpha.account.id}/team").status_code == 403


# --- the escalation matrix ------------------------------------------------------------------


def test_the_account_manager_edits_the_matrix_and_the_account_page_shows_it_in_the_readers_language(
        session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/escalation-matrix"
    am = signed_in(new_browser, AM)
    form = am.get(url).text
    assert 'name="contacts-0-name"' in form and 'value="Level One"' in form
    answer = am.post_form(url, {
        **contact_row(0, name="Level One", email="l1@alpha.example"),
        **contact_row(1, level="3", side="client", name="Wang Fang", email="wang.fang@alpha.example",
                      title_en="Finance Director", title_zh="财务总监", phone="+86 755 1234"),
        **contact_row(2),  # a blank row is left out
        "save": "Save the escalation matrix"}, page=url)
    assert answer.status_code == 302
    rows = latest(session).scalars(sa.select(EscalationContact).where(EscalationContact.account_id == alpha.account.id)
                                   .order_by(EscalationContact.level)).all()
    assert [(c.level, c.side, c.name, c.title) for c in rows] == [
        (1, OwnerSide.FIRM, "Level One", {}), (3, OwnerSide.CLIENT, "Wang Fang", {"en": "Finance Director", "zh": "财务总监"})]
    alpha.user(Role.CLIENT_APPROVER).language = "zh"
    session.commit()
    page = signed_in(new_browser, CLIENT).get(f"/accounts/{alpha.account.id}").text
    assert "财务总监" in page and "Finance Director" not in page and "+86 755 1234" in page
    assert translated("zh", "Client") in page


def test_a_wrong_address_shows_the_matrix_again_with_the_problem_beside_it_and_what_was_typed(
        session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/escalation-matrix"
    am = signed_in(new_browser, AM)
    answer = am.post_form(url, {**contact_row(0, delete="y", name="Gone"), **contact_row(1, name="Wang Fang", email="wang.fang"),
                                "save": "Save the escalation matrix"}, page=url)
    assert answer.status_code == 200
    assert re.search(r'name="contacts-1-email"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*name="contacts-1-email"',
                     answer.text)
    assert 'value="wang.fang"' in answer.text and "Enter a valid e-mail address." in answer.text
    assert [c.name for c in latest(session).scalars(sa.select(EscalationContact)
                                                    .where(EscalationContact.account_id == alpha.account.id))] == ["Level One"]


def test_adding_a_contact_works_without_javascript(session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/escalation-matrix"
    am = signed_in(new_browser, AM)
    answer = am.post_form(url, {**contact_row(0, name="Level One", email="l1@alpha.example"), "add": "Add a contact"}, page=url)
    assert answer.status_code == 200 and 'name="contacts-1-name"' in answer.text


def test_finance_sees_the_matrix_without_the_means_to_edit_it(session, alpha, new_browser):
    finance = signed_in(new_browser, FINANCE)
    url = f"/accounts/{alpha.account.id}"
    assert "l1@alpha.example" in finance.get(url).text
    assert f"{url}/escalation-matrix" not in finance.get(url).text
    assert finance.get(f"{url}/escalation-matrix").status_code == 403


# --- stakeholders ---------------------------------------------------------------------------------


def test_a_firm_user_adds_a_stakeholder_and_finds_them_in_the_list(session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/stakeholders"
    finance = signed_in(new_browser, FINANCE)
    form = finance.get(f"{url}/new").text
    assert f'<option selected value="{alpha.user(Role.FINANCE).id}">' in form  # the relationship is theirs
    answer = finance.post_form(f"{url}/new", {
        "name": "Wang Fang", "title": "CFO", "decision_role": "decision_maker", "language": "zh",
        "email": "wang.fang@alpha.example", "phone": "+86 755 1234", "owner": str(manager_of(alpha).id),
        "notes": "Signs off every CR above 50k.", "submit": "Save"}, page=f"{url}/new")
    assert answer.status_code == 302 and answer.headers["Location"] == url
    listing = finance.get(url).text
    assert "Wang Fang" in listing and "Decision maker" in listing and "中文" in listing and "Account.Manager" in listing
    added = latest(session).scalar(sa.select(Stakeholder).where(Stakeholder.name == "Wang Fang"))
    assert added.notes == "Signs off every CR above 50k." and added.created_by_id == alpha.user(Role.FINANCE).id


def test_a_stakeholder_is_edited_through_their_page(session, alpha, new_browser):
    stakeholder = alpha["stakeholder"]
    am = signed_in(new_browser, AM)
    page = am.get(f"/stakeholders/{stakeholder.id}").text
    assert str(escape(stakeholder.notes)) in page and 'value="Stakeholder of Alpha"' in page
    am.post_form(f"/stakeholders/{stakeholder.id}", {
        "name": "Stakeholder of Alpha", "title": "CFO", "decision_role": "approver", "language": "en",
        "email": "", "phone": "", "owner": "0", "notes": "Moved to approving only.", "submit": "Save"},
        page=f"/stakeholders/{stakeholder.id}")
    latest(session).refresh(stakeholder)
    assert (stakeholder.title, stakeholder.decision_role.value, stakeholder.notes) == ("CFO", "approver", "Moved to approving only.")


def test_a_stakeholder_with_a_wrong_address_is_shown_again_with_the_problem_beside_it(session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/stakeholders/new"
    answer = signed_in(new_browser, AM).post_form(url, {"name": "Wang Fang", "decision_role": "user", "language": "en",
                                                        "email": "wang.fang", "owner": "0", "submit": "Save"}, page=url)
    assert answer.status_code == 200
    assert re.search(r'aria-describedby="email-errors"[^>]*value="wang.fang"', answer.text)
    assert "Enter a valid e-mail address." in answer.text and 'value="Wang Fang"' in answer.text
    assert latest(session).scalar(sa.select(Stakeholder).where(Stakeholder.name == "Wang Fang")) is None


@pytest.mark.parametrize("email", [CLIENT, "client.viewer@alpha.example"])
def test_clients_open_none_of_the_stakeholder_and_interaction_pages(session, alpha, new_browser, email):
    client = signed_in(new_browser, email)
    account = alpha.account.id
    for url in (f"/accounts/{account}/stakeholders", f"/accounts/{account}/stakeholders/new",
                f"/stakeholders/{alpha['stakeholder'].id}", f"/accounts/{account}/interactions",
                f"/accounts/{account}/interactions/new", f"/interactions/{alpha['interaction'].id}"):
        assert client.get(url).status_code == 403, url
    page = client.get(f"/accounts/{account}").text
    assert "/stakeholders" not in page and "/interactions" not in page


# --- interactions -----------------------------------------------------------------------------------


def test_a_meeting_is_logged_with_follow_up_actions_raised_in_the_registry(session, alpha, new_browser):
    am_user, approver = manager_of(alpha), alpha.user(Role.CLIENT_APPROVER)
    url = f"/accounts/{alpha.account.id}/interactions/new"
    am = signed_in(new_browser, AM)
    form = am.get(url).text
    assert f'value="{am_user.id}" checked' in form and f'value="{today_of(alpha).isoformat()}"' in form
    due = (today_of(alpha) + timedelta(days=14)).isoformat()
    answer = am.post_form(url, {
        "kind": "meeting", "occurred_on": today_of(alpha).isoformat(), "subject": "Billing workshop",
        "summary": "Walked through the invoice layout.", "firm_attendees": [str(am_user.id)],
        "stakeholders": [str(alpha["stakeholder"].id)], "other_attendees": "Li Na\n",
        "actions-0-title": "Send the invoice template", "actions-0-owner_side": "firm", "actions-0-owner": str(am_user.id),
        "actions-0-owner_name": "", "actions-0-due_date": due,
        "actions-1-title": "", "actions-1-owner_side": "firm", "actions-1-owner": "0",  # blank: left out
        "actions-2-title": "Confirm the PO numbers", "actions-2-owner_side": "client", "actions-2-owner": "0",
        "actions-2-owner_name": approver.name, "actions-2-due_date": "",
        "save": "Save"}, page=url)
    assert answer.status_code == 302
    interaction = latest(session).scalar(sa.select(Interaction).where(Interaction.subject == "Billing workshop"))
    assert answer.headers["Location"] == f"/interactions/{interaction.id}"
    assert [a.name for a in interaction.attendees] == ["Account.Manager", "Stakeholder of Alpha", "Li Na"]
    items = session.scalars(sa.select(ActionItem).where(ActionItem.interaction_id == interaction.id).order_by(ActionItem.id)).all()
    assert [(i.title, i.source, i.owner_side.value, i.owner_name) for i in items] == [
        ("Send the invoice template", ActionSource.MEETING, "firm", "Account.Manager"),
        ("Confirm the PO numbers", ActionSource.MEETING, "client", approver.name)]
    detail = am.get(answer.headers["Location"]).text
    assert "Walked through the invoice layout." in detail and "Send the invoice template" in detail
    assert "Billing workshop" in am.get(f"/accounts/{alpha.account.id}/interactions").text
    # The actions are the registry's: the client sees them there, and nothing of the meeting.
    client = signed_in(new_browser, CLIENT)
    registry = client.get(f"/actions/{items[1].id}").text
    assert "Confirm the PO numbers" in registry and "Walked through" not in registry and "Billing workshop" not in registry


def test_a_follow_up_refused_by_the_registry_is_marked_on_its_row(session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/interactions/new"
    am = signed_in(new_browser, AM)
    answer = am.post_form(url, {
        "kind": "call", "occurred_on": today_of(alpha).isoformat(), "subject": "Quarterly call",
        "actions-0-title": "", "actions-0-owner_side": "firm", "actions-0-owner": "0",
        "actions-0-delete": "y", "actions-1-title": "Too far out", "actions-1-owner_side": "firm", "actions-1-owner": "0",
        "actions-1-due_date": (today_of(alpha) + timedelta(days=90)).isoformat(), "save": "Save"}, page=url)
    assert answer.status_code == 200
    assert re.search(r'aria-invalid="true"[^>]*name="actions-1-due_date"|name="actions-1-due_date"[^>]*aria-invalid="true"',
                     answer.text)
    assert 'value="Quarterly call"' in answer.text
    assert latest(session).scalar(sa.select(Interaction).where(Interaction.subject == "Quarterly call")) is None


def test_an_interaction_is_edited_and_more_follow_ups_added(session, alpha, new_browser):
    interaction = alpha["interaction"]
    url = f"/interactions/{interaction.id}/edit"
    am = signed_in(new_browser, AM)
    page = am.get(url).text
    assert 'value="Account set-up meeting with Alpha"' in page and f'value="{alpha["stakeholder"].id}" checked' in page
    answer = am.post_form(url, {"kind": "meeting", "occurred_on": interaction.occurred_on.isoformat(),
                       "subject": "Account set-up meeting", "summary": "Corrected.", "other_attendees": "",
                       "actions-0-title": "Share the contact list", "actions-0-owner_side": "firm",
                       "actions-0-owner": "0", "save": "Save"}, page=url)
    assert answer.status_code == 302
    latest(session).refresh(interaction)
    assert (interaction.subject, interaction.summary, interaction.attendees) == ("Account set-up meeting", "Corrected.", [])
    assert [i.title for i in interaction.follow_ups] == ["Share the contact list"]


def test_adding_a_follow_up_row_works_without_javascript(session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/interactions/new"
    answer = signed_in(new_browser, AM).post_form(url, {"kind": "call", "occurred_on": "", "subject": "",
                                                        "add": "Add a follow-up action"}, page=url)
    assert answer.status_code == 200 and 'name="actions-0-title"' in answer.text
    assert "Required." not in flashes(answer.text)


def test_the_people_pages_in_chinese(session, alpha, new_browser):
    manager_of(alpha).language = "zh"
    session.commit()
    am = signed_in(new_browser, AM)
    account = alpha.account.id
    for url, heading in ((f"/accounts/{account}/stakeholders", "Stakeholders"),
                         (f"/accounts/{account}/interactions", "Interactions"),
                         (f"/accounts/{account}/interactions/new", "Log an interaction"),
                         (f"/accounts/{account}/escalation-matrix", "Escalation matrix")):
        assert f"<h1>{translated('zh', heading)}</h1>" in am.get(url).text, url
    assert translated("zh", "Decision maker") in am.get(f"/accounts/{account}/stakeholders").text


# --- in a real browser --------------------------------------------------------------------------------


def _no_overflow(page, width: int) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than a {width}px screen"


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_people_pages_fit_a_desktop_and_a_phone_screen(page, session, alpha, language):
    admin = session.scalar(sa.select(User).where(User.email == ADMIN))
    admin.language = language
    service.replace_escalation_matrix(session, alpha.account, admin, [
        service.ContactInput(1, OwnerSide.FIRM, "Account.Manager", AM, {"en": "Account Manager", "zh": "客户经理"}),
        service.ContactInput(2, OwnerSide.FIRM, "Catherine Wong", "catherine.wong@firm.example",
                             {"en": "Managing Director, Greater China", "zh": "大中华区董事总经理"}, "+86 755 8610 2233"),
        service.ContactInput(2, OwnerSide.CLIENT, "Wang Fang", "wang.fang@alpha.example", {"en": "Finance Director", "zh": "财务总监"}),
    ])
    am = manager_of(alpha)
    service.add_stakeholder(session, alpha.account, admin, service.StakeholderDetails(
        "王芳", DecisionRole.APPROVER, title="财务总监", language="zh", email="wang.fang@alpha.example",
        phone="+86 755 1234 5678", owner=am))
    interaction = service.log_interaction(session, alpha.account, admin, service.InteractionDetails(
        InteractionKind.MEETING, today_of(alpha) - timedelta(days=3), "Billing workshop: account set-up",
        "Walked through the invoice layout, the PO numbers per service location and the month-end cut-off.\n"
        "The client asks for the VAT lines in Chinese too.", firm_attendees=[am, admin],
        stakeholders=[alpha["stakeholder"]], other_attendees=["Li Na (payroll vendor)"]), [
        service.FollowUp("Send the bilingual invoice template", owner=am),
        service.FollowUp("Confirm the PO numbers for 2027", owner_side=OwnerSide.CLIENT, owner_name="王芳")])
    session.commit()
    account = alpha.account.id
    sign_in_page(page, ADMIN)
    pages = {"account": f"/accounts/{account}", "team": f"/accounts/{account}/team",
             "matrix": f"/accounts/{account}/escalation-matrix", "stakeholders": f"/accounts/{account}/stakeholders",
             "stakeholder": f"/stakeholders/{alpha['stakeholder'].id}", "interactions": f"/accounts/{account}/interactions",
             "interaction": f"/interactions/{interaction.id}", "interaction-form": f"/accounts/{account}/interactions/new"}
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in pages.items():
            page.goto(url)
            if name == "interaction-form":
                page.locator("[data-add-row=actions]").click()  # the script adds the row in the page
                assert page.locator("[data-rows=actions] [data-row]").count() == 1
            _no_overflow(page, width)
            for table in page.locator("table.stack-on-phone").all():  # a phone reads cards, a desktop columns
                assert table.locator("thead").is_visible() is (width == 1280), f"{url} at {width}px"
            screenshot(page, f"people-{name}-{language}-{width}")

"""The Master Action Registry: due in 30 days by default, never more than 60 days after
it was raised unless an administrator records why, overdue and ageing at their
boundaries, the quarter view with the share closed on time, what a client may do
(comment, close its own items) and may not (close the firm's, edit), the CSV and XLSX
exports, and GET/POST /api/v1/actions and PATCH /api/v1/actions/{id}.

Another account's ids answering 404 on every route is proven in ``test_access``."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from portal.actions import service
from portal.models import ActionComment, ActionItem, ActionSource, ActionStatus, OwnerSide, Role
from portal.domain import DomainError
from tests.factories import build_account
from tests.helpers import latest, signed_in, today_of

CLIENT = "client.approver@alpha.example"
VIEWER = "client.viewer@alpha.example"
AM = "account.manager@alpha.example"
FINANCE = "finance@alpha.example"
ADMIN = "admin@firm.example"
UTC = timezone.utc
FIELDS = {"id", "account_id", "title", "title_translations", "description", "owner_side", "owner_name", "source", "due_date", "status",
          "closed_on", "overdue", "kpi_id", "created_at"}


@pytest.fixture
def alpha(alpha, admin):
    """Alpha, with the firm's admin as ``alpha["admin"]``."""
    alpha.objects["admin"] = admin
    return alpha


def add_item(session, world, title: str, *, raised: date, due: date, status=ActionStatus.OPEN,
             closed_on: date | None = None, owner_side=OwnerSide.FIRM) -> ActionItem:
    item = ActionItem(account_id=world.account.id, title=title, source=ActionSource.MEETING, due_date=due,
                      status=status, closed_on=closed_on, owner_side=owner_side,
                      created_at=datetime.combine(raised, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9))
    session.add(item)
    session.flush()
    return item


# --- due dates -----------------------------------------------------------------------------------


def test_an_item_is_due_30_days_after_it_is_raised_by_default(session, alpha):
    alpha.account.timezone = "Asia/Ho_Chi_Minh"
    item = service.create(session, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), title="Send the SOP")
    assert item.due_date == alpha.account.today() + timedelta(days=30)
    assert item.status is ActionStatus.OPEN and item.extended_by_id is None


def test_an_item_raised_and_closed_in_the_past_counts_from_those_days(session, alpha):
    """``now`` dates an item raised and closed earlier (the demo's registry): the
    default due date, the 60-day rule and the close date count in the account's days."""
    alpha.account.timezone = "Asia/Shanghai"
    am = alpha.user(Role.ACCOUNT_MANAGER)
    raised = datetime(2026, 3, 1, 20, tzinfo=UTC)  # already 2 March in Shanghai
    item = service.create(session, alpha.account, am, title="Send the SOP", now=raised)
    assert (item.created_at, item.due_date) == (raised, date(2026, 4, 1))
    with pytest.raises(DomainError):
        service.create(session, alpha.account, am, title="Late", due_date=date(2026, 5, 2), now=raised)
    service.update(session, item, alpha.account, am, status=ActionStatus.DONE, now=datetime(2026, 3, 20, 17, tzinfo=UTC))
    assert item.closed_on == date(2026, 3, 21)


def test_sixty_days_is_the_most_a_non_admin_may_give(session, alpha):
    am = alpha.user(Role.ACCOUNT_MANAGER)
    today = today_of(alpha)
    item = service.create(session, alpha.account, am, title="Sixty", due_date=today + timedelta(days=60))
    assert item.due_date == today + timedelta(days=60)
    with pytest.raises(DomainError) as refused:
        service.create(session, alpha.account, am, title="Sixty-one", due_date=today + timedelta(days=61),
                       extension_reason="Because")
    assert refused.value.status == 403 and refused.value.fields == {"due_date": "more than 60 days after creation"}
    with pytest.raises(DomainError) as before:
        service.create(session, alpha.account, am, title="Yesterday", due_date=today - timedelta(days=1))
    assert before.value.status == 422 and "due_date" in before.value.fields


def test_an_admin_extends_beyond_sixty_days_with_a_recorded_reason(session, alpha):
    admin = alpha["admin"]
    today = today_of(alpha)
    with pytest.raises(DomainError) as refused:
        service.create(session, alpha.account, admin, title="Long", due_date=today + timedelta(days=90))
    assert refused.value.status == 422 and refused.value.fields == {"extension_reason": "required"}
    item = service.create(session, alpha.account, admin, title="Long", due_date=today + timedelta(days=90),
                          extension_reason="  Waiting for the new tax law  ")
    assert item.extended_by_id == admin.id and item.extension_reason == "Waiting for the new tax law"


def test_moving_the_due_date_beyond_sixty_days_of_creation_needs_an_admin(session, alpha):
    raised = today_of(alpha) - timedelta(days=20)
    item = add_item(session, alpha, "Old", raised=raised, due=raised + timedelta(days=30))
    am, admin = alpha.user(Role.ACCOUNT_MANAGER), alpha["admin"]
    service.update(session, item, alpha.account, am, due_date=raised + timedelta(days=60))
    with pytest.raises(DomainError) as refused:
        service.update(session, item, alpha.account, am, due_date=raised + timedelta(days=61))
    assert refused.value.status == 403
    service.update(session, item, alpha.account, admin, due_date=raised + timedelta(days=75), extension_reason="Audit")
    assert item.due_date == raised + timedelta(days=75) and item.extended_by_id == admin.id


# --- overdue and ageing --------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "due_offset", "overdue"), [
    (ActionStatus.OPEN, 0, False),  # due today
    (ActionStatus.OPEN, -1, True),
    (ActionStatus.IN_PROGRESS, -1, True),
    (ActionStatus.DONE, -1, False),
    (ActionStatus.CANCELLED, -1, False),
])
def test_an_open_item_is_overdue_from_the_day_after_its_due_date(status, due_offset, overdue):
    today = date(2026, 6, 15)
    item = ActionItem(title="x", source=ActionSource.MEETING, status=status,
                      due_date=today + timedelta(days=due_offset))
    assert service.is_overdue(item, today) is overdue


@pytest.mark.parametrize(("days_open", "bucket"), [(0, "0-30"), (30, "0-30"), (31, "31-60"), (60, "31-60"),
                                                   (61, "60+"), (200, "60+")])
def test_ageing_buckets_at_their_boundaries(session, alpha, days_open, bucket):
    item = add_item(session, alpha, "Aged", raised=date(2026, 4, 1), due=date(2026, 5, 1))
    assert service.age_bucket(item, alpha.account, date(2026, 4, 1) + timedelta(days=days_open)) == bucket


def test_a_closed_items_age_is_how_long_it_took(session, alpha):
    item = add_item(session, alpha, "Closed", raised=date(2026, 4, 1), due=date(2026, 5, 1), status=ActionStatus.DONE,
                    closed_on=date(2026, 5, 6))  # 35 days
    assert service.age_bucket(item, alpha.account, date(2026, 11, 1)) == "31-60"


def test_the_day_an_item_was_raised_is_the_accounts_date(session, alpha):
    alpha.account.timezone = "Asia/Shanghai"
    item = ActionItem(account_id=alpha.account.id, title="Late evening", source=ActionSource.MEETING,
                      due_date=date(2026, 5, 1), created_at=datetime(2026, 3, 31, 20, 0, tzinfo=UTC))
    assert service.raised_on(item, alpha.account) == date(2026, 4, 1)  # 04:00 on 1 April in Shanghai
    assert service.age_bucket(item, alpha.account, date(2026, 5, 1)) == "0-30"  # 30 days, not 31


# --- the quarter view ----------------------------------------------------------------------------


def test_quarters_run_from_the_first_of_their_month(alpha):
    assert service.quarter_bounds(2026, 2) == (date(2026, 4, 1), date(2026, 7, 1))
    assert service.quarter_bounds(2026, 4) == (date(2026, 10, 1), date(2027, 1, 1))


@pytest.fixture
def second_quarter(session, alpha):
    """Four items due in 2026-Q2: two closed on time (one on the due date), one late,
    one open past its date; and one each due just before and just after the quarter."""
    done = ActionStatus.DONE
    add_item(session, alpha, "Q2 early", raised=date(2026, 3, 20), due=date(2026, 4, 10), status=done,
             closed_on=date(2026, 4, 8))
    add_item(session, alpha, "Q2 on the day", raised=date(2026, 4, 20), due=date(2026, 5, 20), status=done,
             closed_on=date(2026, 5, 20))
    add_item(session, alpha, "Q2 late", raised=date(2026, 6, 1), due=date(2026, 6, 30), status=done,
             closed_on=date(2026, 7, 2))
    add_item(session, alpha, "Q2 open", raised=date(2026, 5, 16), due=date(2026, 6, 15))
    add_item(session, alpha, "Q1 last day", raised=date(2026, 3, 1), due=date(2026, 3, 31), status=done,
             closed_on=date(2026, 3, 1))
    add_item(session, alpha, "Q3 first day", raised=date(2026, 6, 1), due=date(2026, 7, 1), status=done,
             closed_on=date(2026, 6, 2))
    session.commit()


def registry_titles(html: str) -> list[str]:
    return re.findall(r'<a href="/actions/\d+">([^<]+)</a>', html)


def test_the_quarter_view_shows_the_share_closed_on_time(second_quarter, new_browser):
    page = signed_in(new_browser, AM).get("/actions?quarter=2026-Q2&status=all")
    assert page.status_code == 200
    assert sorted(registry_titles(page.text)) == ["Q2 early", "Q2 late", "Q2 on the day", "Q2 open"]
    summary = re.search(r"The 2026-Q2 registry</strong></header>.*?</article>", page.text, re.S).group(0)
    assert '<p class="big">50.0%</p>' in summary
    assert "2 of 4 items closed on time; 3 closed, 1 overdue." in summary


def test_the_quarter_summary_in_the_service(session, alpha, second_quarter):
    items = session.scalars(service.registry_query(account_id=alpha.account.id, quarter=(2026, 2), status="all")).all()
    summary = service.summarize(items, {alpha.account.id: date(2026, 11, 26)})
    assert (summary.total, summary.closed, summary.on_time, summary.overdue) == (4, 3, 2, 1)
    assert str(summary.on_time_share) == "0.5000"


def test_the_quarter_summary_counts_every_item_due_in_the_quarter_whatever_the_status_filter(second_quarter,
                                                                                             new_browser):
    page = signed_in(new_browser, AM).get("/actions?quarter=2026-Q2").text
    assert "2 of 4 items closed on time; 3 closed, 1 overdue." in page


# --- what the client may do ----------------------------------------------------------------------


def test_a_client_comments_on_an_item(session, alpha, new_browser):
    item = alpha["action"]
    browser = signed_in(new_browser, VIEWER)
    url = f"/actions/{item.id}"
    response = browser.post_form(f"{url}/comments", {"body": "We sent the file on Monday."}, page=url)
    assert response.status_code == 302
    bodies = latest(session).scalars(sa.select(ActionComment.body).where(ActionComment.action_id == item.id)
                                     .order_by(ActionComment.id)).all()
    assert bodies == ["On it", "We sent the file on Monday."]
    assert "We sent the file on Monday." in browser.get(url).text


def test_a_client_marks_its_own_item_done(session, alpha, new_browser):
    own = add_item(session, alpha, "Send the headcount", raised=today_of(alpha), due=today_of(alpha),
                   owner_side=OwnerSide.CLIENT)
    session.commit()
    browser = signed_in(new_browser, CLIENT)
    url = f"/actions/{own.id}"
    assert f'action="/actions/{own.id}/done"' in browser.get(url).text
    assert browser.post_form(f"{url}/done", page=url).status_code == 302
    done = latest(session).scalar(sa.select(ActionItem).where(ActionItem.id == own.id))
    assert done.status is ActionStatus.DONE and done.closed_on == today_of(alpha)
    assert "Marked as done." in browser.get(url).text


def test_a_client_cannot_close_the_firms_item(session, alpha, new_browser):
    firms = alpha["action"]  # owned by the service provider
    browser = signed_in(new_browser, CLIENT)
    url = f"/actions/{firms.id}"
    assert "/done" not in browser.get(url).text
    response = browser.post_form(f"{url}/done", page=url)
    assert response.status_code == 302 and response.location == url
    assert "Only items your company owns can be marked done here." in browser.get(url).text
    assert latest(session).scalar(sa.select(ActionItem.status).where(ActionItem.id == firms.id)) is ActionStatus.OPEN


def test_a_client_cannot_edit_an_item(session, alpha, new_browser):
    item = alpha["action"]
    browser = signed_in(new_browser, CLIENT)
    url = f"/actions/{item.id}"
    page = browser.get(url).text
    assert 'name="title"' not in page
    response = browser.post_form(url, {"title": "Changed", "owner_side": "client", "source": "meeting",
                                       "status": "done", "due_date": today_of(alpha).isoformat()}, page=url)
    assert response.status_code == 403
    assert latest(session).scalar(sa.select(ActionItem.title).where(ActionItem.id == item.id)) == "Action of Alpha"
    assert browser.get("/actions/new?account=%d" % alpha.account.id).status_code == 403


def edit_form(item: ActionItem, **changes) -> dict:
    """The detail page's edit form as the page fills it, with ``changes``."""
    return {"title": item.title, "description": item.description, "owner_side": item.owner_side.value,
            "owner": str(item.owner_id or 0), "owner_name": item.owner_name, "source": item.source.value,
            "due_date": item.due_date.isoformat(), "status": item.status.value, "submit": "Save", **changes}


def test_the_account_manager_edits_an_item_on_its_page(session, alpha, new_browser):
    item = alpha["action"]
    url = f"/actions/{item.id}"
    am = signed_in(new_browser, AM)
    response = am.post_form(url, edit_form(item, title="Send the SOP v2", status="in_progress", owner_name="Lan"),
                            page=url)
    assert response.status_code == 302
    edited = latest(session).scalar(sa.select(ActionItem).where(ActionItem.id == item.id))
    assert (edited.title, edited.status, edited.owner_name) == ("Send the SOP v2", ActionStatus.IN_PROGRESS, "Lan")


def test_editing_a_closed_item_keeps_the_day_it_was_closed(session, alpha, new_browser):
    item = add_item(session, alpha, "Done on time", raised=date(2026, 4, 20), due=date(2026, 5, 20),
                    status=ActionStatus.DONE, closed_on=date(2026, 5, 20))
    session.commit()
    url = f"/actions/{item.id}"
    signed_in(new_browser, AM).post_form(url, edit_form(item, title="Done on time (typo fixed)"), page=url)
    edited = latest(session).scalar(sa.select(ActionItem).where(ActionItem.id == item.id))
    assert edited.title == "Done on time (typo fixed)"
    assert edited.closed_on == date(2026, 5, 20) and service.closed_on_time(edited)


# --- raising items on the page ---------------------------------------------------------------------


def new_item_form(**overrides) -> dict:
    return {"title": "Send the SOP", "title_zh": "", "title_vi": "", "description": "", "owner_side": "firm", "owner": "0", "owner_name": "",
            "source": "meeting", "due_date": "", "submit": "Save", **overrides}


def form_fields(html: str) -> set[str]:
    form = re.search(r'<main.*?<form method="post" novalidate>(.*?)</form>', html, re.S).group(1)
    return set(re.findall(r'name="(\w+)"', form))


def test_the_account_manager_raises_an_item_due_in_30_days_from_the_page(session, alpha, new_browser):
    url = f"/actions/new?account={alpha.account.id}"
    browser = signed_in(new_browser, AM)
    assert form_fields(browser.get(url).text) == {"csrf_token", "once", *new_item_form()}  # what the page's form posts
    response = browser.post_form(url, new_item_form(), page=url)
    item = latest(session).scalar(sa.select(ActionItem).where(ActionItem.title == "Send the SOP"))
    assert item is not None and response.location == f"/actions/{item.id}"
    assert item.due_date == today_of(alpha) + timedelta(days=30)


def test_the_new_item_page_keeps_the_sixty_day_rule(session, alpha, new_browser):
    url = f"/actions/new?account={alpha.account.id}"
    far = (today_of(alpha) + timedelta(days=61)).isoformat()
    browser = signed_in(new_browser, AM)
    assert 'name="extension_reason"' not in browser.get(url).text  # only an admin may extend
    page = browser.post_form(url, new_item_form(title="Far away", due_date=far, status="open"), page=url)
    assert page.status_code == 200 and "only an administrator can extend it" in page.text
    assert latest(session).scalar(sa.select(ActionItem).where(ActionItem.title == "Far away")) is None

    admin = signed_in(new_browser, ADMIN)
    assert 'name="extension_reason"' in admin.get(url).text
    admin.post_form(url, new_item_form(title="Far away", due_date=far, extension_reason="Tax law", status="open"),
                    page=url)
    extended = latest(session).scalar(sa.select(ActionItem).where(ActionItem.title == "Far away"))
    assert extended.extension_reason == "Tax law" and extended.extended_by_id == alpha["admin"].id
    assert "extended: Tax law" in admin.get(f"/actions/{extended.id}").text


# --- exports ---------------------------------------------------------------------------------------


HEADER = ["Account", "Title", "Owned by", "Owner", "Source", "Raised", "Due date", "Status", "Closed", "Overdue", "Age"]


def test_the_registry_downloads_as_csv(session, alpha, second_quarter, new_browser):
    response = signed_in(new_browser, AM).get("/actions?format=csv&status=all&quarter=2026-Q2")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "action-registry.csv" in response.headers["Content-Disposition"]
    header, *rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert header == HEADER
    by_title = {r[1]: r for r in rows}
    assert set(by_title) == {"Q2 early", "Q2 on the day", "Q2 late", "Q2 open"}
    assert by_title["Q2 open"] == ["Account Alpha", "Q2 open", "Service provider", "", "Meeting", "2026-05-16",
                                   "2026-06-15", "Open", "", "yes", "Over 60 days"]
    assert by_title["Q2 late"][7:] == ["Done", "2026-07-02", "", "31-60 days"]  # took 31 days


def test_the_registry_downloads_as_xlsx(session, alpha, second_quarter, new_browser):
    from openpyxl import load_workbook

    response = signed_in(new_browser, CLIENT).get("/actions?format=xlsx&status=open")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    header, *rows = [list(r) for r in load_workbook(io.BytesIO(response.data), read_only=True).active.iter_rows(
        values_only=True)]
    assert header == HEADER
    assert sorted(r[1] for r in rows) == ["Action of Alpha", "Q2 open"]
    q2 = next(r for r in rows if r[1] == "Q2 open")
    assert q2[5].date() == date(2026, 5, 16) and q2[6].date() == date(2026, 6, 15) and q2[9] == "yes"


def test_a_client_exports_only_its_own_accounts_items(session, alpha, new_browser):
    build_account(session, "Bravo")
    session.commit()
    response = signed_in(new_browser, CLIENT).get("/actions?format=csv&status=all")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))[1:]
    assert [(r[0], r[1]) for r in rows] == [("Account Alpha", "Action of Alpha")]


# --- the API -----------------------------------------------------------------------------------------


def test_the_api_lists_the_callers_items_newest_first(session, alpha, client, auth):
    build_account(session, "Bravo")
    older = add_item(session, alpha, "Older", raised=date(2026, 1, 5), due=date(2026, 2, 1))
    session.commit()
    body = client.get("/api/v1/actions", headers=auth(CLIENT)).json
    assert [i["title"] for i in body["items"]] == ["Action of Alpha", "Older"] and body["next_cursor"] is None
    assert set(body["items"][0]) == FIELDS
    assert body["items"][1] == {
        "id": older.id, "account_id": alpha.account.id, "title": "Older", "title_translations": {}, "description": "", "owner_side": "firm",
        "owner_name": "", "source": "meeting", "due_date": "2026-02-01", "status": "open", "closed_on": None,
        "overdue": True, "kpi_id": None, "created_at": "2026-01-05T09:00:00Z"}
    done = client.get("/api/v1/actions?status=done", headers=auth(CLIENT)).json["items"]
    assert done == []
    response = client.get("/api/v1/actions?status=finished", headers=auth(CLIENT))
    assert response.status_code == 422 and "status" in response.json["error"]["fields"]


def test_the_api_raises_an_item_due_in_30_days(session, alpha, client, auth):
    response = client.post("/api/v1/actions", json={"account_id": alpha.account.id, "title": "Send the SOP",
                                                    "owner_side": "client", "source": "kpi",
                                                    "kpi_id": alpha["kpi"].id}, headers=auth(AM))
    assert response.status_code == 201, response.json
    body = response.json
    assert body["due_date"] == (today_of(alpha) + timedelta(days=30)).isoformat()
    assert (body["owner_side"], body["source"], body["status"], body["kpi_id"]) == ("client", "kpi", "open",
                                                                                   alpha["kpi"].id)
    assert latest(session).scalar(sa.select(ActionItem.title).where(ActionItem.id == body["id"])) == "Send the SOP"


@pytest.mark.parametrize(("email", "days", "reason", "status", "field"), [
    (AM, 60, "", 201, None),
    (AM, 61, "Because", 403, "due_date"),
    (ADMIN, 61, "", 422, "extension_reason"),
    (ADMIN, 120, "Tax law", 201, None),
])
def test_the_api_keeps_the_sixty_day_rule(session, alpha, client, auth, email, days, reason, status, field):
    due = (today_of(alpha) + timedelta(days=days)).isoformat()
    response = client.post("/api/v1/actions", json={"account_id": alpha.account.id, "title": "Due later",
                                                    "due_date": due, "extension_reason": reason}, headers=auth(email))
    assert response.status_code == status, response.json
    if field:
        assert field in response.json["error"]["fields"]
    else:
        assert response.json["due_date"] == due


@pytest.mark.parametrize(("body", "field"), [
    ({"title": ""}, "title"),
    ({"title": None}, "title"),
    ({"owner_side": "both"}, "owner_side"),
    ({"source": "rumour"}, "source"),
    ({"due_date": "2026-02-30"}, "due_date"),
    ({"title": "x" * 201}, "title"),
])
def test_the_api_names_each_bad_field(alpha, client, auth, body, field):
    response = client.post("/api/v1/actions", json={"account_id": alpha.account.id, "title": "Valid", **body},
                           headers=auth(AM))
    assert response.status_code == 422 and field in response.json["error"]["fields"]


NOT_AN_OWNER = {"owner_id": "not a user of this account who may own this item"}


def test_the_api_refuses_a_client_user_as_the_owner_of_the_firms_item(alpha, client, auth):
    response = client.post("/api/v1/actions", json={"account_id": alpha.account.id, "title": "Owned",
                                                    "owner_id": alpha.user(Role.CLIENT_APPROVER).id}, headers=auth(AM))
    assert response.status_code == 422 and response.json["error"]["fields"] == NOT_AN_OWNER


def test_the_clients_item_may_be_owned_by_a_client_user_of_the_account_only(session, alpha, client, auth):
    bravo = build_account(session, "Bravo")
    session.commit()
    body = {"account_id": alpha.account.id, "title": "Sign the SOP", "owner_side": "client"}
    ours = client.post("/api/v1/actions", json={**body, "owner_id": alpha.user(Role.CLIENT_APPROVER).id},
                       headers=auth(AM))
    assert ours.status_code == 201 and ours.json["owner_name"] == alpha.user(Role.CLIENT_APPROVER).name
    theirs = client.post("/api/v1/actions", json={**body, "owner_id": bravo.user(Role.CLIENT_APPROVER).id},
                         headers=auth(AM))
    assert theirs.status_code == 422 and theirs.json["error"]["fields"] == NOT_AN_OWNER


def test_the_new_item_page_refuses_an_owner_from_outside_the_accounts_team(session, alpha, new_browser):
    """The form offers the account's team; a posted id of anyone else is refused as the
    API refuses it (it once was saved)."""
    bravo = build_account(session, "Bravo")
    session.commit()
    url = f"/actions/new?account={alpha.account.id}"
    browser = signed_in(new_browser, AM)
    outsider = bravo.user(Role.ACCOUNT_MANAGER)
    page = browser.post_form(url, new_item_form(title="Owned elsewhere", owner=str(outsider.id)), page=url)
    assert page.status_code == 200 and "Choose an owner from the account&#39;s people." in page.text
    assert 'value="Owned elsewhere"' in page.text, "what was typed is kept"
    assert latest(session).scalar(sa.select(ActionItem).where(ActionItem.title == "Owned elsewhere")) is None
    mine = browser.post_form(url, new_item_form(title="Owned here", owner=str(alpha.user(Role.ACCOUNT_MANAGER).id)),
                             page=url)
    assert mine.status_code == 302


def test_the_new_item_page_refuses_another_accounts_kpi(session, alpha, new_browser):
    """An administrator sees every account's KPIs; one of another account's named in the
    address was once linked to the item (only the API checked it)."""
    bravo = build_account(session, "Bravo")
    session.commit()
    url = f"/actions/new?account={alpha.account.id}&kpi={bravo['kpi'].id}"
    browser = signed_in(new_browser, ADMIN)
    page = browser.post_form(url, new_item_form(title="Linked elsewhere", source="kpi"), page=url)
    assert page.status_code == 200 and "The KPI is not one of this account&#39;s." in page.text
    assert latest(session).scalar(sa.select(ActionItem).where(ActionItem.title == "Linked elsewhere")) is None
    own = f"/actions/new?account={alpha.account.id}&kpi={alpha['kpi'].id}"
    assert browser.post_form(own, new_item_form(title="Linked here", source="kpi"), page=own).status_code == 302


@pytest.mark.parametrize("email", [CLIENT, VIEWER, FINANCE])
def test_only_the_account_manager_and_admin_write_through_the_api(session, alpha, client, auth, email):
    item = alpha["action"]
    created = client.post("/api/v1/actions", json={"account_id": alpha.account.id, "title": "Mine"},
                          headers=auth(email))
    assert created.status_code == 403
    patched = client.patch(f"/api/v1/actions/{item.id}", json={"status": "done"}, headers=auth(email))
    assert patched.status_code == 403
    assert latest(session).scalar(sa.select(ActionItem.status).where(ActionItem.id == item.id)) is ActionStatus.OPEN


def test_the_api_changes_only_the_fields_given(session, alpha, client, auth):
    item = alpha["action"]
    response = client.patch(f"/api/v1/actions/{item.id}", json={"status": "done"}, headers=auth(AM))
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "done" and body["closed_on"] == today_of(alpha).isoformat()
    assert body["title"] == "Action of Alpha" and body["due_date"] == item.due_date.isoformat()
    reopened = client.patch(f"/api/v1/actions/{item.id}", json={"status": "open"}, headers=auth(AM)).json
    assert reopened["closed_on"] is None
    renamed = client.patch(f"/api/v1/actions/{item.id}", json={"title": "Renamed", "owner_name": "Lan"},
                           headers=auth(AM)).json
    assert (renamed["title"], renamed["owner_name"], renamed["status"]) == ("Renamed", "Lan", "open")


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"title": ""}, 422, "title"),
    ({"status": "finished"}, 422, "status"),
    ({"due_date": "soon"}, 422, "due_date"),
    ({"due_date": "FAR"}, 403, "due_date"),
])
def test_the_api_refuses_a_bad_change(session, alpha, client, auth, body, status, field):
    item = alpha["action"]
    if body.get("due_date") == "FAR":
        body = {"due_date": (service.raised_on(item, alpha.account) + timedelta(days=61)).isoformat()}
    response = client.patch(f"/api/v1/actions/{item.id}", json=body, headers=auth(AM))
    assert response.status_code == status and field in response.json["error"]["fields"]


@pytest.mark.parametrize("kpi", ["bravo", "missing"])
def test_the_api_refuses_a_kpi_that_is_not_the_accounts(session, alpha, client, auth, kpi):
    bravo = build_account(session, "Bravo")
    session.commit()
    kpi_id = bravo["kpi"].id if kpi == "bravo" else 999999
    response = client.post("/api/v1/actions", json={"account_id": alpha.account.id, "title": "Linked",
                                                    "kpi_id": kpi_id}, headers=auth(AM))
    assert response.status_code in (404, 422)
    assert latest(session).scalar(sa.select(ActionItem).where(ActionItem.title == "Linked")) is None


def test_another_accounts_item_is_not_found_in_the_api(session, alpha, client, auth):
    bravo = build_account(session, "Bravo")
    session.commit()
    assert client.patch(f"/api/v1/actions/{bravo['action'].id}", json={"status": "done"},
                        headers=auth(AM)).status_code == 404
    response = client.post("/api/v1/actions", json={"account_id": bravo.account.id, "title": "Theirs"},
                           headers=auth(AM))
    assert response.status_code == 404

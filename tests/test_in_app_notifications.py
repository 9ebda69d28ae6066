"""In-app notifications: every event that e-mails a user also tells them in the portal
(the bell's count, the list, the API), in the same transaction and their language;
each user chooses per kind whether the e-mail comes too, or one daily digest instead;
security mails always come; a document issued to a client is e-mailed to its users."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.documents.service import issue_amendment
from portal.models import (
    DocumentStatus,
    EscalationContact,
    EscalationTrigger,
    InAppNotification,
    Notification,
    NotificationSettings,
    Priority,
    RequestCategory,
    Role,
)
from portal.models.base import utcnow
from portal.notifications import service as notices
from portal.notifications.digest import send_digests
from portal.notifications.kinds import ALWAYS_EMAILED, DIGEST, KINDS
from portal.service_requests import service as requests
from portal.users.service import invite_user, request_password_reset
from tests.conftest import ROOT, csrf_token
from tests.factories import raise_request
from tests.helpers import assert_error, latest, notifications, post, signed_in, translated, utc

CLIENT, VIEWER = "client.approver@alpha.example", "client.viewer@alpha.example"
AM, REVIEWER = "account.manager@alpha.example", "regional.reviewer@alpha.example"


def in_app(session, user=None, kind: str | None = None) -> list[InAppNotification]:
    """The in-app notifications (of ``user``, of ``kind``), oldest first."""
    query = sa.select(InAppNotification).order_by(InAppNotification.id)
    if user is not None:
        query = query.where(InAppNotification.recipient_id == user.id)
    if kind is not None:
        query = query.where(InAppNotification.kind == kind)
    return list(session.scalars(query))


def emails_to(session, address: str, kind: str | None = None) -> list[Notification]:
    query = sa.select(Notification).where(Notification.to_email == address).order_by(Notification.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return list(session.scalars(query))


def choose(session, user, *, by_email=None, daily_digest=False) -> None:
    """``user`` keeps e-mail for ``by_email`` (default: every kind it can receive)."""
    from portal.notifications.kinds import kinds_for

    wanted = [k.name for k in kinds_for(user.role)] if by_email is None else by_email
    notices.choose_email(session, user, by_email=wanted, daily_digest=daily_digest)
    session.commit()


def firm_reply(session, world, request, body="Fixed tonight."):
    requests.add_comment(session, request, world.account, world.user(Role.ACCOUNT_MANAGER), body)
    session.commit()


def replied_to_client_in(session, world, language: str):
    """A request of ``world``'s client approver, who reads ``language``, with a reply of the firm."""
    world.user(Role.CLIENT_APPROVER).language = language
    session.commit()
    request = raise_request(session, world)
    firm_reply(session, world, request)
    return request


# --- written with the change, for users only --------------------------------------------------


def test_a_new_request_tells_the_account_manager_in_the_portal_as_by_e_mail(session, alpha):
    request = raise_request(session, alpha)
    manager = alpha.user(Role.ACCOUNT_MANAGER)
    [notice] = in_app(session, manager, "request_created")
    [mail] = emails_to(session, AM, "request_created")
    assert notice.title == mail.subject == f"New request #{request.id} from Account Alpha: Payroll run failed"
    assert (notice.link, notice.account_id, notice.read_at) == (f"/requests/{request.id}", alpha.account.id, None)


def test_the_notification_rolls_back_with_the_change(session, alpha):
    before = len(in_app(session))
    requests.create_request(session, alpha.account, alpha.user(Role.CLIENT_APPROVER), category=RequestCategory.OTHER,
                            subject="Never mind", description="Rolled back", priority=Priority.LOW)
    assert len(in_app(session)) == before + 1  # written in the change's own transaction...
    session.rollback()
    assert len(in_app(session)) == before  # ...and gone with it


def test_a_contact_without_a_user_account_is_e_mailed_only(session, alpha):
    session.add(EscalationContact(account_id=alpha.account.id, level=2, name="Level Two", email="l2@alpha.example"))
    request = raise_request(session, alpha)
    requests.escalate(session, request, alpha.account, alpha.user(Role.CLIENT_APPROVER), trigger=EscalationTrigger.CLIENT,
                      reason="Late")
    session.commit()
    mailed = {row.to_email for row in notifications(session, "request_escalated")}
    told = {row.recipient_id for row in in_app(session, kind="request_escalated")}
    assert mailed == {"l2@alpha.example", AM}
    assert told == {alpha.user(Role.ACCOUNT_MANAGER).id}


@pytest.mark.parametrize("language", ["zh", "vi"])
def test_the_title_is_in_the_recipients_language(session, alpha, language):
    request = replied_to_client_in(session, alpha, language)
    [notice] = in_app(session, alpha.user(Role.CLIENT_APPROVER), "request_reply")
    assert notice.title == translated(language, "Reply on request #%(id)d: %(subject)s") % {
        "id": request.id, "subject": "Payroll run failed"}


def test_every_kind_that_notifies_is_one_a_user_can_choose():
    """A template of the outbox is a kind of the settings page, unless only e-mailed."""
    templates = {path.stem for path in (ROOT / "portal" / "templates" / "notifications").glob("*.txt")}
    assert templates - ALWAYS_EMAILED - {DIGEST} == set(KINDS)


# --- the choice of e-mail --------------------------------------------------------------------


def test_a_kind_turned_off_is_told_in_the_portal_but_not_e_mailed(session, alpha):
    manager = alpha.user(Role.ACCOUNT_MANAGER)
    choose(session, manager, by_email=[k for k in KINDS if k != "request_created"])
    request = raise_request(session, alpha)
    assert emails_to(session, AM, "request_created") == []
    assert [n.title for n in in_app(session, manager, "request_created")] == [
        f"New request #{request.id} from Account Alpha: Payroll run failed"]
    requests.add_comment(session, request, alpha.account, alpha.user(Role.CLIENT_APPROVER), "Any news?")
    session.commit()
    assert len(emails_to(session, AM, "request_reply")) == 1  # the other kinds still come


def test_security_mails_always_come_whatever_the_user_chose(session, alpha, admin):
    client_user = alpha.user(Role.CLIENT_APPROVER)
    choose(session, client_user, by_email=[], daily_digest=True)
    request_password_reset(session, CLIENT, address="203.0.113.9")
    session.commit()
    [reset] = emails_to(session, CLIENT, "password_reset")
    assert reset.status.value == "pending"
    assert in_app(session, client_user, "password_reset") == []

    invited = invite_user(session, admin, email="new.viewer@alpha.example", name="New Viewer",
                          role=Role.CLIENT_VIEWER, account=alpha.account, language="vi")
    session.commit()
    assert len(emails_to(session, "new.viewer@alpha.example", "invitation")) == 1
    assert in_app(session, invited) == []  # its link works once, by e-mail


# --- the daily digest ------------------------------------------------------------------------


def test_the_digest_sends_once_a_day_the_unread_ones_that_waited_for_it(session, alpha):
    manager = alpha.user(Role.ACCOUNT_MANAGER)
    manager.timezone = "Asia/Shanghai"  # 08:00 there is 00:00 UTC
    choose(session, manager, daily_digest=True)
    first = raise_request(session, alpha, subject="Payslips missing")
    second = raise_request(session, alpha, subject="Wrong tax code")
    read = raise_request(session, alpha, subject="Read already")
    assert emails_to(session, AM) == []  # nothing at once
    notices.mark_read(in_app(session, manager)[-1])
    session.commit()

    assert send_digests(session, now=utc(2026, 12, 20, 23, 59)) == 0  # 07:59 in Shanghai
    assert send_digests(session, now=utc(2026, 12, 21, 0, 0)) == 1
    session.commit()
    [digest] = emails_to(session, AM, DIGEST)
    assert digest.subject == "Your daily digest: 2 unread notifications"
    assert f"#{first.id} from Account Alpha: Payslips missing" in digest.body
    assert f"#{second.id} from Account Alpha: Wrong tax code" in digest.body
    assert f"#{read.id}" not in digest.body
    notice_ids = [n.id for n in in_app(session, manager, "request_created")[:2]]
    assert all(f"/notifications/{i}" in digest.body for i in notice_ids)  # its links open (and mark read) each one

    assert send_digests(session, now=utc(2026, 12, 21, 9, 0)) == 0  # once a day
    raise_request(session, alpha, subject="Next day")
    assert send_digests(session, now=utc(2026, 12, 21, 23, 0)) == 0  # 07:00 the next day in Shanghai
    assert send_digests(session, now=utc(2026, 12, 22, 0, 30)) == 1
    session.commit()
    assert [d.subject for d in emails_to(session, AM, DIGEST)][-1] == "Your daily digest: 1 unread notification"


@pytest.mark.parametrize("language", ["zh", "vi"])
def test_the_digest_is_in_the_users_language(session, alpha, language):
    manager = alpha.user(Role.ACCOUNT_MANAGER)
    manager.language = language
    choose(session, manager, daily_digest=True)
    raise_request(session, alpha)
    send_digests(session, now=utcnow().replace(hour=12))
    session.commit()
    [digest] = emails_to(session, AM, DIGEST)
    assert digest.language == language
    assert digest.subject == translated(language, "Your daily digest: %(num)d unread notification") % {"num": 1}


def test_a_digest_leaves_out_the_kinds_turned_off_and_nothing_unread_sends_nothing(session, alpha):
    manager = alpha.user(Role.ACCOUNT_MANAGER)
    choose(session, manager, by_email=["request_reply"], daily_digest=True)
    raise_request(session, alpha)  # request_created: only in the portal
    assert send_digests(session, now=utcnow().replace(hour=12)) == 0
    session.commit()
    assert emails_to(session, AM) == []
    assert not any(n.awaiting_digest for n in in_app(session, manager))


def test_turning_the_digest_off_goes_back_to_one_e_mail_each(session, alpha):
    manager = alpha.user(Role.ACCOUNT_MANAGER)
    choose(session, manager, daily_digest=True)
    raise_request(session, alpha)
    choose(session, manager, daily_digest=False)
    raise_request(session, alpha, subject="After")
    assert [m.subject.endswith("After") for m in emails_to(session, AM, "request_created")] == [True]
    assert send_digests(session, now=utcnow().replace(hour=12)) == 0  # what waited is only in the portal


def test_the_digest_is_a_periodic_job_of_the_scheduler():
    from portal.jobs.kinds import notification_digest  # noqa: F401  (registered)
    from portal.jobs.schedule import PERIODIC

    [periodic] = [p for p in PERIODIC if p.kind == "notification_digest"]
    assert periodic.period(datetime(2026, 12, 21, 7, 59), {}) != periodic.period(datetime(2026, 12, 21, 8, 0), {})
    assert periodic.period(datetime(2026, 12, 21, 8, 1), {}) == periodic.period(datetime(2026, 12, 21, 8, 59), {})


# --- a document issued to the client ----------------------------------------------------------


def approved_cr(session, world):
    from tests.test_documents import approved

    return approved(session, world)


@pytest.fixture
def bilingual(alpha, session):
    """Alpha with documents in English and Chinese, its approver reading Chinese."""
    from tests.test_documents import APPROVER_NAME

    alpha.account.document_languages = ["en", "zh"]
    alpha.user(Role.CLIENT_APPROVER).name = APPROVER_NAME
    alpha.user(Role.CLIENT_APPROVER).language = "zh"
    session.commit()
    return alpha


def test_an_issued_amendment_tells_every_client_user_of_the_account(session, bilingual):
    cr = approved_cr(session, bilingual)
    document = issue_amendment(session, cr, bilingual.account, bilingual.user(Role.ACCOUNT_MANAGER), ["en", "zh"])
    session.commit()
    mails = {m.to_email: m for m in notifications(session, "document_issued")}
    assert set(mails) == {CLIENT, VIEWER}
    assert mails[VIEWER].subject == f"Contract amendment {document.number} is issued to you"
    assert mails[CLIENT].subject == translated("zh", "%(kind)s %(number)s is issued to you") % {
        "kind": translated("zh", "Contract amendment"), "number": document.number}
    assert f"/documents/{document.id}" in mails[VIEWER].body
    told = in_app(session, kind="document_issued")
    assert {n.recipient_id for n in told} == {bilingual.user(Role.CLIENT_APPROVER).id, bilingual.user(Role.CLIENT_VIEWER).id}
    assert {n.link for n in told} == {f"/documents/{document.id}"}


def test_a_document_in_review_tells_the_client_only_once_it_is_issued(session, bilingual):
    from portal.documents import review

    bilingual.account.review_languages = ["zh"]
    bilingual.user(Role.REGIONAL_REVIEWER).language = "zh"
    session.commit()
    cr = approved_cr(session, bilingual)
    document = issue_amendment(session, cr, bilingual.account, bilingual.user(Role.ACCOUNT_MANAGER), ["en", "zh"])
    session.commit()
    assert document.status is DocumentStatus.IN_REVIEW
    assert notifications(session, "document_issued") == [] and in_app(session, kind="document_issued") == []
    review.approve(session, document, bilingual.account, bilingual.user(Role.REGIONAL_REVIEWER), version=document.sha256)
    session.commit()
    assert {m.to_email for m in notifications(session, "document_issued")} == {CLIENT, VIEWER}
    assert len(in_app(session, kind="document_issued")) == 2


def test_the_issued_amendment_reaches_the_client_through_a_mail_server(session, bilingual, client, auth, mailbox):
    """Issued through the API by the account manager; ``flask mail send``'s round sends it
    over SMTP; the client approver reads it in Chinese with the document's link."""
    cr = approved_cr(session, bilingual)
    mailbox.deliver()  # the change request's own mails
    response = post(client, f"/api/v1/change-requests/{cr.id}/amendment", auth(AM), {"languages": ["en", "zh"]})
    assert response.status_code == 201, response.get_data(as_text=True)
    number, document_id = response.json["number"], response.json["id"]
    received = {m["To"]: m for m in mailbox.deliver()}
    assert set(received) == {CLIENT, VIEWER}
    chinese = received[CLIENT]
    assert chinese["Subject"] == f"合同补充协议 {number} 已向您出具"
    assert chinese["Content-Language"] == "zh"
    assert f"/documents/{document_id}" in chinese.get_content()
    assert received[VIEWER]["Subject"] == f"Contract amendment {number} is issued to you"


# --- the pages ------------------------------------------------------------------------------------


def bell(html: str) -> str:
    match = re.search(r'<a class="bell"[^>]*aria-label="([^"]*)"', html)
    assert match, "no bell in the header"
    return match.group(1)


def test_the_bell_counts_the_unread_ones_and_the_list_marks_them_read(session, alpha, new_browser):
    request = raise_request(session, alpha)
    firm_reply(session, alpha, request, "First")
    firm_reply(session, alpha, request, "Second")
    browser = signed_in(new_browser, CLIENT)
    home = browser.get("/")
    assert bell(home.text) == "Notifications, 3 unread"  # the change request of the account, and the two replies

    page = browser.get("/notifications").text
    titles = re.findall(r'href="/notifications/(\d+)">([^<]+)</a>', page)
    mine = in_app(session, alpha.user(Role.CLIENT_APPROVER))
    assert [int(i) for i, _ in titles] == [n.id for n in reversed(mine)]  # newest first
    assert page.count('class="badge badge-unread"') == 3

    followed = browser.get(f"/notifications/{mine[-1].id}")
    assert followed.status_code == 302 and followed.location == f"/requests/{request.id}"
    assert bell(browser.get("/").text) == "Notifications, 2 unread"

    marked = browser.post_form(f"/notifications/{mine[0].id}/read")
    assert marked.status_code == 302
    assert bell(browser.get("/").text) == "Notifications, 1 unread"
    browser.post_form("/notifications/read")
    assert bell(browser.get("/notifications").text) == "Notifications, none unread"
    assert all(n.read_at is not None for n in in_app(latest(session), alpha.user(Role.CLIENT_APPROVER)))


@pytest.mark.parametrize("language", ["zh", "vi"])
def test_the_bell_and_the_list_speak_the_users_language(session, alpha, new_browser, language):
    request = replied_to_client_in(session, alpha, language)
    browser = signed_in(new_browser, CLIENT)
    page = browser.get("/notifications").text
    assert bell(page) == translated(language, "Notifications, %(num)d unread") % {"num": 2}
    assert translated(language, "Mark all read") in page
    assert translated(language, "Reply on request #%(id)d: %(subject)s") % {
        "id": request.id, "subject": "Payroll run failed"} in page


def test_nobody_reads_or_marks_another_users_notification(session, worlds, new_browser):
    alpha, bravo = worlds
    [theirs] = in_app(session, alpha.user(Role.CLIENT_APPROVER))[:1]
    for email in (VIEWER, "client.approver@bravo.example"):  # the same account's other user, another account's
        browser = signed_in(new_browser, email)
        assert browser.get(f"/notifications/{theirs.id}").status_code == 404
        assert browser.post_form(f"/notifications/{theirs.id}/read").status_code == 404
        assert f"/notifications/{theirs.id}" not in browser.get("/notifications").text
    assert latest(session).scalar(sa.select(InAppNotification.read_at).where(InAppNotification.id == theirs.id)) is None


def test_marking_read_needs_the_forms_csrf_token(session, alpha, new_browser):
    [notice] = in_app(session, alpha.user(Role.CLIENT_APPROVER))[:1]
    browser = signed_in(new_browser, CLIENT)
    assert browser.client.post(f"/notifications/{notice.id}/read").status_code == 400
    assert browser.client.post("/notifications/read").status_code == 400
    assert latest(session).scalar(sa.select(InAppNotification.read_at).where(InAppNotification.id == notice.id)) is None


def test_the_settings_page_offers_the_kinds_of_the_users_role_and_saves_the_choice(session, alpha, new_browser):
    browser = signed_in(new_browser, CLIENT)
    page = browser.get("/account").text
    offered = set(re.findall(r'name="mail-by_email" value="(\w+)"', page))
    assert offered == {"cr_awaiting_approval", "document_issued", "plan_awaiting_signoff", "request_reply",
                       "request_status", "kpi_comment", "service_credit_issued", "meeting_soon"}
    assert 'value="cr_awaiting_approval" checked' in page  # every kind by e-mail until chosen otherwise
    response = browser.client.post("/account/notifications", data={
        "mail-csrf_token": csrf_token(page), "mail-by_email": ["document_issued", "request_reply"],
        "mail-daily_digest": "y", "mail-submit": "Save"})
    assert response.status_code == 302 and response.location == "/account#notifications"
    settings = latest(session).scalar(sa.select(NotificationSettings).where(
        NotificationSettings.user_id == alpha.user(Role.CLIENT_APPROVER).id))
    assert settings.daily_digest
    assert sorted(settings.email_off) == ["cr_awaiting_approval", "kpi_comment", "meeting_soon", "plan_awaiting_signoff",
                                          "request_status", "service_credit_issued"]
    again = browser.get("/account").text
    assert 'value="document_issued" checked' in again and 'value="kpi_comment" checked' not in again


def test_the_bell_is_one_count_over_the_index_of_unread_ones(app, session, alpha, new_browser):
    """Every page asks for the count: one statement on the notifications, which the
    database answers from the partial index of unread ones."""
    browser = signed_in(new_browser, CLIENT)
    statements = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if "in_app_notifications" in statement:
            statements.append((statement, parameters))

    from portal.extensions import db

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", remember)
    try:
        assert browser.get("/requests").status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", remember)
    [(statement, parameters)] = statements
    assert statement.lstrip().upper().startswith("SELECT COUNT(*)")
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        plan = " ".join(str(row[-1]) for row in
                        connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all())
        assert "INDEX ix_in_app_notifications_unread (recipient_id=? AND account_id=?)" in plan, plan
    else:
        # A handful of rows and no statistics: ask for the plan that scales (the planner
        # then picks one of the recipient's indexes; the partial one once rows pile up).
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).all())
        session.rollback()
        assert "Index" in plan and "Seq Scan" not in plan and "(recipient_id = " in plan, plan


def test_the_list_pages_back_through_older_notifications(session, alpha):
    request = raise_request(session, alpha)
    for n in range(4):
        firm_reply(session, alpha, request, f"Reply {n}")
    user = alpha.user(Role.CLIENT_APPROVER)
    newest_first = [n.id for n in reversed(in_app(session, user))]
    assert len(newest_first) == 5  # the change request of the account, four replies
    first, older = notices.page(session, user, size=2)
    assert [n.id for n in first] == newest_first[:2] and older == newest_first[1]
    middle, oldest = notices.page(session, user, before=older, size=2)
    assert [n.id for n in middle] == newest_first[2:4] and oldest == newest_first[3]
    last, none = notices.page(session, user, before=oldest, size=2)
    assert [n.id for n in last] == newest_first[4:] and none is None


def test_a_firm_user_taken_off_an_account_no_longer_sees_its_notifications(session, alpha):
    from portal.models import account_members
    from portal.security import scope_for, scoped_to

    manager = alpha.user(Role.ACCOUNT_MANAGER)
    raise_request(session, alpha)
    with scoped_to(scope_for(manager)):
        assert notices.unread_count(session, manager) >= 1
    session.execute(sa.delete(account_members).where(account_members.c.user_id == manager.id))
    session.commit()
    session.expire_all()
    manager._account_ids = None
    with scoped_to(scope_for(manager)):
        assert notices.unread_count(session, manager) == 0
        assert session.scalars(notices.of_user(manager)).all() == []


# --- the API ------------------------------------------------------------------------------------


def test_the_api_lists_the_callers_notifications_newest_first_and_marks_one_read(session, alpha, client, auth):
    request = raise_request(session, alpha)
    firm_reply(session, alpha, request)
    listed = client.get("/api/v1/notifications", headers=auth(CLIENT))
    assert listed.status_code == 200
    body = listed.json
    mine = in_app(session, alpha.user(Role.CLIENT_APPROVER))
    assert [item["id"] for item in body["items"]] == [n.id for n in reversed(mine)]
    assert body["unread_count"] == len(mine) and body["next_cursor"] is None
    newest = body["items"][0]
    assert newest == {"id": mine[-1].id, "account_id": alpha.account.id, "kind": "request_reply",
                      "title": f"Reply on request #{request.id}: Payroll run failed", "url": f"/requests/{request.id}",
                      "created_at": newest["created_at"], "read_at": None}
    assert newest["created_at"].endswith("Z")

    read = post(client, f"/api/v1/notifications/{newest['id']}/read", auth(CLIENT))
    assert read.status_code == 200 and read.json["read_at"].endswith("Z")
    again = post(client, f"/api/v1/notifications/{newest['id']}/read", auth(CLIENT))
    assert again.json["read_at"] == read.json["read_at"]  # when it was first read
    unread = client.get("/api/v1/notifications?unread=true", headers=auth(CLIENT)).json
    assert newest["id"] not in [item["id"] for item in unread["items"]] and unread["unread_count"] == len(mine) - 1


def test_the_api_pages_the_list(session, alpha, client, auth):
    request = raise_request(session, alpha)
    for n in range(3):
        firm_reply(session, alpha, request, f"Reply {n}")
    first = client.get("/api/v1/notifications?limit=2", headers=auth(CLIENT)).json
    second = client.get(f"/api/v1/notifications?limit=2&cursor={first['next_cursor']}", headers=auth(CLIENT)).json
    ids = [item["id"] for item in first["items"] + second["items"]]
    assert ids == [n.id for n in reversed(in_app(session, alpha.user(Role.CLIENT_APPROVER)))]


def test_the_api_answers_404_for_another_users_notification(session, worlds, client, auth):
    alpha, _bravo = worlds
    [theirs] = in_app(session, alpha.user(Role.CLIENT_APPROVER))[:1]
    for email in (VIEWER, "client.approver@bravo.example", AM):
        assert_error(post(client, f"/api/v1/notifications/{theirs.id}/read", auth(email)), 404)
        assert theirs.id not in [i["id"] for i in client.get("/api/v1/notifications", headers=auth(email)).json["items"]]
    assert latest(session).scalar(sa.select(InAppNotification.read_at).where(InAppNotification.id == theirs.id)) is None


def test_the_api_marks_all_read_and_documents_itself(session, alpha, client, auth):
    marked = post(client, "/api/v1/notifications/read", auth(CLIENT))
    assert marked.status_code == 200 and marked.json["marked"] >= 1
    assert client.get("/api/v1/notifications", headers=auth(CLIENT)).json["unread_count"] == 0
    assert_error(client.get("/api/v1/notifications?unread=maybe", headers=auth(CLIENT)), 422)
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"/notifications", "/notifications/{notification_id}/read", "/notifications/read"} <= set(paths)
    assert "read_at" in str(paths["/notifications"]["get"])


def test_a_digest_time_uses_the_users_own_day(session, alpha):
    """Hanoi is UTC+7: its 08:00 is 01:00 UTC."""
    manager = alpha.user(Role.ACCOUNT_MANAGER)
    manager.timezone = "Asia/Ho_Chi_Minh"
    choose(session, manager, daily_digest=True)
    raise_request(session, alpha)
    moment = utc(2026, 12, 21, 0, 59)
    assert send_digests(session, now=moment) == 0
    assert send_digests(session, now=moment + timedelta(minutes=1)) == 1


def test_the_list_page_at_a_glance(session, alpha, new_browser):
    """A user without any notification sees that, not an empty list."""
    session.execute(sa.delete(InAppNotification))
    session.commit()
    page = signed_in(new_browser, CLIENT).get("/notifications").text
    assert "You have no notifications yet." in page
    assert "Mark all read" not in page


# --- in a browser ---------------------------------------------------------------------------------

PHONE = {"width": 390, "height": 844}


@pytest.mark.browser
@pytest.mark.parametrize("language", ["zh", "vi"])
def test_the_bell_leads_to_the_list_and_each_notification_to_its_item(page, session, alpha, language):
    from playwright.sync_api import expect

    from tests.conftest import screenshot, sign_in_page

    request = replied_to_client_in(session, alpha, language)
    sign_in_page(page, CLIENT)
    bell = page.locator("a.bell")
    expect(bell).to_have_attribute("aria-label", translated(language, "Notifications, %(num)d unread") % {"num": 2})
    expect(bell.locator(".bell-count")).to_have_text("2")
    bell.click()
    page.wait_for_url("**/notifications")
    screenshot(page, f"notifications-{language}-1280")
    page.set_viewport_size(PHONE)
    screenshot(page, f"notifications-{language}-390")
    assert page.evaluate("document.querySelector('main').scrollWidth") <= PHONE["width"], "the list scrolls sideways"
    page.set_viewport_size({"width": 1280, "height": 900})

    reply = translated(language, "Reply on request #%(id)d: %(subject)s") % {"id": request.id,
                                                                             "subject": "Payroll run failed"}
    page.get_by_role("link", name=reply).click()
    page.wait_for_url(f"**/requests/{request.id}")
    expect(page.locator("a.bell")).to_have_attribute(
        "aria-label", translated(language, "Notifications, %(num)d unread") % {"num": 1})

    page.goto("/notifications")
    page.get_by_role("button", name=translated(language, "Mark all read")).click()
    page.wait_for_url("**/notifications")
    expect(page.locator("a.bell")).to_have_attribute("aria-label", translated(language, "Notifications, none unread"))
    expect(page.locator("a.bell .bell-count")).to_have_count(0)

    page.goto("/account#notifications")
    screenshot(page, f"notification-settings-{language}")

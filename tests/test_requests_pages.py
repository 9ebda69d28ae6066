"""The service request pages: raising a request with attachments, the thread with
internal notes, downloads, escalation by hand, the firm's queue (filters, sort,
assignment, status), feedback and CSAT, and the pages in Chinese and Vietnamese.

Other accounts' ids answering 404 on every route is proven in ``test_access``."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from babel.dates import format_datetime

from portal.files import MAX_FILE_BYTES, MAX_FILES
from portal.i18n import date_formats
from portal.models import (
    ActionItem,
    ActionSource,
    Attachment,
    Escalation,
    EscalationContact,
    EscalationTrigger,
    Feedback,
    Priority,
    RequestCategory,
    RequestComment,
    RequestStatus,
    Role,
    ServiceRequest,
    StoredFile,
)
from portal.models.base import utcnow
from portal.service_requests import service
from tests.factories import build_account, raise_request
from tests.helpers import count, latest, signed_in, translations
from tests.test_files import PDF_BYTES, PNG_1X1, WINDOWS_EXE

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLIENT = "client.approver@alpha.example"
VIEWER = "client.viewer@alpha.example"
AM = "account.manager@alpha.example"
FINANCE = "finance@alpha.example"
REVIEWER = "regional.reviewer@alpha.example"
REQUEST_LINK = re.compile(r'href="/requests/(\d+)"')


@pytest.fixture
def alpha(alpha, session):
    """Alpha in Shanghai with a second escalation level; its users work in Shanghai time too."""
    alpha.account.timezone, alpha.account.country = "Asia/Shanghai", "CN"
    for user in alpha.users.values():
        user.timezone = "Asia/Shanghai"
    session.add(EscalationContact(account_id=alpha.account.id, level=2, name="Level Two", email="l2@alpha.example"))
    session.commit()
    return alpha


def status_of(session, request_id: int) -> RequestStatus:
    return latest(session).scalar(sa.select(ServiceRequest.status).where(ServiceRequest.id == request_id))


def request_ids(html: str) -> list[int]:
    return [int(i) for i in REQUEST_LINK.findall(html)]


def row_of(html: str, request_id: int) -> str:
    match = re.search(rf'<tr>\s*<td>{request_id}</td>.*?</tr>', html, re.S)
    assert match, f"request #{request_id} is not in the list"
    return match.group(0)


def new_request_form(**overrides):
    return {"category": "billing", "priority": "high", "subject": "Invoice 42 is wrong",
            "description": "The VAT line is doubled.", **overrides}


# --- raising a request -----------------------------------------------------------------


def test_the_new_request_form_offers_the_categories_and_priorities_by_name(alpha, new_browser):
    page = signed_in(new_browser, CLIENT).get("/requests/new").text
    options = re.findall(r'<option[^>]*value="(\w+)"[^>]*>([^<]+)</option>', page)
    assert ("billing", "Billing enquiry") in options
    assert ("service", "Service issue") in options
    assert ("scope", "Scope question") in options
    assert ("other", "Other") in options
    assert [v for v, _ in options if v in {"low", "normal", "high", "urgent"}] == ["low", "normal", "high", "urgent"]
    assert 'name="account"' not in page  # a client's request is for its own account


def test_a_request_has_no_category_until_the_client_chooses_one(session, alpha, new_browser):
    """Seen: billing enquiry preselected, so requests about anything were filed as billing."""
    browser = signed_in(new_browser, CLIENT)
    page = browser.get("/requests/new").text
    category = page.split('name="category"', 1)[1].split("</select>", 1)[0]
    assert category.split("<option", 2)[1].startswith(' value="">Choose a category<') and "selected" not in category
    before = count(session, ServiceRequest)
    refused = browser.post_form("/requests/new", new_request_form(category=""))
    assert refused.status_code == 200 and "Choose a category." in refused.text
    assert 'value="Invoice 42 is wrong"' in refused.text  # what was typed is kept
    assert count(session, ServiceRequest) == before


@pytest.mark.parametrize(("language", "required"), [("en", "This field is required."), ("zh", "该字段是必填字段。"),
                                                    ("vi", "Trường này là bắt buộc.")])
def test_wtforms_own_messages_are_in_the_users_language(session, alpha, new_browser, language, required):
    """WTForms has no Vietnamese catalog: the portal's holds its messages (Chinese comes
    from WTForms' own)."""
    alpha.user(Role.CLIENT_APPROVER).language = language
    session.commit()
    refused = signed_in(new_browser, CLIENT).post_form("/requests/new", new_request_form(subject="", description=""))
    assert refused.status_code == 200
    errors = re.findall(r'<small[^>]*id="(subject|description)-errors"[^>]*>(.*?)</small>', refused.text, re.S)
    assert [(name, " ".join(text.split())) for name, text in errors] == [("subject", required), ("description", required)]


def test_a_client_raises_a_request_with_attachments_and_sees_it_at_once_in_the_list(session, alpha, new_browser):
    browser = signed_in(new_browser, CLIENT)
    files = [(io.BytesIO(PDF_BYTES), "合同.pdf"), (io.BytesIO(PNG_1X1), "screen.png")]
    response = browser.post_form("/requests/new", {**new_request_form(), "attachments": files},
                                 content_type="multipart/form-data")
    assert response.status_code == 302
    request_id = int(response.headers["Location"].rsplit("/", 1)[1])

    created = latest(session).scalar(sa.select(ServiceRequest).where(ServiceRequest.id == request_id))
    assert (created.account_id, created.created_by_id) == (alpha.account.id, alpha.user(Role.CLIENT_APPROVER).id)
    assert (created.category, created.priority, created.status) == (RequestCategory.BILLING, Priority.HIGH,
                                                                    RequestStatus.OPEN)
    stored = session.scalars(sa.select(StoredFile).join(Attachment, Attachment.file_id == StoredFile.id)
                             .where(Attachment.request_id == request_id).order_by(StoredFile.id)).all()
    assert [(f.filename, f.content_type, f.data) for f in stored] == [
        ("合同.pdf", "application/pdf", PDF_BYTES), ("screen.png", "image/png", PNG_1X1)]

    row = row_of(browser.get("/requests").text, request_id)
    assert "Invoice 42 is wrong" in row and "Billing enquiry" in row
    assert ">High<" in row and ">Open<" in row
    assert '<td class="num">1</td>' in row  # escalation level
    due = service.next_due(created)
    written = date_formats("en")["datetime"]  # as every page writes a time
    assert format_datetime(due, written, tzinfo=SHANGHAI, locale="en") in row
    assert format_datetime(due, written, tzinfo=ZoneInfo("UTC"), locale="en") not in row


def test_a_firm_user_raises_a_request_for_one_of_its_accounts(session, alpha, new_browser):
    manager = signed_in(new_browser, AM)
    assert 'name="account"' in manager.get("/requests/new").text
    response = manager.post_form("/requests/new", {**new_request_form(), "account": alpha.account.id})
    assert response.status_code == 302
    request_id = int(response.headers["Location"].rsplit("/", 1)[1])
    created = latest(session).scalar(sa.select(ServiceRequest).where(ServiceRequest.id == request_id))
    assert (created.account_id, created.created_by_id) == (alpha.account.id, alpha.user(Role.ACCOUNT_MANAGER).id)


@pytest.mark.parametrize(
    ("files", "message", "status"),
    [
        pytest.param([("big.pdf", PDF_BYTES.ljust(MAX_FILE_BYTES + 1, b" "))], "big.pdf is larger than 10 MB.", 413,
                     id="too-big"),
        pytest.param([("ok.pdf", PDF_BYTES), ("tool.pdf", WINDOWS_EXE)], "tool.pdf is not an allowed type of file.",
                     200, id="disallowed-type"),
        pytest.param([(f"scan{i}.pdf", PDF_BYTES) for i in range(MAX_FILES + 1)], "Attach at most 5 files at a time.",
                     413, id="too-many"),
    ],
)
def test_a_refused_attachment_saves_nothing_of_the_request_and_says_why(session, alpha, new_browser, files, message,
                                                                        status):
    """Too large or too many is 413 (more than a request may carry); the form is shown
    again with what was typed and the problem beside the attachments either way."""
    before = {model: count(session, model) for model in (ServiceRequest, StoredFile, Attachment)}
    browser = signed_in(new_browser, CLIENT)
    uploads = [(io.BytesIO(data), name) for name, data in files]
    response = browser.post_form("/requests/new", {**new_request_form(), "attachments": uploads},
                                 content_type="multipart/form-data")
    response.request.environ["wsgi.input"].close()  # a large test body is spooled to a temporary file
    assert response.status_code == status
    assert message in response.text
    assert 'id="attachments-errors"' in response.text, "the problem stands beside the field"
    assert 'value="Invoice 42 is wrong"' in response.text  # what was typed is kept
    latest(session)
    assert {model: count(session, model) for model in before} == before


def test_a_body_beyond_what_any_request_may_carry_answers_413_with_the_form(app, session, alpha, new_browser,
                                                                          monkeypatch):
    """With the page's script off, nothing stops a form with more than MAX_CONTENT_LENGTH
    before it is sent: its body is never read (what was typed cannot come back), but the
    form's page is shown again with the limits, not a bare error page."""
    before = count(session, ServiceRequest)
    browser = signed_in(new_browser, CLIENT)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 64 * 1024)
    uploads = [(io.BytesIO(PDF_BYTES + b"0" * 100 * 1024), "scan.pdf")]
    response = browser.post_form("/requests/new", {**new_request_form(), "attachments": uploads},
                                 content_type="multipart/form-data")
    response.request.environ["wsgi.input"].close()
    assert response.status_code == 413
    assert "The upload is too large. Attach at most 5 files of 10 MB each." in response.text
    assert 'name="attachments"' in response.text and 'name="subject"' in response.text, "the form, to send again"
    latest(session)
    assert count(session, ServiceRequest) == before


def test_a_refused_attachment_saves_nothing_of_the_reply(session, alpha, new_browser):
    request = raise_request(session, alpha)
    before = {model: count(session, model) for model in (RequestComment, StoredFile, Attachment)}
    browser = signed_in(new_browser, CLIENT)
    response = browser.post_form(f"/requests/{request.id}/comments",
                                 {"body": "See attached", "attachments": [(io.BytesIO(WINDOWS_EXE), "setup.pdf")]},
                                 content_type="multipart/form-data", follow_redirects=True)
    assert "setup.pdf is not an allowed type of file." in response.text
    latest(session)
    assert {model: count(session, model) for model in before} == before


def test_attachments_download_as_attachments_for_users_of_the_account(session, alpha, new_browser):
    browser = signed_in(new_browser, CLIENT)
    upload = [(io.BytesIO(PDF_BYTES), "合同.pdf")]
    response = browser.post_form("/requests/new", {**new_request_form(), "attachments": upload},
                                 content_type="multipart/form-data")
    request_id = int(response.headers["Location"].rsplit("/", 1)[1])
    detail = browser.get(f"/requests/{request_id}").text
    [url] = re.findall(rf'href="(/requests/{request_id}/attachments/\d+)"', detail)
    for email in (CLIENT, VIEWER, AM):
        download = signed_in(new_browser, email).get(url)
        assert download.status_code == 200, email
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert "filename*=UTF-8''%E5%90%88%E5%90%8C.pdf" in download.headers["Content-Disposition"]
        assert download.mimetype == "application/pdf"
        assert download.get_data() == PDF_BYTES


# --- the thread ------------------------------------------------------------------------


def test_both_sides_write_in_the_thread(session, alpha, new_browser):
    request = raise_request(session, alpha)
    client, manager = signed_in(new_browser, CLIENT), signed_in(new_browser, AM)
    assert manager.post_form(f"/requests/{request.id}/comments", {"body": "We are on it."}).status_code == 302
    assert client.post_form(f"/requests/{request.id}/comments", {"body": "Thank you!"}).status_code == 302
    page = client.get(f"/requests/{request.id}").text
    assert page.index("We are on it.") < page.index("Thank you!")
    assert status_of(session, request.id) is RequestStatus.IN_PROGRESS


def test_an_internal_note_and_its_attachment_stay_with_the_firm(session, alpha, new_browser):
    request = raise_request(session, alpha)
    manager = signed_in(new_browser, AM)
    manager.post_form(f"/requests/{request.id}/comments",
                      {"body": "Client keeps changing the cut-off", "internal": "y",
                       "attachments": [(io.BytesIO(b"margin analysis"), "margins.txt")]},
                      content_type="multipart/form-data")
    [note] = latest(session).scalars(sa.select(RequestComment).where(RequestComment.request_id == request.id)).all()
    assert note.internal
    attachment_id = session.scalar(sa.select(Attachment.id).where(Attachment.comment_id == note.id))
    url = f"/requests/{request.id}/attachments/{attachment_id}"

    firm_page = manager.get(f"/requests/{request.id}").text
    assert "Client keeps changing the cut-off" in firm_page and "Internal note" in firm_page and url in firm_page
    assert manager.get(url).status_code == 200

    client = signed_in(new_browser, CLIENT)
    client_page = client.get(f"/requests/{request.id}").text
    assert client.get(f"/requests/{request.id}").status_code == 200
    assert "Client keeps changing the cut-off" not in client_page
    assert "margins.txt" not in client_page and url not in client_page
    assert client.get(url).status_code == 404


def test_a_client_cannot_post_an_internal_note(session, alpha, new_browser):
    request = raise_request(session, alpha)
    signed_in(new_browser, CLIENT).post_form(f"/requests/{request.id}/comments", {"body": "hidden?", "internal": "y"})
    internal = latest(session).scalars(sa.select(RequestComment.internal).where(RequestComment.request_id == request.id))
    assert internal.all() == [False]


# --- escalation by hand ----------------------------------------------------------------


def test_a_client_escalates_with_a_reason_up_to_level_three(session, alpha, new_browser):
    request = raise_request(session, alpha)
    client = signed_in(new_browser, CLIENT)
    url = f"/requests/{request.id}/escalate"
    assert 'action="%s"' % url in client.get(f"/requests/{request.id}").text
    page = client.post_form(url, {"reason": "Payroll is due tomorrow"}, follow_redirects=True).text
    assert "Escalated to level 2." in page
    assert "Payroll is due tomorrow" in page
    client.post_form(url, {"reason": "Still nothing"})
    page = client.post_form(url, {"reason": "Once more"}, follow_redirects=True).text
    assert "This request is already at the highest escalation level." in page
    escalations = latest(session).scalars(sa.select(Escalation).where(Escalation.request_id == request.id)
                                  .order_by(Escalation.id)).all()
    assert [(e.to_level, e.trigger, e.reason) for e in escalations] == [
        (2, EscalationTrigger.CLIENT, "Payroll is due tomorrow"), (3, EscalationTrigger.CLIENT, "Still nothing")]
    assert 'action="%s"' % url not in client.get(f"/requests/{request.id}").text  # no form at the top


def test_escalating_needs_a_reason(session, alpha, new_browser):
    request = raise_request(session, alpha)
    page = signed_in(new_browser, CLIENT).post_form(f"/requests/{request.id}/escalate", {"reason": " "},
                                                    follow_redirects=True).text
    assert "Say why the request needs escalating." in page
    assert latest(session).scalars(sa.select(Escalation).where(Escalation.request_id == request.id)).all() == []


@pytest.mark.parametrize("email", [AM, FINANCE])
def test_only_the_client_escalates_by_hand(session, alpha, new_browser, email):
    request = raise_request(session, alpha)
    response = signed_in(new_browser, email).post_form(f"/requests/{request.id}/escalate", {"reason": "why not"})
    assert response.status_code == 403
    assert latest(session).scalars(sa.select(Escalation).where(Escalation.request_id == request.id)).all() == []


# --- the firm's queue ------------------------------------------------------------------


@pytest.fixture
def queue(session, alpha):
    """Requests of Alpha and Bravo: some overdue (raised weeks ago), some not."""
    bravo = build_account(session, "Bravo")
    manager = alpha.user(Role.ACCOUNT_MANAGER)
    from portal.admin.service import assign

    assign(session, manager, bravo.account)  # the manager handles both accounts
    session.commit()
    weeks_ago = utcnow() - timedelta(days=21)
    made = {
        "late-billing": raise_request(session, alpha, now=weeks_ago, category=RequestCategory.BILLING,
                                      subject="late-billing"),
        "late-urgent": raise_request(session, alpha, now=weeks_ago + timedelta(hours=1), priority=Priority.URGENT,
                                     subject="late-urgent"),
        "fresh-low": raise_request(session, alpha, priority=Priority.LOW, subject="fresh-low"),
        "resolved": raise_request(session, alpha, now=weeks_ago, subject="resolved"),
        "bravo": raise_request(session, bravo, now=weeks_ago, subject="bravo"),
    }
    service.change_status(session, made["resolved"], alpha.account, manager, RequestStatus.RESOLVED)
    session.commit()
    return {name: r.id for name, r in made.items()}, bravo


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"late-billing", "late-urgent", "fresh-low", "bravo"}),
        ("?status=resolved", {"resolved"}),
        ("?status=all&category=billing", {"late-billing"}),
        ("?priority=urgent", {"late-urgent"}),
        ("?priority=low", {"fresh-low"}),
        ("?overdue=1", {"late-billing", "late-urgent", "bravo"}),
        ("?account=ALPHA&overdue=1", {"late-billing", "late-urgent"}),
        ("?account=BRAVO", {"bravo"}),
    ],
)
def test_the_queue_filters(alpha, queue, new_browser, query, expected):
    ids, bravo = queue
    query = query.replace("ALPHA", str(alpha.account.id)).replace("BRAVO", str(bravo.account.id))
    page = signed_in(new_browser, AM).get("/requests" + query).text
    shown = set(request_ids(page))
    assert {name for name, i in ids.items() if i in shown} == expected


def test_the_queue_puts_the_earliest_sla_due_first(alpha, queue, new_browser):
    ids, _ = queue
    page = signed_in(new_browser, AM).get(f"/requests?account={alpha.account.id}").text
    order = [i for i in request_ids(page) if i in ids.values()]
    # The urgent request raised an hour later is due first (1 hour against 9).
    assert order == [ids["late-urgent"], ids["late-billing"], ids["fresh-low"]]


def test_assigning_is_only_to_the_accounts_team(session, alpha, queue, new_browser):
    ids, bravo = queue
    manager = signed_in(new_browser, AM)
    request_id = ids["late-billing"]
    finance = alpha.user(Role.FINANCE)
    page = manager.post_form(f"/requests/{request_id}/assign", {"assignee": finance.id}, follow_redirects=True).text
    assert f"Assigned to {finance.name}." in page
    # Bravo's finance user is not in Alpha's team: not a choice, nothing changes.
    manager.post_form(f"/requests/{request_id}/assign", {"assignee": bravo.user(Role.FINANCE).id})
    latest(session)
    assert session.scalar(sa.select(ServiceRequest.assignee_id).where(ServiceRequest.id == request_id)) == finance.id


@pytest.mark.parametrize("email", [CLIENT, REVIEWER])
def test_only_the_firms_handlers_assign(session, alpha, new_browser, email):
    request = raise_request(session, alpha)
    response = signed_in(new_browser, email).post_form(f"/requests/{request.id}/assign",
                                                       {"assignee": alpha.user(Role.FINANCE).id})
    assert response.status_code == 403


def test_the_firm_changes_the_status_and_a_disallowed_change_is_refused(session, alpha, new_browser):
    request = raise_request(session, alpha)
    manager = signed_in(new_browser, AM)
    page = manager.post_form(f"/requests/{request.id}/status", {"status": "waiting_client"}, follow_redirects=True).text
    assert "The status is now: Waiting for client." in page
    assert "Paused: waiting for client" in page
    manager.post_form(f"/requests/{request.id}/status", {"status": "closed"})
    page = manager.post_form(f"/requests/{request.id}/status", {"status": "in_progress"}, follow_redirects=True).text
    assert "A request cannot go from this status to that one." in page
    assert status_of(session, request.id) is RequestStatus.CLOSED


def test_a_client_cannot_close_an_open_request(session, alpha, new_browser):
    request = raise_request(session, alpha)
    page = signed_in(new_browser, CLIENT).post_form(f"/requests/{request.id}/status", {"status": "closed"},
                                                    follow_redirects=True).text
    assert "A request cannot go from this status to that one." in page
    assert status_of(session, request.id) is RequestStatus.OPEN


# --- feedback and CSAT -----------------------------------------------------------------


def test_a_resolved_request_asks_its_client_for_a_rating(session, alpha, new_browser):
    request = raise_request(session, alpha)
    signed_in(new_browser, AM).post_form(f"/requests/{request.id}/status", {"status": "resolved"})
    client = signed_in(new_browser, CLIENT)
    assert f'href="/requests/{request.id}#feedback"' in client.get("/requests").text
    assert 'id="feedback"' in client.get(f"/requests/{request.id}").text

    client.post_form(f"/requests/{request.id}/feedback", {"rating": "2", "comment": "Took a week"})
    [feedback] = latest(session).scalars(sa.select(Feedback).where(Feedback.request_id == request.id)).all()
    assert (feedback.rating, feedback.comment) == (2, "Took a week")
    action = session.scalar(sa.select(ActionItem).where(ActionItem.feedback_id == feedback.id))
    assert (action.source, action.owner_id) == (ActionSource.FEEDBACK, alpha.user(Role.ACCOUNT_MANAGER).id)
    assert f'href="/requests/{request.id}#feedback"' not in client.get("/requests").text
    assert 'id="feedback"' not in client.get(f"/requests/{request.id}").text


def test_an_open_request_cannot_be_rated(session, alpha, new_browser):
    request = raise_request(session, alpha)
    page = signed_in(new_browser, CLIENT).post_form(f"/requests/{request.id}/feedback", {"rating": "5"},
                                                    follow_redirects=True).text
    assert "Feedback on a request is given once it is resolved." in page
    assert latest(session).scalars(sa.select(Feedback).where(Feedback.request_id == request.id)).all() == []


def test_a_client_gives_feedback_on_the_account_at_any_time(session, alpha, new_browser):
    client = signed_in(new_browser, CLIENT)
    assert client.get("/requests/feedback").status_code == 200
    response = client.post_form("/requests/feedback", {"rating": "1", "comment": "Nobody answers the phone"})
    assert response.status_code == 302
    feedback = latest(session).scalar(sa.select(Feedback).where(Feedback.comment == "Nobody answers the phone"))
    assert (feedback.rating, feedback.request_id, feedback.account_id) == (1, None, alpha.account.id)
    action = session.scalar(sa.select(ActionItem).where(ActionItem.feedback_id == feedback.id))
    assert action.owner_id == alpha.user(Role.ACCOUNT_MANAGER).id
    assert action.due_date == (feedback.created_at.astimezone(SHANGHAI).date() + timedelta(days=7))


def test_feedback_without_a_rating_is_not_saved(session, alpha, new_browser):
    before = count(session, Feedback)
    response = signed_in(new_browser, CLIENT).post_form("/requests/feedback", {"comment": "no stars"})
    assert response.status_code == 200
    assert count(latest(session), Feedback) == before


@pytest.mark.parametrize("email", [AM, FINANCE])
def test_the_firm_does_not_rate_itself(alpha, new_browser, email):
    assert signed_in(new_browser, email).get("/requests/feedback").status_code == 403


def test_csat_per_account_and_month(session, alpha, new_browser):
    # The factory's feedback is a 5 given now; add a 2: two ratings, average 3.5, CSAT 50%.
    now = utcnow()
    service.give_feedback(session, alpha.account, alpha.user(Role.CLIENT_APPROVER), rating=2, now=now)
    session.commit()
    page = signed_in(new_browser, AM).get("/requests/csat").text
    month = now.astimezone(SHANGHAI).strftime("%B %Y")
    row = re.search(rf"<tr><td>Account Alpha</td><td>{month}</td>.*?</tr>", page, re.S)
    assert row, page
    cells = re.findall(r'<td class="num">(?:<span[^>]*>)?([^<]+)', row.group(0))
    assert cells == ["2", "3.5", "50%"]


@pytest.mark.parametrize("email", [CLIENT, REVIEWER])
def test_csat_is_for_the_firms_handlers(alpha, new_browser, email):
    assert signed_in(new_browser, email).get("/requests/csat").status_code == 403


# --- languages -------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "html_lang"), [("zh", "zh-Hans"), ("vi", "vi")])
def test_list_and_detail_pages_render_in_the_clients_language(session, alpha, new_browser, language, html_lang):
    client_user = alpha.user(Role.CLIENT_APPROVER)
    client_user.language = language
    request = raise_request(session, alpha, category=RequestCategory.BILLING, subject="发票 / Hóa đơn")
    manager = alpha.user(Role.ACCOUNT_MANAGER)
    service.add_comment(session, request, alpha.account, manager, "Please send the PO.")
    service.change_status(session, request, alpha.account, manager, RequestStatus.WAITING_CLIENT)
    service.escalate(session, request, alpha.account, client_user, trigger=EscalationTrigger.CLIENT, reason="Urgent")
    resolved = raise_request(session, alpha, subject="Done")
    service.change_status(session, resolved, alpha.account, manager, RequestStatus.RESOLVED)
    session.commit()
    messages = translations(language)

    browser = signed_in(new_browser, CLIENT)
    for url, strings in [
        ("/requests", ["Service requests", "Billing enquiry", "Waiting for client"]),
        (f"/requests/{request.id}", ["Billing enquiry", "Escalated by the client", "Escalation matrix"]),
        (f"/requests/{resolved.id}", ["How did we do?"]),
        ("/requests/new", ["Scope question"]),
        ("/requests/feedback", ["Feedback on our service"]),
    ]:
        response = browser.get(url)
        assert response.status_code == 200, url
        assert f'<html lang="{html_lang}"' in response.text, url
        for msgid in strings:
            assert messages.gettext(msgid) in response.text, (url, msgid)

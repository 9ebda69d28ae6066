"""Language and locale: each user's locale (British English writes 5 December 2026,
14:30), one way of writing dates on a page, time zones and browsers named in the
reader's words, and the texts the firm enters per language shown in the reader's."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from markupsafe import escape

from portal.actions import service as actions
from portal.demo import ACCOUNTS, JOB_TITLES, USERS
from portal.i18n import LOCALE_NAMES, locale_of
from portal.models import ActionItem, Document, DocumentKind, Role, User
from portal.user_agents import browser
from tests.conftest import api_token, bearer
from tests.helpers import latest, manager_of, signed_in

APPROVER = "client.approver@alpha.example"
AM = "account.manager@alpha.example"
CHROME_ON_LINUX = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
                   "Safari/537.36")
VIETNAMESE_DATE = re.compile(r"\b\d{1,2} tháng \d{1,2}, \d{4}\b")


def reader(session, world, role: Role = Role.CLIENT_APPROVER, *, language: str = "en", locale: str | None = None,
           timezone: str | None = None) -> User:
    user = world.user(role)
    user.language, user.locale = language, locale
    if timezone:
        user.timezone = timezone
    session.commit()
    return user


def text_of(html: str) -> str:
    """The page's words, without its markup (dates are split by no tag here)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def footer(html: str) -> str:
    return text_of(html.split('<footer class="site-footer">')[1])


# --- each user's locale -------------------------------------------------------------------


def test_a_user_chooses_british_english_on_the_settings_page(session, alpha, new_browser):
    browser_ = signed_in(new_browser, APPROVER)
    page = browser_.get("/account").text
    for tag, name in LOCALE_NAMES.items():
        assert re.search(rf'<option (selected )?value="{tag}">{re.escape(str(escape(name)))}</option>', page), tag
    assert '<option selected value="en-US">' in page  # English without a choice: American

    answer = browser_.post_form("/account", {"pref-name": "Client.Approver", "pref-language": "en-GB",
                                             "pref-timezone": "Europe/London", "pref-submit": "Save"})
    assert answer.status_code == 302
    user = latest(session).scalar(sa.select(User).where(User.email == APPROVER))
    assert (user.language, user.locale, user.timezone) == ("en", "en-GB", "Europe/London")
    assert '<option selected value="en-GB">' in browser_.get("/account").text


def test_a_british_user_sees_british_dates_and_a_24_hour_clock(session, alpha, new_browser):
    item = alpha["action"]
    due = item.due_date
    request = alpha["request"]
    reader(session, alpha, locale="en-GB", timezone="Europe/London")
    browser_ = signed_in(new_browser, APPROVER)

    action_page = text_of(browser_.get(f"/actions/{item.id}").text)
    assert f"{due.day} {due:%B} {due.year}" in action_page  # 5 December 2026
    assert f"{due:%B} {due.day}, {due.year}" not in action_page

    request_page = text_of(browser_.get(f"/requests/{request.id}").text)
    assert re.search(rf"{request.created_at.day} {request.created_at:%B} \d{{4}}, \d{{2}}:\d{{2}}", request_page)
    assert not re.search(r"\d:\d{2}\s?[AP]M", request_page)


def test_an_american_user_sees_american_dates_and_a_12_hour_clock(session, alpha, new_browser):
    due = alpha["action"].due_date
    reader(session, alpha, locale="en-US")
    browser_ = signed_in(new_browser, APPROVER)
    assert f"{due:%B} {due.day}, {due.year}" in text_of(browser_.get(f"/actions/{alpha['action'].id}").text)
    assert re.search(r"\d:\d{2}\s[AP]M", text_of(browser_.get(f"/requests/{alpha['request'].id}").text))


def test_a_british_choice_waits_while_the_user_reads_another_language(session, alpha, new_browser):
    due = alpha["action"].due_date
    reader(session, alpha, language="zh", locale="en-GB")  # chose en-GB, then Chinese from the header
    page = text_of(signed_in(new_browser, APPROVER).get(f"/actions/{alpha['action'].id}").text)
    assert f"{due.year}年{due.month}月{due.day}日" in page
    assert locale_of("zh", "en-GB") == "zh" and locale_of("en", "en-GB") == "en_GB" and locale_of("en", None) == "en"


def test_the_api_names_the_callers_locale(session, alpha, client):
    reader(session, alpha, locale="en-GB")
    me = client.get("/api/v1/me", headers=bearer(api_token(client, APPROVER))).get_json()
    assert (me["language"], me["locale"]) == ("en", "en-GB")


# --- one way of writing dates on a page ---------------------------------------------------------


def test_a_vietnamese_page_writes_every_date_one_way(session, alpha, new_browser):
    invoice = alpha["invoice"]
    reader(session, alpha, language="vi", timezone="Asia/Ho_Chi_Minh")
    browser_ = signed_in(new_browser, APPROVER)
    for url in (f"/invoices/{invoice.id}", f"/actions/{alpha['action'].id}", f"/requests/{alpha['request'].id}"):
        page = text_of(browser_.get(url).text)
        assert "thg" not in page, url  # Babel's abbreviated month, beside the full one in other styles
        assert VIETNAMESE_DATE.search(page), url
    invoice_page = text_of(browser_.get(f"/invoices/{invoice.id}").text)
    issued, period = invoice.issue_date, invoice.period_start
    assert f"{issued.day} tháng {issued.month}, {issued.year}" in invoice_page
    assert f"{period.day} tháng {period.month}, {period.year}" in invoice_page  # the period, once in "medium"


# --- time zones and browsers in the reader's words -----------------------------------------------


@pytest.mark.parametrize(("language", "shanghai", "utc"), [
    ("zh", "中国（上海）时间", "协调世界时"),
    ("vi", "Giờ Trung Quốc (Thượng Hải)", "Giờ Phối hợp Quốc tế"),
    ("en", "China (Shanghai) Time", "Coordinated Universal Time"),
])
def test_time_zones_are_named_in_the_readers_language(session, alpha, new_browser, language, shanghai, utc):
    reader(session, alpha, language=language, timezone="Asia/Shanghai")
    settings = signed_in(new_browser, APPROVER).get("/account").text
    assert shanghai in footer(settings) and "Asia/Shanghai" not in footer(settings)
    # The select keeps the IANA id as the value and shows the name.
    assert re.search(rf'<option selected value="Asia/Shanghai">{re.escape(shanghai)}</option>', settings)
    assert f'<option value="UTC">{utc}</option>' in settings


def test_the_account_page_names_the_accounts_time_zone(session, alpha, new_browser):
    alpha.account.timezone = "Asia/Ho_Chi_Minh"
    reader(session, alpha, Role.ACCOUNT_MANAGER, language="zh")
    page = signed_in(new_browser, AM).get(f"/accounts/{alpha.account.id}").text
    assert "越南时间" in page and "Asia/Ho_Chi_Minh" not in page


@pytest.mark.parametrize(("language", "shown"), [("en", "Chrome on Linux"), ("zh", "Linux 上的 Chrome"),
                                                 ("vi", "Chrome trên Linux")])
def test_the_sessions_page_names_the_browser(session, alpha, new_browser, language, shown):
    reader(session, alpha, language=language)
    browser_ = new_browser()
    browser_.client.environ_base["HTTP_USER_AGENT"] = CHROME_ON_LINUX
    assert browser_.login(APPROVER).status_code == 302
    page = browser_.get("/account").text
    assert f"<td title=\"{CHROME_ON_LINUX}\">{shown}</td>" in page


def test_browsers_are_named_as_people_know_them():
    assert browser(CHROME_ON_LINUX.replace("Chrome/", "HeadlessChrome/")) == "Chrome on Linux"
    assert browser("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                   "Version/17.4 Safari/605.1.15") == "Safari on macOS"
    assert browser("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0") == "Edge on Windows"
    assert browser("") == browser(None) == "Unknown browser"


# --- texts the firm enters per language -------------------------------------------------------------


def test_a_chinese_reader_sees_the_chinese_action_title_and_english_where_there_is_none(session, alpha, new_browser):
    translated_item = alpha["action"]
    translated_item.title_translations = {"zh": "发送标准作业程序", "vi": "Gửi quy trình chuẩn"}
    english_only = actions.create(session, alpha.account, manager_of(alpha), title="Confirm the PO numbers")
    session.commit()
    for language, expected in (("zh", "发送标准作业程序"), ("vi", "Gửi quy trình chuẩn"), ("en", "Action of Alpha")):
        reader(session, alpha, language=language)
        browser_ = signed_in(new_browser, APPROVER)
        registry = browser_.get("/actions").text
        assert expected in registry and "Confirm the PO numbers" in registry, language
        assert f"<h1>{expected}</h1>" in browser_.get(f"/actions/{translated_item.id}").text
        assert "<h1>Confirm the PO numbers</h1>" in browser_.get(f"/actions/{english_only.id}").text


def test_the_account_manager_enters_an_action_title_in_each_language(session, alpha, new_browser):
    browser_ = signed_in(new_browser, AM)
    url = f"/actions/new?account={alpha.account.id}"
    answer = browser_.post_form(url, {"title": "Send the SOP", "title_zh": "发送标准作业程序", "title_vi": "Gửi quy trình chuẩn",
                                      "description": "", "owner_side": "firm", "owner": "0", "owner_name": "",
                                      "source": "meeting", "due_date": "", "submit": "Save",
                                      "once": "locale-test"}, page=url)
    assert answer.status_code == 302
    item = latest(session).scalar(sa.select(ActionItem).where(ActionItem.title == "Send the SOP"))
    assert item.title_translations == {"zh": "发送标准作业程序", "vi": "Gửi quy trình chuẩn"}
    edit = browser_.get(f"/actions/{item.id}").text
    assert 'value="发送标准作业程序"' in edit and 'value="Gửi quy trình chuẩn"' in edit


def test_the_api_takes_and_gives_an_action_titles_translations(session, alpha, client):
    headers = bearer(api_token(client, AM))
    created = client.post("/api/v1/actions", headers=headers, json={
        "account_id": alpha.account.id, "title": "Send the SOP", "title_translations": {"zh": "发送标准作业程序"}})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["title_translations"] == {"zh": "发送标准作业程序"}
    changed = client.patch(f"/api/v1/actions/{created.get_json()['id']}", headers=headers,
                           json={"title_translations": {"zh": "发送标准作业程序", "vi": "Gửi quy trình chuẩn"}})
    assert changed.get_json()["title_translations"] == {"zh": "发送标准作业程序", "vi": "Gửi quy trình chuẩn"}
    refused = client.post("/api/v1/actions", headers=headers, json={
        "account_id": alpha.account.id, "title": "Send the SOP", "title_translations": {"fr": "Envoyer"}})
    assert refused.status_code == 422


def test_document_titles_are_shown_in_the_readers_language(session, alpha, new_browser, client):
    amendment = alpha["document"]
    amendment.title = "CR of Alpha"
    amendment.source = {"kind": "amendment", "change_request": {"title": {"en": "CR of Alpha", "zh": "Alpha 变更请求"}}}
    pack = Document(account_id=alpha.account.id, kind=DocumentKind.REVIEW_PACK, number="MSR-2026-10-0001",
                    title="Monthly service review 2026-10", languages=["en"], sha256=amendment.sha256,
                    file_id=amendment.file_id, source={"kind": "review_pack", "period": "2026-10"})
    session.add(pack)
    session.commit()
    expected = {"zh": ("Alpha 变更请求", "月度服务回顾 2026年10月"),
                "vi": ("CR of Alpha", "Đánh giá dịch vụ hằng tháng tháng 10 năm 2026"),
                "en": ("CR of Alpha", "Monthly service review October 2026")}
    for language, (amendment_title, pack_title) in expected.items():
        reader(session, alpha, language=language)
        browser_ = signed_in(new_browser, APPROVER)
        listed = browser_.get("/documents").text
        assert f"<td>{amendment_title}</td>" in listed and f"<td>{pack_title}</td>" in listed, language
        assert amendment_title in browser_.get(f"/documents/{amendment.id}").text
    assert "Monthly service review 2026-10" not in listed  # the stored English title is for the API
    answer = client.get(f"/api/v1/documents/{amendment.id}", headers=bearer(api_token(client, APPROVER))).get_json()
    assert (answer["title"], answer["title_translations"]) == ("CR of Alpha", {"en": "CR of Alpha", "zh": "Alpha 变更请求"})


@pytest.mark.parametrize(("language", "firm"), [("en", "Meridian Business Services Ltd"),
                                                ("zh", "美瑞迪安商务服务有限公司"),
                                                ("vi", "Meridian Business Services Ltd")])
def test_the_footer_names_the_firm_in_the_readers_language(session, alpha, new_browser, language, firm):
    reader(session, alpha, language=language)
    assert firm in footer(signed_in(new_browser, APPROVER).get("/account").text)


def test_the_demo_has_every_action_and_job_title_in_three_languages():
    for account in ACCOUNTS:
        for row in account.actions:
            assert len(row.title) == 3 and all(text.strip() for text in row.title), row.title
        assert account.senior_manager[1] in JOB_TITLES
    firm_titles = {user.title for user in USERS if user.email in ("am@firm.example", "admin@firm.example")}
    assert firm_titles <= JOB_TITLES.keys()


def test_the_demos_british_users_read_british_dates():
    british = {user.email: user.locale for user in USERS if user.email.endswith("acme.example")
               or user.email in ("admin@firm.example", "am@firm.example", "finance@firm.example")}
    assert set(british.values()) == {"en-GB"}
    assert {user.locale for user in USERS if user.language != "en"} == {None}


def test_a_due_date_in_the_flash_is_written_as_the_page_writes_dates(session, alpha, new_browser):
    reader(session, alpha, Role.ACCOUNT_MANAGER, locale="en-GB")
    browser_ = signed_in(new_browser, AM)
    url = f"/actions/new?account={alpha.account.id}"
    due = date.today() + timedelta(days=10)
    answer = browser_.post_form(url, {"title": "Send the SOP", "owner_side": "firm", "owner": "0", "source": "meeting",
                                      "due_date": due.isoformat(), "submit": "Save", "once": "flash-test"},
                                page=url, follow_redirects=True)
    assert f"due {due.day} {due:%B} {due.year}." in answer.text

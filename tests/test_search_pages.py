"""The header's search box, the results page and ``GET /api/v1/search``, in the
reader's language; in headless Chromium a Chinese client types 薪资 in the header.

What the search matches and hides is proven in ``test_search_service``; here, that
the pages and the API show it, and refuse a bad query with a reason instead of a 500."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from portal.models import Role
from tests.conftest import screenshot, sign_in_page
from tests.helpers import assert_error, signed_in

CLIENT = "client.approver@alpha.example"
MANAGER = "account.manager@alpha.example"
BRAVO_CLIENT = "client.approver@bravo.example"


@pytest.fixture
def alpha(alpha, session):
    """Alpha, its change request titled in three languages, its client approver reading Chinese."""
    alpha["change_request"].title = {"en": "Payroll for the Vietnam entity", "zh": "越南薪资处理",
                                     "vi": "Tính lương cho pháp nhân Việt Nam"}
    alpha.user(Role.CLIENT_APPROVER).language = "zh"
    session.commit()
    return alpha


def header_tools(html: str) -> str:
    return html.split('<ul class="header-tools">', 1)[1].split("</ul>", 1)[0]


def test_the_search_box_is_the_first_header_tool_with_a_label_in_the_readers_language(new_browser, alpha):
    html = signed_in(new_browser, CLIENT).get("/").text
    first = header_tools(html).split("<li>")[1]  # the first tool: the search box
    assert 'role="search"' in first and 'action="/search"' in first and 'name="q"' in first
    assert '<label for="site-search" class="visually-hidden">搜索内容</label>' in first
    assert 'placeholder="搜索编号或标题"' in first and ">搜索</button>" in first


def test_no_search_box_before_signing_in(client):
    assert 'id="site-search"' not in client.get("/login").text


def test_the_results_page_lists_each_match_as_a_link_under_its_kind(new_browser, alpha):
    cr = alpha["change_request"]
    page = signed_in(new_browser, CLIENT).get("/search?q=" + quote("薪资"))
    assert page.status_code == 200
    html = page.text
    assert '<h2 id="search-change_request">变更请求' in html
    assert f'<a href="/change-requests/{cr.id}">CR-0001 越南薪资处理</a>' in html
    assert "待客户批准" in html  # its status, in Chinese
    assert "“薪资”共有 1 条结果。" in html
    assert 'value="薪资"' in html  # the header box keeps the query


def test_the_firm_sees_each_hits_account(new_browser, alpha, bravo):
    html = signed_in(new_browser, MANAGER).get("/search?q=FY2027").text
    assert f'<a href="/plans/{alpha["plan"].id}">Joint business plan FY2027</a>' in html
    assert "· Account Alpha" in html
    assert f'/plans/{bravo["plan"].id}"' not in html


def test_another_accounts_objects_are_not_on_the_page(new_browser, alpha, bravo):
    links = {f'href="/change-requests/{alpha["change_request"].id}"', f'href="/invoices/{alpha["invoice"].id}"',
             f'href="/plans/{alpha["plan"].id}"', f'href="/documents/{alpha["document"].id}"',
             f'href="/actions/{alpha["action"].id}"', f'href="/requests/{alpha["request"].id}"'}
    browser = signed_in(new_browser, BRAVO_CLIENT)
    for text in ("薪资", "INV-Alpha-0001", "Alpha", "CR-0001", "FY2027"):
        html = browser.get("/search?q=" + quote(text)).text
        assert not [link for link in links if link in html] and "Account Alpha" not in html, text
    assert f'href="/change-requests/{bravo["change_request"].id}"' in browser.get("/search?q=CR-0001").text


@pytest.mark.parametrize(("query", "message"), [
    ("", "按编号（CR-0042、INV-2026-0001、AMD-2026-0003）"),
    ("薪", "请至少输入 2 个字符再搜索。"),
    ("x" * 101, "搜索内容最多 100 个字符。"),
    ("zzzz-nothing", "在您可查看的内容中，没有与“zzzz-nothing”匹配的结果。"),
])
def test_an_empty_short_long_or_fruitless_query_says_why(new_browser, alpha, query, message):
    page = signed_in(new_browser, CLIENT).get("/search?q=" + quote(query))
    assert page.status_code == 200
    assert message in page.text


def test_the_page_in_vietnamese(new_browser, alpha, session):
    alpha.user(Role.CLIENT_VIEWER).language = "vi"
    session.commit()
    html = signed_in(new_browser, "client.viewer@alpha.example").get("/search?q=" + quote("lương")).text
    assert 'placeholder="Tìm theo số hoặc tiêu đề"' in html
    assert f'<a href="/change-requests/{alpha["change_request"].id}">CR-0001 Tính lương cho pháp nhân Việt Nam</a>' in html
    assert "Yêu cầu thay đổi" in html and "1 kết quả cho “lương”." in html


# --- the API -----------------------------------------------------------------------------


def test_the_api_answers_kind_id_account_title_and_url(client, auth, alpha):
    response = client.get("/api/v1/search?q=" + quote("薪资"), headers=auth(CLIENT))
    assert response.status_code == 200
    cr = alpha["change_request"]
    assert response.json == {"items": [{"kind": "change_request", "id": cr.id, "account_id": alpha.account.id,
                                        "title": "CR-0001 越南薪资处理", "url": f"/change-requests/{cr.id}"}],
                             "more": False}


def test_the_api_finds_an_invoice_by_number_and_nothing_of_another_account(client, auth, alpha, bravo):
    invoice = alpha["invoice"]
    found = client.get("/api/v1/search?q=inv-alpha-0001", headers=auth(MANAGER)).json["items"]
    assert [(i["kind"], i["id"]) for i in found] == [("invoice", invoice.id)]
    assert found[0]["url"] == f"/invoices/{invoice.id}"
    for email in (BRAVO_CLIENT, "account.manager@bravo.example"):
        for text in ("INV-Alpha-0001", "Alpha", "薪资"):
            items = client.get("/api/v1/search?q=" + quote(text), headers=auth(email)).json["items"]
            assert all(item["account_id"] == bravo.account.id for item in items), (email, text)


@pytest.mark.parametrize("query", [None, "", "a", " a ", "x" * 101])
def test_the_api_refuses_a_query_too_short_or_too_long(client, auth, alpha, query):
    url = "/api/v1/search" if query is None else "/api/v1/search?q=" + quote(query)
    error = assert_error(client.get(url, headers=auth(CLIENT)), 422, "validation_failed")
    assert error["fields"] == {"q": "2 to 100 characters"}
    assert error["message"] == "请至少输入 2 个字符再搜索。" if query != "x" * 101 else "搜索内容最多 100 个字符。"


def test_the_api_needs_a_sign_in(client):
    assert_error(client.get("/api/v1/search?q=CR-0001"), 401)


def test_the_openapi_document_describes_search(client):
    operation = client.get("/api/v1/openapi.json").json["paths"]["/search"]["get"]
    assert [p["name"] for p in operation["parameters"]] == ["q"]


# --- in a browser ------------------------------------------------------------------------


@pytest.mark.browser
def test_a_chinese_client_types_a_word_in_the_header_and_finds_the_change_request(page, alpha):
    sign_in_page(page, CLIENT)
    box = page.get_by_role("searchbox", name="搜索内容")
    box.fill("薪资")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    link = page.get_by_role("link", name="CR-0001 越南薪资处理")
    assert link.is_visible()
    assert page.locator("h2#search-change_request").inner_text().startswith("变更请求")
    screenshot(page, "search-zh")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "search-zh-phone")
    link.click()
    page.wait_for_url(f"**/change-requests/{alpha['change_request'].id}")

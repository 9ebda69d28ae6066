"""The filter bars and tables of the list pages: the query's choices come back selected,
one option per select (the first that matches); without a query each select shows its
default; the account filter lists the firm user's accounts; a table without rows says so
across all its columns (not the invoice list's, whose rows are written in Python)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from portal.models import Role
from tests.helpers import signed_in

ADMIN = "admin@firm.example"


class Filters(HTMLParser):
    """The values of the options each select of the filter bar marks selected, its ticked
    checkboxes, the table's header cells and the colspan of a row's only cell."""

    def __init__(self, html: str):
        super().__init__()
        self.selected: dict[str, list[str]] = {}
        self.options: dict[str, list[str]] = {}
        self.checked: set[str] = set()
        self.head_cells = 0
        self.spans: list[str] = []
        self._select = None
        self._in_filters = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._in_filters = attrs.get("class") == "filters"
        elif not self._in_filters:
            if tag == "th":
                self.head_cells += 1
            elif tag == "td" and "colspan" in attrs:
                self.spans.append(attrs["colspan"])
        elif tag == "select":
            self._select = attrs["name"]
            self.selected.setdefault(self._select, [])
        elif tag == "option" and self._select:
            self.options.setdefault(self._select, []).append(attrs["value"])
            if "selected" in attrs:
                self.selected[self._select].append(attrs["value"])
        elif tag == "input" and attrs.get("type") == "checkbox" and "checked" in attrs:
            self.checked.add(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._in_filters = False


def page(browser, url: str) -> Filters:
    response = browser.get(url)
    assert response.status_code == 200, url
    return Filters(response.text)


# Each list with a query that chooses in every select, and what each select then shows.
CHOSEN = {
    "/requests?account={beta}&status=all&priority=high&category=billing&sort=newest&overdue=1":
        {"account": ["{beta}"], "status": ["all"], "priority": ["high"], "category": ["billing"], "sort": ["newest"]},
    "/change-requests?account={beta}&status=withdrawn": {"account": ["{beta}"], "status": ["withdrawn"]},
    "/documents?account={beta}&kind=work_order&status=in_review":
        {"account": ["{beta}"], "kind": ["work_order"], "status": ["in_review"]},
    "/plans?account={beta}&type=jbp&status=signed_off": {"account": ["{beta}"], "type": ["jbp"], "status": ["signed_off"]},
    "/actions?account={beta}&status=done&owner=client&overdue=1": {"account": ["{beta}"], "status": ["done"], "owner": ["client"]},
    "/invoices?account={beta}&status=paid": {"account": ["{beta}"], "status": ["paid"]},
}
# Without a query: the default the page filters by, or nothing marked (the browser shows "All").
DEFAULTS = {
    "/requests": {"account": [], "status": ["active"], "priority": [], "category": [], "sort": ["sla"]},
    "/change-requests": {"account": [], "status": []},
    "/documents": {"account": [], "kind": [], "status": []},
    "/plans": {"account": [], "type": [], "status": []},
    "/actions": {"account": [], "status": ["open"], "owner": []},  # "Open (not done)", not the second "open"
    "/invoices": {"account": [], "status": []},
}


@pytest.mark.parametrize("url", CHOSEN)
def test_the_querys_choices_come_back_selected(worlds, admin, new_browser, url):
    alpha, beta = worlds
    ids = {"beta": str(beta.account.id)}
    shown = page(signed_in(new_browser, ADMIN), url.format(**ids))
    assert shown.selected == {name: [v.format(**ids) for v in values] for name, values in CHOSEN[url].items()}
    assert shown.checked == ({"overdue"} if "overdue=1" in url else set())
    assert shown.options["account"] == ["", str(alpha.account.id), str(beta.account.id)]


@pytest.mark.parametrize("url", DEFAULTS)
def test_without_a_query_each_select_shows_its_default(worlds, admin, new_browser, url):
    shown = page(signed_in(new_browser, ADMIN), url)
    assert shown.selected == DEFAULTS[url] and not shown.checked


@pytest.mark.parametrize("url", ["/requests?status=closed", "/change-requests?status=withdrawn",
                                 "/documents?kind=work_order", "/plans?status=signed_off", "/actions?status=cancelled"])
@pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, Role.CLIENT_APPROVER])
def test_an_empty_list_says_so_across_all_its_columns(worlds, admin, new_browser, url, role):
    alpha, _beta = worlds
    shown = page(signed_in(new_browser, alpha.user(role).email), url)
    assert shown.spans == [str(shown.head_cells)]
    assert ("account" in shown.selected) is (role is Role.ACCOUNT_MANAGER and not url.startswith("/actions"))

"""The audit log page: administrators only; filters by account, actor, action and date
range (in the administrator's time zone); newest first, paged; the chain's state; CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from portal import audit
from portal.models import AuditChainHead, AuditEvent, Role
from tests.conftest import forge, screenshot, sign_in_page
from tests.factories import build_account, build_admin
from tests.test_cr_pages import signed_in

ADMIN = "admin@firm.example"
URL = "/admin/audit"


class Rows(HTMLParser):
    """The texts of each cell of the page's table body (its lines), row by row."""

    def __init__(self, html: str):
        super().__init__()
        self.rows: list[list[list[str]]] = []
        self._in_body = self._in_cell = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_body and tag == "td":
            self._in_cell = True
            self.rows[-1].append([])

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag == "td":
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell and data.strip():
            self.rows[-1][-1].extend(line.strip() for line in data.strip().splitlines())


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, 0, tzinfo=timezone.utc)


def event(session, action: str, when: datetime, *, account=None, actor=None, **data) -> AuditEvent:
    row = AuditEvent(created_at=when, account_id=account.id if account else None, actor_id=actor.id if actor else None,
                     actor_email=actor.email if actor else "", action=action, ip="203.0.113.7", data=data)
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def log(session, owner_session):
    """Two accounts and five events over three days; the admin reads in Shanghai time."""
    alpha, bravo = build_account(session, "Alpha"), build_account(session, "Bravo")
    admin = build_admin(session)
    admin.timezone = "Asia/Shanghai"
    session.commit()
    # Only the events below: the builders' own go (as only the owner may), chain and all.
    forge(owner_session, sa.delete(AuditEvent))
    owner_session.execute(sa.update(AuditChainHead).values(last_seq=0, last_hash=audit.GENESIS))
    owner_session.commit()
    manager = alpha.user(Role.ACCOUNT_MANAGER)
    approver = alpha.user(Role.CLIENT_APPROVER)
    events = {
        "old": event(session, "invoice.disputed", at(1, 3), account=alpha.account, actor=approver, reason="late"),
        "alpha": event(session, "change_request.client_approved", at(2, 10), account=alpha.account, actor=approver),
        "bravo": event(session, "change_request.client_approved", at(2, 12), account=bravo.account,
                       actor=bravo.user(Role.CLIENT_APPROVER)),
        "late": event(session, "kpi.target_changed", at(3, 17), account=alpha.account, actor=manager),  # the 4th in Shanghai
        "system": event(session, "sla.escalated", at(3, 18)),
    }
    session.commit()
    return alpha, bravo, admin, events


def shown(browser, query: str = "") -> list[list[list[str]]]:
    response = browser.get(URL + query)
    assert response.status_code == 200, response.text
    return Rows(response.text).rows


def actions(rows: list[list[list[str]]]) -> list[str]:
    return [row[3][0] for row in rows if len(row) > 1]  # not the row saying there are none


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_only_administrators_open_the_audit_log(log, new_browser, role):
    alpha, *_ = log
    browser = signed_in(new_browser, alpha.user(role).email)
    for query in ("", "?format=csv", "?account=1&action=invoice.disputed"):
        response = browser.get(URL + query)
        assert response.status_code == 403, query
        assert "kpi.target_changed" not in response.text and "sla.escalated" not in response.text


def test_the_audit_log_lists_events_newest_first_in_pages(log, new_browser, monkeypatch):
    monkeypatch.setattr(audit, "AUDIT_LOG_PAGE_SIZE", 2)
    browser = signed_in(new_browser, ADMIN)
    first = browser.get(URL)
    assert actions(Rows(first.text).rows) == ["auth.signed_in", "sla.escalated"]  # this sign-in, today
    assert "page=2" in first.text and "page=0" not in first.text
    assert actions(shown(browser, "?page=2")) == ["kpi.target_changed", "change_request.client_approved"]
    last = browser.get(URL + "?page=3&action=change_request.client_approved")  # the filter holds on every page
    assert actions(Rows(last.text).rows) == []
    middle = browser.get(URL + "?page=2&action=invoice.disputed")
    assert actions(Rows(middle.text).rows) == [] and "page=1" in middle.text and "page=3" not in middle.text
    assert actions(shown(browser, "?page=3")) == ["change_request.client_approved", "invoice.disputed"]


def test_the_filters_narrow_by_account_actor_action_and_date_in_the_admins_time_zone(log, new_browser):
    alpha, bravo, _admin, events = log
    browser = signed_in(new_browser, ADMIN)
    assert actions(shown(browser, f"?account={bravo.account.id}")) == ["change_request.client_approved"]
    assert [row[1] for row in shown(browser, f"?account={alpha.account.id}")] == [["Account Alpha"]] * 3
    assert actions(shown(browser, "?actor=MANAGER@alpha")) == ["kpi.target_changed"]  # part of the e-mail, any case
    assert actions(shown(browser, "?actor=%25")) == []  # a LIKE wildcard is a plain character
    assert actions(shown(browser, "?action=invoice.disputed")) == ["invoice.disputed"]
    # 17:00 UTC on the 3rd is 01:00 on the 4th in Shanghai.
    assert actions(shown(browser, "?date_from=2026-12-04&date_to=2026-12-04")) == ["sla.escalated", "kpi.target_changed"]
    assert actions(shown(browser, "?date_from=2026-12-02&date_to=2026-12-03")) == ["change_request.client_approved"] * 2
    both = shown(browser, f"?account={alpha.account.id}&action=change_request.client_approved&date_to=2026-12-02")
    assert [(row[1], row[2], row[3]) for row in both] == [
        (["Account Alpha"], ["client.approver@alpha.example", "203.0.113.7"], ["change_request.client_approved"])]
    assert shown(browser, "?action=invoice.disputed")[0][4] == ["reason: late"]


@pytest.mark.parametrize("query", [f"?account={2**31 - 1}", "?account=abc", f"?account={2**63}", "?action=no.such.action",
                                   "?date_from=2026-13-01", f"?actor={'x' * 255}"])
def test_a_filter_outside_its_choices_is_refused_beside_its_field(log, new_browser, query):
    browser = signed_in(new_browser, ADMIN)
    response = browser.get(URL + query)
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.text
    assert "No events match these filters." in response.text


def test_a_date_range_ending_before_it_starts_is_refused_beside_the_end(log, new_browser):
    response = signed_in(new_browser, ADMIN).get(URL + "?date_from=2026-12-03&date_to=2026-12-02")
    assert response.status_code == 200
    assert "The end of the date range is before its start." in response.text
    assert 'id="date_to-errors"' in response.text
    assert Rows(response.text).rows == [[["No events match these filters."]]]


def chain_state(html: str) -> str:
    start = html.index('class="chain-state"')
    return html[start:html.index("</article>", start)]


def test_the_page_shows_the_chains_state_its_length_and_keys(log, session, owner_session, new_browser):
    for n in range(3):
        audit.record(session, "test.decision", data={"n": n}, chained=True)
    session.commit()
    browser = signed_in(new_browser, ADMIN)
    state = chain_state(browser.get(URL).text)
    signing = audit.keyring().signing_id
    assert "Intact" in state and "Broken" not in state
    assert "<dt>Chained events</dt><dd>3</dd>" in state
    assert f"<code>{signing}</code> (3)" in state

    forge(owner_session, sa.update(AuditEvent).where(AuditEvent.chain_seq == 2).values(data={"n": 99}))
    state = chain_state(browser.get(URL).text)
    assert "Broken at event #2: content does not match its hash." in state
    assert "The 1 events before it are intact." in state


def test_the_page_speaks_the_admins_language(log, session, new_browser):
    _alpha, _bravo, admin, _events = log
    admin.language = "zh"
    session.commit()
    html = signed_in(new_browser, ADMIN).get(URL + "?date_from=2026-12-03&date_to=2026-12-02").text
    assert "审计日志" in html and "链上事件" in html and "日期范围的结束日期早于开始日期。" in html


def test_the_csv_export_holds_the_filtered_events_and_no_formula(log, session, new_browser):
    alpha, _bravo, _admin, events = log
    alpha.account.name = "=HYPERLINK(\"http://evil.example\")"
    session.commit()
    response = signed_in(new_browser, ADMIN).get(URL + f"?format=csv&account={alpha.account.id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    header, *rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert header[:4] == ["Time (UTC)", "Account", "Actor", "Action"]
    assert [row[3] for row in rows] == ["kpi.target_changed", "change_request.client_approved", "invoice.disputed"]
    assert {row[1] for row in rows} == {"'=HYPERLINK(\"http://evil.example\")"}
    assert rows[0][0] == events["late"].created_at.isoformat()
    assert rows[2][6] == '{"reason": "late"}'


@pytest.mark.browser
def test_the_audit_log_fits_a_desktop_and_a_phone_screen(page, log, session):
    alpha, *_ = log
    audit.record(session, "document.issued", alpha["document"], data={"number": alpha["document"].number,
                                                                     "sha256": alpha["document"].sha256}, chained=True)
    session.commit()
    sign_in_page(page, ADMIN)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(URL)
        assert page.locator("h1").inner_text() == "Audit log"
        assert page.locator("tbody tr").count() == 7  # and this sign-in
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a {width}px screen"
        screenshot(page, f"audit-log-{width}")


def test_the_navigation_marks_the_audit_log_alone_as_the_current_page(log, new_browser):
    html = signed_in(new_browser, ADMIN).get(URL).text
    assert re.findall(r'<a href="([^"]+)" aria-current="page"', html) == [URL]

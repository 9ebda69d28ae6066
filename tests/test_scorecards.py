"""KPI scorecards: attainment and red/amber/green at the tolerance boundaries for
higher- and lower-is-better KPIs, the 85 % bar, the weighted overall attainment with
its 100 % cap, the change from last month, the 12-month trend, GET /api/v1/scorecards
as api.md shows it, the client's acknowledgement and KPI comments, the page in Chinese
and Vietnamese and the trend chart.

The months used (2026-05, 2026-06) are not the factory's (it measures the current
month), so nothing depends on the day the tests run."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.kpis import service
from portal.models import (
    Kpi,
    KpiComment,
    KpiDirection,
    KpiMeasurement,
    Notification,
    Role,
    ScorecardAcknowledgement,
)
from tests.factories import build_account
from tests.helpers import latest, signed_in, translations

CLIENT = "client.approver@alpha.example"
VIEWER = "client.viewer@alpha.example"
AM = "account.manager@alpha.example"
FINANCE = "finance@alpha.example"
JUNE, MAY = date(2026, 6, 1), date(2026, 5, 1)
HIGHER, LOWER = KpiDirection.HIGHER, KpiDirection.LOWER


def kpi(direction=HIGHER, target="100", tolerance="0.05", weight="1") -> Kpi:
    return Kpi(code="K", name={"en": "K"}, unit="%", direction=direction, target=Decimal(target),
               amber_tolerance=Decimal(tolerance), weight=Decimal(weight))


# --- attainment and status -----------------------------------------------------------------------


@pytest.mark.parametrize(("direction", "target", "tolerance", "actual", "attainment", "status"), [
    (HIGHER, "99", "0.05", "99", "1.0000", "green"),  # exactly at target
    (HIGHER, "99", "0.05", "100", "1.0101", "green"),
    (HIGHER, "100", "0.05", "95", "0.9500", "amber"),  # 1 − tolerance
    (HIGHER, "100", "0.05", "94.99", "0.9499", "red"),  # just below
    (HIGHER, "100", "0.10", "90", "0.9000", "amber"),  # the KPI's own tolerance
    (HIGHER, "100", "0.10", "89.99", "0.8999", "red"),
    (HIGHER, "100", "0.05", "0", "0.0000", "red"),
    (LOWER, "2", "0.05", "2", "1.0000", "green"),  # exactly at target
    (LOWER, "2", "0.05", "1", "2.0000", "green"),
    (LOWER, "95", "0.05", "100", "0.9500", "amber"),  # 1 − tolerance
    (LOWER, "95", "0.05", "100.01", "0.9499", "red"),  # just beyond
    (LOWER, "2", "0.05", "0", "1.0000", "green"),  # nothing at all meets any target
])
def test_attainment_and_status_at_the_boundaries(direction, target, tolerance, actual, attainment, status):
    measured = kpi(direction, target, tolerance)
    value = service.attainment(measured, Decimal(actual))
    assert str(value) == attainment
    assert service.status(measured, value) == status


def rows(*statuses: str, attainment: str = "1") -> list[service.KpiRow]:
    return [service.KpiRow(kpi(), Decimal(100), None if s == "none" else Decimal(100),
                           None if s == "none" else Decimal(attainment), s, None, "") for s in statuses]


def card(rows_: list[service.KpiRow]) -> service.Scorecard:
    return service.Scorecard(account=None, contract=None, period=JUNE, rows=rows_)


@pytest.mark.parametrize(("met", "missed", "ratio", "meets"), [
    (17, 3, "0.8500", False),  # exactly 85 %: not over the bar
    (6, 1, "0.8571", True),
    (7, 0, "1.0000", True),
    (5, 1, "0.8333", False),
])
def test_the_bar_is_more_than_85_percent_of_kpis_met(met, missed, ratio, meets):
    scorecard = card(rows(*["green"] * met, *["amber", "red"] * (missed // 2), *["red"] * (missed % 2)))
    assert str(scorecard.kpis_met_ratio) == ratio
    assert scorecard.meets_bar is meets


def test_kpis_without_an_actual_do_not_count_towards_the_bar():
    scorecard = card(rows(*["green"] * 6, "amber", "none", "none"))
    assert len(scorecard.measured) == 7 and str(scorecard.kpis_met_ratio) == "0.8571" and scorecard.meets_bar
    assert card(rows("none")).kpis_met_ratio is None and not card(rows("none")).meets_bar


def test_overall_attainment_is_the_weighted_mean_capped_at_100_percent_per_kpi():
    over = service.KpiRow(kpi(weight="3"), Decimal(100), Decimal(120), Decimal("1.2"), "green", None, "")
    under = service.KpiRow(kpi(weight="1"), Decimal(100), Decimal(80), Decimal("0.8"), "red", None, "")
    missing = service.KpiRow(kpi(weight="5"), Decimal(100), None, None, "none", None, "")
    assert card([over, under, missing]).overall_attainment == Decimal("0.9500")  # (3 × 1 + 1 × 0.8) ÷ 4, not 1.1
    assert card([over]).overall_attainment == Decimal("1.0000")
    weightless = service.KpiRow(kpi(weight="0"), Decimal(100), Decimal(80), Decimal("0.8"), "red", None, "")
    assert card([weightless]).overall_attainment is None
    assert card([missing]).overall_attainment is None


@pytest.mark.parametrize(("raw", "period"), [("2026-06", JUNE), ("2026-12", date(2026, 12, 1)), ("2026-13", None),
                                             ("2026-6", None), ("26-06", None), ("2026-06-01", None), ("", None),
                                             (None, None), ("June", None)])
def test_a_period_is_yyyy_mm(raw, period):
    assert service.parse_period(raw) == period


# --- a month's scorecard from the database ---------------------------------------------------------


@pytest.fixture
def alpha(alpha, session):
    """Alpha with two KPIs: OTP (higher is better, 99, weight 1) and TAT (lower is
    better, 2 days, weight 2)."""
    tat = Kpi(account_id=alpha.account.id, contract_id=alpha["contract"].id, position=1, code="TAT",
              name={"en": "Turnaround time", "zh": "周转时间", "vi": "Thời gian xử lý"}, unit="day",
              target=Decimal(2), direction=LOWER, weight=Decimal(2))
    session.add(tat)
    session.flush()
    alpha.objects["tat"] = tat
    session.commit()
    return alpha


def measure(session, world, code: str, period: date, actual: str, comment: str = "") -> None:
    measured = world["tat"] if code == "TAT" else world["kpi"]
    session.add(KpiMeasurement(account_id=world.account.id, kpi_id=measured.id, period=period, actual=Decimal(actual),
                               comment=comment))
    session.flush()


@pytest.fixture
def june(session, alpha):
    """June: OTP 99.99 (green), TAT 2.5 days (red); May: OTP 98 (amber), TAT 2 (green)."""
    measure(session, alpha, "OTP", MAY, "98")
    measure(session, alpha, "TAT", MAY, "2")
    measure(session, alpha, "OTP", JUNE, "99.99", comment="A bank holiday moved one run.")
    measure(session, alpha, "TAT", JUNE, "2.5")
    session.commit()
    return alpha


def test_the_scorecard_of_a_month(session, june):
    scorecard = service.scorecard(session, june.account, JUNE)
    otp, tat = scorecard.rows
    assert (otp.kpi.code, otp.actual, otp.attainment, otp.status) == ("OTP", Decimal("99.99"), Decimal("1.0100"),
                                                                     "green")
    assert (tat.kpi.code, tat.actual, tat.attainment, tat.status) == ("TAT", Decimal("2.5"), Decimal("0.8000"), "red")
    # Change from last month: OTP 98 ÷ 99 = 0.9899 → 1.0100; TAT 1.0000 → 0.8000.
    assert otp.change == Decimal("0.0201") and tat.change == Decimal("-0.2000")
    assert otp.comment == "A bank holiday moved one run."
    assert scorecard.kpis_met_ratio == Decimal("0.5000") and not scorecard.meets_bar
    assert scorecard.overall_attainment == Decimal("0.8667")  # (1 × 1 + 2 × 0.8) ÷ 3


def test_a_kpi_without_an_actual_has_no_status_and_no_change(session, alpha):
    measure(session, alpha, "OTP", JUNE, "99")
    measure(session, alpha, "TAT", MAY, "2")
    scorecard = service.scorecard(session, alpha.account, JUNE)
    otp, tat = scorecard.rows
    assert otp.status == "green" and otp.change is None  # nothing in May to compare with
    assert (tat.actual, tat.attainment, tat.status, tat.change) == (None, None, "none", None)
    assert scorecard.kpis_met_ratio == Decimal(1) and scorecard.overall_attainment == Decimal(1)


def test_the_trend_covers_the_twelve_months_to_the_period(session, june):
    measure(session, june, "OTP", date(2025, 7, 1), "49.5")  # the first month of the trend
    measure(session, june, "OTP", date(2025, 6, 1), "10")  # thirteen months back: outside
    session.commit()
    trend = service.trend(session, june.account, JUNE)
    assert trend.months == [date(2025, 7, 1), *(date(2025, m, 1) for m in range(8, 13)),
                            *(date(2026, m, 1) for m in range(1, 7))]
    otp, tat = trend.per_kpi[june["kpi"].id], trend.per_kpi[june["tat"].id]
    assert otp == [Decimal("0.5000"), *[None] * 9, Decimal("0.9899"), Decimal("1.0100")]
    assert tat == [None] * 10 + [Decimal("1.0000"), Decimal("0.8000")]
    assert trend.overall == [Decimal("0.5000"), *[None] * 9, Decimal("0.9966"), Decimal("0.8667")]
    assert trend.met_ratio == [Decimal(0), *[None] * 9, Decimal("0.5000"), Decimal("0.5000")]


# --- the API ---------------------------------------------------------------------------------------


def test_the_scorecard_api_answers_as_api_md_shows(june, client, auth):
    response = client.get(f"/api/v1/scorecards?account_id={june.account.id}&period=2026-06", headers=auth(AM))
    assert response.status_code == 200
    assert response.json == {
        "account_id": june.account.id, "period": "2026-06",
        "kpis": [
            {"code": "OTP", "name": "On-time payroll", "unit": "%", "target": "99", "actual": "99.99",
             "attainment": "1.0100", "status": "green"},
            {"code": "TAT", "name": "Turnaround time", "unit": "day", "target": "2", "actual": "2.5",
             "attainment": "0.8000", "status": "red"},
        ],
        "kpis_met_ratio": "0.5000", "overall_attainment": "0.8667",
    }


def test_a_month_without_actuals_has_nulls(alpha, client, auth):
    body = client.get(f"/api/v1/scorecards?account_id={alpha.account.id}&period=2026-06", headers=auth(FINANCE)).json
    assert [(k["code"], k["actual"], k["attainment"], k["status"]) for k in body["kpis"]] == [
        ("OTP", None, None, None), ("TAT", None, None, None)]
    assert body["kpis_met_ratio"] is None and body["overall_attainment"] is None


def test_a_client_gets_its_own_scorecard_without_naming_the_account(session, june, client, auth):
    june.user(Role.CLIENT_APPROVER).language = "zh"
    session.commit()
    body = client.get("/api/v1/scorecards?period=2026-06", headers=auth(CLIENT)).json
    assert body["account_id"] == june.account.id and body["kpis_met_ratio"] == "0.5000"
    assert [k["name"] for k in body["kpis"]] == ["On-time payroll", "周转时间"]  # in the client's language, else English


@pytest.mark.parametrize("period", ["2026-13", "2026-6", "June", "2026-06-01", ""])
def test_a_bad_period_is_a_422(alpha, client, auth, period):
    response = client.get("/api/v1/scorecards", query_string={"account_id": alpha.account.id, "period": period},
                          headers=auth(CLIENT))
    assert response.status_code == 422 and "period" in response.json["error"]["fields"]


def test_the_firm_must_name_the_account(alpha, client, auth):
    response = client.get("/api/v1/scorecards?period=2026-06", headers=auth(AM))
    assert response.status_code == 422 and set(response.json["error"]["fields"]) == {"account_id"}
    response = client.get("/api/v1/scorecards", headers=auth(AM))
    assert set(response.json["error"]["fields"]) == {"account_id", "period"}


def test_another_accounts_scorecard_is_not_found(session, alpha, client, auth):
    bravo = build_account(session, "Bravo")
    session.commit()
    response = client.get(f"/api/v1/scorecards?account_id={bravo.account.id}&period=2026-06", headers=auth(CLIENT))
    assert response.status_code == 404


# --- acknowledgement and comments ------------------------------------------------------------------


def test_the_client_acknowledges_a_month_once(session, june, new_browser):
    url = f"/scorecards/{june.account.id}?period=2026-06"
    approver = signed_in(new_browser, CLIENT)
    page = approver.get(url).text
    assert f'action="/scorecards/{june.account.id}/acknowledge?period=2026-06"' in page
    response = approver.post_form(f"/scorecards/{june.account.id}/acknowledge?period=2026-06", page=url)
    assert response.status_code == 302 and response.location == url
    viewer = signed_in(new_browser, VIEWER)
    viewer.post_form(f"/scorecards/{june.account.id}/acknowledge?period=2026-06", page=url)
    acks = latest(session).scalars(sa.select(ScorecardAcknowledgement).where(
        ScorecardAcknowledgement.account_id == june.account.id, ScorecardAcknowledgement.period == JUNE)).all()
    assert [a.user_id for a in acks] == [june.user(Role.CLIENT_APPROVER).id]
    page = viewer.get(url).text
    assert "Acknowledged by Client.Approver" in page and "/acknowledge" not in page


def test_a_month_without_figures_cannot_be_acknowledged_and_the_months_stop_at_the_last_measured(
        session, june, new_browser):
    """July has no figures: no acknowledge button, and one sent anyway is refused, writing
    nothing. The month links stop at the last month measured (the factory's current one)."""
    last = service.last_measured_month(session, june.account)
    after = (last + timedelta(days=32)).replace(day=1)
    approver = signed_in(new_browser, CLIENT)
    last_page = approver.get(f"/scorecards/{june.account.id}?period={last:%Y-%m}").text
    assert f"period={service.previous_month(last):%Y-%m}" in last_page and f"period={after:%Y-%m}" not in last_page
    july_url = f"/scorecards/{june.account.id}?period=2026-07"
    july = approver.get(july_url).text
    assert "This month has no figures yet: there is nothing to acknowledge." in july
    assert "/acknowledge" not in july
    refused = approver.post_form(f"/scorecards/{june.account.id}/acknowledge?period=2026-07", page=july_url)
    assert refused.status_code in (302, 409)
    assert latest(session).scalar(sa.select(ScorecardAcknowledgement).where(
        ScorecardAcknowledgement.account_id == june.account.id, ScorecardAcknowledgement.period == date(2026, 7, 1))) is None
    assert "This month has no figures yet" in approver.get(july_url).text


@pytest.mark.parametrize("email", [AM, FINANCE])
def test_the_firm_cannot_acknowledge(session, june, new_browser, email):
    url = f"/scorecards/{june.account.id}?period=2026-06"
    browser = signed_in(new_browser, email)
    assert "Not acknowledged by the client yet." in browser.get(url).text
    assert browser.post_form(f"/scorecards/{june.account.id}/acknowledge?period=2026-06", page=url).status_code == 403
    assert latest(session).scalar(sa.select(ScorecardAcknowledgement).where(
        ScorecardAcknowledgement.period == JUNE)) is None


def test_a_clients_kpi_comment_notifies_the_account_manager_and_the_answer_goes_back(session, june, new_browser):
    tat = june["tat"]
    url = f"/scorecards/{june.account.id}?period=2026-06"
    comment_url = f"/scorecards/{june.account.id}/kpis/{tat.id}/comments?period=2026-06"
    approver = signed_in(new_browser, CLIENT)
    response = approver.post_form(comment_url, {"body": "Why 2.5 days in June?"}, page=url)
    assert response.status_code == 302 and response.location == f"{url}#kpi-{tat.id}"

    [comment] = latest(session).scalars(sa.select(KpiComment).where(KpiComment.kpi_id == tat.id)).all()
    assert (comment.period, comment.body, comment.author_id) == (JUNE, "Why 2.5 days in June?",
                                                                 june.user(Role.CLIENT_APPROVER).id)
    [mail] = session.scalars(sa.select(Notification).where(Notification.kind == "kpi_comment")).all()
    assert mail.to_email == AM and "Turnaround time" in mail.subject and "Why 2.5 days in June?" in mail.body
    assert f"/scorecards/{june.account.id}?period=2026-06#kpi-{tat.id}" in mail.body

    manager = signed_in(new_browser, AM)
    manager.post_form(comment_url, {"body": "A public holiday; back to 2 in July."}, page=url)
    mails = latest(session).scalars(sa.select(Notification).where(Notification.kind == "kpi_comment")
                                    .order_by(Notification.id)).all()
    assert [m.to_email for m in mails] == [AM, CLIENT]
    page = approver.get(url).text
    assert "Why 2.5 days in June?" in page and "A public holiday; back to 2 in July." in page


def test_an_empty_comment_is_refused(session, june, new_browser):
    url = f"/scorecards/{june.account.id}?period=2026-06"
    browser = signed_in(new_browser, CLIENT)
    browser.post_form(f"/scorecards/{june.account.id}/kpis/{june['tat'].id}/comments?period=2026-06",
                      {"body": "   "}, page=url)
    assert "Write a comment first." in browser.get(url).text
    assert latest(session).scalar(sa.select(KpiComment).where(KpiComment.kpi_id == june["tat"].id)) is None


def test_finance_does_not_comment_and_nobody_comments_on_another_accounts_kpi(session, june, new_browser):
    bravo = build_account(session, "Bravo")
    session.commit()
    url = f"/scorecards/{june.account.id}?period=2026-06"
    finance = signed_in(new_browser, FINANCE)
    assert finance.post_form(f"/scorecards/{june.account.id}/kpis/{june['tat'].id}/comments?period=2026-06",
                             {"body": "Hm"}, page=url).status_code == 403
    client = signed_in(new_browser, CLIENT)
    assert client.post_form(f"/scorecards/{june.account.id}/kpis/{bravo['kpi'].id}/comments?period=2026-06",
                            {"body": "Hm"}, page=url).status_code == 404


# --- the page, its languages and the chart -----------------------------------------------------------


def test_the_scorecard_page_shows_the_month(june, new_browser):
    page = signed_in(new_browser, AM).get(f"/scorecards/{june.account.id}?period=2026-06")
    assert page.status_code == 200
    tat_row = re.search(rf'<tr id="kpi-{june["tat"].id}">.*?</tr>', page.text, re.S).group(0)
    assert "80.0%" in tat_row and "Red" in tat_row and "-20.0%" in tat_row and "lower is better" in tat_row
    assert "Open an action item" in tat_row  # a red KPI invites an action item
    assert "Below the bar" in page.text and "86.7%" in page.text  # overall attainment
    assert "Make the review pack for June 2026" in page.text


def test_a_bad_period_on_the_page_is_not_found(alpha, new_browser):
    assert signed_in(new_browser, CLIENT).get(f"/scorecards/{alpha.account.id}?period=2026-13").status_code == 404


@pytest.mark.parametrize(("language", "html_lang"), [("zh", "zh-Hans"), ("vi", "vi")])
def test_the_scorecard_page_in_chinese_and_vietnamese(session, june, new_browser, language, html_lang):
    june.user(Role.CLIENT_APPROVER).language = language
    session.commit()
    catalog = translations(language)
    page = signed_in(new_browser, CLIENT).get(f"/scorecards/{june.account.id}?period=2026-06")
    assert page.status_code == 200 and f'<html lang="{html_lang}"' in page.text
    for msgid in ("Scorecard", "Overall attainment", "Change from last month", "Green", "Red", "Below the bar",
                  "lower is better", "Twelve-month trend"):
        assert catalog.gettext(msgid) in page.text, msgid
        assert catalog.gettext(msgid) != msgid, msgid
    assert {"zh": "周转时间", "vi": "Thời gian xử lý"}[language] in page.text


@pytest.mark.parametrize("kpi_key", [None, "kpi", "tat"])
def test_the_trend_chart_is_svg(june, new_browser, kpi_key):
    query = "period=2026-06" + (f"&kpi={june[kpi_key].id}" if kpi_key else "")
    response = signed_in(new_browser, CLIENT).get(f"/scorecards/{june.account.id}/trend.svg?{query}")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data[:1000]


def test_the_trend_chart_of_another_accounts_kpi_is_not_found(session, june, new_browser):
    bravo = build_account(session, "Bravo")
    session.commit()
    browser = signed_in(new_browser, CLIENT)
    assert browser.get(f"/scorecards/{june.account.id}/trend.svg?kpi={bravo['kpi'].id}").status_code == 404
    assert browser.get(f"/scorecards/{bravo.account.id}/trend.svg").status_code == 404


def test_a_kpi_name_that_looks_like_math_text_is_drawn_as_typed(session, june, new_browser):
    """matplotlib parses text between dollar signs as math; a name it cannot parse made
    the chart a 500, for the client too."""
    june["kpi"].name = {"en": r"$\frac{1}{$ payslips", "zh": "$x^$", "vi": r"$\sqrt{$"}
    session.commit()
    response = signed_in(new_browser, CLIENT).get(f"/scorecards/{june.account.id}/trend.svg?period=2026-06"
                                                  f"&kpi={june['kpi'].id}")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"


# --- the charts are drawn once per account, data and language ------------------------------


@pytest.fixture
def counted(monkeypatch):
    """How often charts are drawn and trends computed while the test runs."""
    from portal import charts

    counts = {"draw": 0, "trend": 0}
    draw, trend = charts.Chart.draw, service.trend

    def counting_draw(self):
        counts["draw"] += 1
        return draw(self)

    def counting_trend(*args, **kwargs):
        counts["trend"] += 1
        return trend(*args, **kwargs)

    monkeypatch.setattr(charts.Chart, "draw", counting_draw)
    monkeypatch.setattr(service, "trend", counting_trend)
    charts.STORE.memory.clear()
    return counts


def chart_urls(html: str) -> list[str]:
    return [url.replace("&amp;", "&") for url in re.findall(r'<img class="chart"[^>]* src="([^"]+)"', html)]


def test_the_scorecard_computes_its_trend_once_and_each_chart_is_drawn_once(june, new_browser, counted):
    browser = signed_in(new_browser, CLIENT)
    page = browser.get(f"/scorecards/{june.account.id}?period=2026-06")
    urls = chart_urls(page.text)
    assert len(urls) == 3 and all("v=" in url for url in urls)  # overall, OTP, TAT
    assert counted["trend"] == 1
    first = [browser.get(url) for url in urls]
    assert all(r.status_code == 200 and r.mimetype == "image/svg+xml" for r in first)
    assert (counted["trend"], counted["draw"]) == (1, 3)  # drawn from what the page offered
    assert all("private" in r.headers["Cache-Control"] and "max-age=86400" in r.headers["Cache-Control"] for r in first)
    again = [browser.get(url) for url in urls]
    assert [r.data for r in again] == [r.data for r in first] and counted["draw"] == 3 and counted["trend"] == 1
    # The browser that has it asks with its ETag and gets 304.
    assert browser.get(urls[0], headers={"If-None-Match": first[0].headers["ETag"]}).status_code == 304


def test_new_data_or_another_language_is_another_chart(session, june, new_browser, counted):
    browser = signed_in(new_browser, CLIENT)
    before = chart_urls(browser.get(f"/scorecards/{june.account.id}?period=2026-06").text)
    measure(session, june, "OTP", date(2026, 4, 1), "97")
    session.commit()
    after = chart_urls(browser.get(f"/scorecards/{june.account.id}?period=2026-06").text)
    assert before[0] != after[0] and before[1] != after[1] and before[2] == after[2]  # TAT's data did not change
    english = browser.get(after[1]).headers["ETag"]
    browser.post_form("/language", {"language": "zh"})
    chinese = chart_urls(browser.get(f"/scorecards/{june.account.id}?period=2026-06").text)
    assert not set(chinese) & set(after)
    drawn = browser.get(chinese[1])
    assert drawn.status_code == 200 and drawn.headers["ETag"] != english
    # An English version asked for by a reader of Chinese is answered in Chinese.
    assert browser.get(after[1]).headers["ETag"] == drawn.headers["ETag"]


def test_a_version_from_another_account_finds_nothing(session, june, new_browser, counted):
    bravo = build_account(session, "Bravo")
    session.commit()
    urls = chart_urls(signed_in(new_browser, CLIENT).get(f"/scorecards/{june.account.id}?period=2026-06").text)
    other = signed_in(new_browser, "client.approver@bravo.example")
    assert other.get(urls[0]).status_code == 404
    stolen = urls[0].replace(f"/scorecards/{june.account.id}/", f"/scorecards/{bravo.account.id}/")
    response = other.get(stolen)  # Bravo's own chart, whatever the version says
    assert response.status_code == 200 and response.data != signed_in(new_browser, CLIENT).get(urls[0]).data


def test_workers_sharing_redis_draw_each_chart_once(app_config, june, counted, redis_url):
    """Two workers (two apps) with one Redis: what one draws or offers, the other serves."""
    import uuid

    from portal import create_app
    from tests.conftest import Browser

    config = {**app_config, "REDIS_URL": redis_url, "CACHE_KEY_PREFIX": uuid.uuid4().hex,
              "RATELIMIT_STORAGE_URI": "memory://"}
    workers = [Browser(create_app(config).test_client()) for _ in range(2)]
    for worker in workers:
        worker.login(CLIENT)
    urls = chart_urls(workers[0].get(f"/scorecards/{june.account.id}?period=2026-06").text)
    drawn = [workers[1].get(url).data for url in urls]  # the other worker draws what the first offered
    assert counted["draw"] == 3 and counted["trend"] == 1
    assert [workers[0].get(url).data for url in urls] == drawn and counted["draw"] == 3

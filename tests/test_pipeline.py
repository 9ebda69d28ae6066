"""The pipeline: opportunities (the firm's only), a won one made a change request draft
with its lines, the weighted pipeline per quarter and currency, stage moves audited,
and the quotation document read back."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import docx
import pytest
import sqlalchemy as sa

from portal.models import (
    ChangeRequest,
    CRStatus,
    Document,
    DocumentKind,
    Opportunity,
    OpportunitySource,
    OpportunityStage,
    Plan,
    RequestCategory,
    Role,
)
from portal.pipeline import service
from portal.pipeline.quotations import issue_quotation
from portal.pipeline.service import LineInput
from portal.security import Scope, scoped_to
from tests.factories import make_account, raise_request
from tests.helpers import audit_events, manager_of

LINES = [
    LineInput(description={"en": "Payroll, Vietnam", "zh": "越南薪资", "vi": "Tính lương, Việt Nam"}, unit="payslip",
              quantity=Decimal(120), unit_price=Decimal("85.00")),
    LineInput(description={"en": "Onboarding", "zh": "入职办理", "vi": "Tiếp nhận nhân sự"}, unit="month",
              quantity=Decimal("1.5"), unit_price=Decimal("3200.00")),
]
TITLE = {"en": "Payroll for Vietnam", "zh": "越南薪资服务", "vi": "Dịch vụ tính lương Việt Nam"}


def won(session, world) -> Opportunity:
    am = manager_of(world)
    opportunity = service.create(session, world.account, am, title=TITLE, currency="USD", lines=LINES)
    service.move_stage(session, opportunity, OpportunityStage.WON, am)
    return opportunity


def test_the_value_follows_the_lines_and_the_stage_gives_its_probability(session, alpha):
    opportunity = service.create(session, alpha.account, manager_of(alpha), title=TITLE, currency="USD",
                                 value=Decimal(1), stage=OpportunityStage.PROPOSED, lines=LINES)
    assert opportunity.value == Decimal("15000.00")  # 120 × 85 + 1.5 × 3,200
    assert opportunity.probability == 60


def test_a_won_opportunity_becomes_a_change_request_draft_with_its_lines_and_both_link(session, alpha):
    opportunity = won(session, alpha)
    cr = service.to_change_request(session, opportunity, alpha["contract"], manager_of(alpha))
    session.commit()
    cr = session.get(ChangeRequest, cr.id)
    assert cr.status is CRStatus.DRAFT and cr.opportunity_id == opportunity.id
    assert [(line.change.value, line.description, line.unit, line.quantity, line.unit_price) for line in cr.lines] == [
        ("add", LINES[0].description, "payslip", Decimal(120), Decimal("85.00")),
        ("add", LINES[1].description, "month", Decimal("1.5"), Decimal("3200.00")),
    ]
    assert cr.title == TITLE and cr.price_impact == Decimal("15000.00")
    assert session.get(Opportunity, opportunity.id).change_request.id == cr.id
    assert service.opportunity_of(session, cr).id == opportunity.id
    with pytest.raises(Exception):
        service.to_change_request(session, opportunity, alpha["contract"], manager_of(alpha))


def test_only_a_won_opportunity_becomes_a_change_request(session, alpha):
    opportunity = service.create(session, alpha.account, manager_of(alpha), title=TITLE, currency="USD", lines=LINES)
    with pytest.raises(Exception, match="won"):
        service.to_change_request(session, opportunity, alpha["contract"], manager_of(alpha))


def test_each_stage_change_is_audited(session, alpha):
    am = manager_of(alpha)
    opportunity = service.create(session, alpha.account, am, title=TITLE, currency="USD")
    service.move_stage(session, opportunity, OpportunityStage.QUALIFIED, am)
    service.move_stage(session, opportunity, OpportunityStage.PROPOSED, am, probability=75)
    moves = [e.data for e in audit_events(session, "opportunity.stage_changed") if e.object_id == opportunity.id]
    assert moves == [{"from": "identified", "to": "qualified", "probability": 30},
                     {"from": "qualified", "to": "proposed", "probability": 75}]


def test_the_pipeline_is_weighted_by_quarter_per_currency_never_adding_currencies(session, alpha, admin):
    am = manager_of(alpha)
    session.delete(alpha["opportunity"])
    vnd = make_account(session, "Sao Viet", currency="VND")
    for title, currency, value, stage, probability, close, account in (
        ("a", "USD", "10000.00", OpportunityStage.QUALIFIED, None, date(2027, 1, 15), alpha.account),  # 30 %: 3,000
        ("b", "USD", "5000.00", OpportunityStage.PROPOSED, 45, date(2027, 3, 31), alpha.account),  # 2,250
        ("c", "USD", "8000.00", OpportunityStage.IDENTIFIED, None, date(2027, 4, 1), alpha.account),  # 10 %: 800
        ("d", "VND", "333333333", OpportunityStage.PROPOSED, None, date(2027, 2, 1), vnd),  # 60 %: 199,999,999.8
        ("e", "USD", "99999.00", OpportunityStage.LOST, None, date(2027, 2, 1), alpha.account),  # not open
        ("f", "USD", "7777.00", OpportunityStage.WON, None, date(2027, 2, 1), alpha.account),  # not open
    ):
        opportunity = service.create(session, account, am, title={"en": title}, currency=currency, value=Decimal(value),
                                     stage=stage, probability=probability, expected_close=close)
        assert opportunity.owner_id == am.id
    figures = service.pipeline(session)
    assert {key: (f.count, f.value, f.weighted) for key, f in figures.totals.items()} == {
        ("2027-Q1", "USD"): (2, Decimal("15000.00"), Decimal("5250.00")),
        ("2027-Q1", "VND"): (1, Decimal("333333333"), Decimal("200000000")),
        ("2027-Q2", "USD"): (1, Decimal("8000.00"), Decimal("800.00")),
    }
    assert set(figures.cells) == {(am.id, "2027-Q1", "USD"), (am.id, "2027-Q1", "VND"), (am.id, "2027-Q2", "USD")}
    assert figures.quarters == ["2027-Q1", "2027-Q2"] and figures.currencies == ["USD", "VND"]


def test_a_scope_request_becomes_an_opportunity_once(session, alpha):
    request = raise_request(session, alpha, category=RequestCategory.SCOPE, subject="Add payroll for Laos")
    opportunity = service.from_request(session, request, alpha.account, manager_of(alpha))
    assert opportunity.source is OpportunitySource.CLIENT_REQUEST and opportunity.source_request_id == request.id
    assert opportunity.title == {"en": "Add payroll for Laos"}
    with pytest.raises(Exception):
        service.from_request(session, request, alpha.account, manager_of(alpha))


def test_a_client_user_never_loads_an_opportunity_or_its_quotation(session, alpha):
    opportunity = won(session, alpha)
    issue_quotation(session, opportunity, alpha.account, manager_of(alpha))
    session.commit()
    with scoped_to(Scope(frozenset({alpha.account.id}), client=True)):
        assert session.scalars(sa.select(Opportunity)).all() == []
        assert session.scalars(sa.select(Document).where(Document.kind == DocumentKind.QUOTATION)).all() == []


def _read_back(content: bytes) -> str:
    document = docx.Document(io.BytesIO(content))
    texts = [p.text for p in document.paragraphs]
    for table in document.tables:
        texts.extend(cell.text for row in table.rows for cell in row.cells)
    return "\n".join(texts)


def test_the_quotation_in_chinese_and_vietnamese_reads_back(session, alpha):
    opportunity = won(session, alpha)
    alpha["contract"].currency = "CNY"
    opportunity.currency = "CNY"
    document = issue_quotation(session, opportunity, alpha.account, manager_of(alpha), languages=["zh", "vi"],
                               valid_until=date(2099, 1, 31))
    session.commit()
    year = alpha.account.today().year
    assert document.number == f"QUO-{year}-0001" and document.kind is DocumentKind.QUOTATION
    assert document.opportunity_id == opportunity.id
    text = _read_back(document.file.data).replace("\u2060", "")
    assert "报价单" in text and "Báo giá" in text
    assert f"QUO-{year}-0001" in text
    assert "15,000.00" in text and "15.000,00" in text  # the total in each locale
    assert "人民币壹万伍仟元整" in text
    assert "Mười lăm nghìn nhân dân tệ" in text
    assert "越南薪资服务" in text and "Dịch vụ tính lương Việt Nam" in text
    second = issue_quotation(session, opportunity, alpha.account, manager_of(alpha), languages=["en"])
    assert second.number == f"QUO-{year}-0002"


# --- pages and the API -------------------------------------------------------------------


def test_client_users_get_403_on_every_pipeline_page_and_api_call_and_never_see_one(app, session, alpha, auth,
                                                                                    new_browser):
    from tests.helpers import signed_in

    opportunity = alpha["opportunity"]
    for role in (Role.CLIENT_APPROVER, Role.CLIENT_VIEWER):
        user = alpha.user(role)
        browser = signed_in(new_browser, user.email)
        for url in ("/pipeline", f"/opportunities/{opportunity.id}", f"/accounts/{alpha.account.id}/pipeline",
                    f"/opportunities/new?account={alpha.account.id}", "/pipeline/chart.svg?currency=USD"):
            assert browser.get(url).status_code == 403, url
        assert browser.post_form(f"/opportunities/{opportunity.id}/stage", {"stage": "won"}).status_code == 403
        headers = auth(user.email)
        assert app.test_client().get("/api/v1/opportunities", headers=headers).status_code == 403
        assert app.test_client().post(f"/api/v1/opportunities/{opportunity.id}/stage", json={"stage": "won"},
                                      headers=headers).status_code == 403
        for url in ("/", "/inbox", f"/search?q={opportunity.title['en']}", f"/api/v1/search?q={opportunity.title['en']}"):
            response = browser.get(url, headers=headers if url.startswith("/api/") else {})
            assert f"/opportunities/{opportunity.id}" not in response.get_data(as_text=True), url
            assert opportunity.notes not in response.get_data(as_text=True), url
    assert session.get(Opportunity, opportunity.id).stage is OpportunityStage.QUALIFIED


def test_the_api_records_an_opportunity_and_moves_its_stage_audited(app, session, alpha, auth):
    am = manager_of(alpha)
    client = app.test_client()
    response = client.post("/api/v1/opportunities", headers=auth(am.email), json={
        "account_id": alpha.account.id, "title": {"en": "Payroll for Laos"}, "currency": "USD", "stage": "qualified",
        "expected_close": "2027-02-01",
        "lines": [{"description": {"en": "Payroll, Laos"}, "unit": "payslip", "quantity": "100", "unit_price": "8.5"}]})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.json
    assert (body["value"], body["probability"], body["weighted_value"]) == ("850.00", 30, "255.00")
    moved = client.post(f"/api/v1/opportunities/{body['id']}/stage", headers=auth(am.email),
                        json={"stage": "proposed", "probability": 70})
    assert moved.status_code == 200 and moved.json["stage"] == "proposed" and moved.json["probability"] == 70
    listed = client.get(f"/api/v1/opportunities?account_id={alpha.account.id}&stage=proposed", headers=auth(am.email))
    assert [item["id"] for item in listed.json["items"]] == [body["id"]]
    session.rollback()  # see what the requests committed
    assert [e.data["to"] for e in audit_events(session, "opportunity.stage_changed")] == ["proposed"]
    spec = client.get("/api/v1/openapi.json").json
    assert {"get", "post"} <= set(spec["paths"]["/opportunities"]) and "/opportunities/{opportunity_id}/stage" in spec["paths"]


@pytest.mark.parametrize("owner_role", [Role.CLIENT_APPROVER, Role.FINANCE])
def test_an_opportunity_is_owned_by_an_account_manager_on_the_page_and_the_api_alike(
        app, session, alpha, auth, new_browser, owner_role):
    """The web form once saved any posted user id as the owner (only the API checked it)."""
    from tests.helpers import signed_in

    am, outsider = manager_of(alpha), alpha.user(owner_role)
    refused = app.test_client().post("/api/v1/opportunities", headers=auth(am.email), json={
        "account_id": alpha.account.id, "title": {"en": "Owned elsewhere"}, "currency": "USD",
        "owner_id": outsider.id})
    assert refused.status_code == 422 and "owner_id" in refused.json["error"]["fields"]
    browser = signed_in(new_browser, am.email)
    url = f"/opportunities/new?account={alpha.account.id}"
    page = browser.post_form(url, {"title_en": "Owned elsewhere", "currency": "USD", "stage": "identified", "source": "idea",
                                   "owner_id": str(outsider.id), "notes": "", "once": "y" * 20}, page=url)
    assert page.status_code == 200 and "Choose an owner from the firm&#39;s account managers." in page.text
    assert 'value="Owned elsewhere"' in page.text, "what was typed is kept"
    session.rollback()
    assert "Owned elsewhere" not in [o.title.get("en") for o in session.scalars(sa.select(Opportunity))]
    mine = browser.post_form(url, {"title_en": "Owned here", "currency": "USD", "stage": "identified", "source": "idea",
                                   "owner_id": str(am.id), "notes": "", "once": "z" * 20}, page=url)
    assert mine.status_code == 302, mine.text


def test_an_opportunity_from_a_review_names_its_plan_on_the_page_and_the_api(app, session, alpha, auth, new_browser):
    """Source "a plan or review" records which one (the page links it); another account's
    plan is refused beside the field and by the API."""
    from tests.factories import build_account
    from tests.helpers import signed_in

    bravo = build_account(session, "Bravo")
    session.commit()
    am, plan = manager_of(alpha), session.scalar(sa.select(Plan).where(Plan.account_id == alpha.account.id))
    browser = signed_in(new_browser, am.email)
    url = f"/opportunities/new?account={alpha.account.id}"
    assert f'<option value="{plan.id}">' in browser.get(url).text
    saved = browser.post_form(url, {"title_en": "Automate the time feed", "currency": "USD", "stage": "identified",
                                    "source": "review", "source_plan_id": str(plan.id), "owner_id": str(am.id),
                                    "notes": "", "once": "r" * 20}, page=url)
    assert saved.status_code == 302, saved.text
    detail = browser.get(saved.headers["Location"]).text
    assert f'href="/plans/{plan.id}">Joint business plan FY2027</a>' in detail
    theirs = session.scalar(sa.select(Plan).where(Plan.account_id == bravo.account.id))
    refused = app.test_client().post("/api/v1/opportunities", headers=auth(am.email), json={
        "account_id": alpha.account.id, "title": {"en": "Elsewhere"}, "currency": "USD", "source": "review",
        "source_plan_id": theirs.id})
    assert refused.status_code == 422 and "source_plan_id" in refused.json["error"]["fields"]
    made = app.test_client().post("/api/v1/opportunities", headers=auth(am.email), json={
        "account_id": alpha.account.id, "title": {"en": "From the QBR"}, "currency": "USD", "source": "review",
        "source_plan_id": plan.id})
    assert made.status_code == 201 and made.json["source_plan_id"] == plan.id


def test_from_a_scope_request_to_a_won_change_request_on_the_pages(app, session, alpha, new_browser):
    from tests.helpers import signed_in

    request = raise_request(session, alpha, category=RequestCategory.SCOPE, subject="Add payroll for Laos")
    browser = signed_in(new_browser, manager_of(alpha).email)
    page = browser.get(f"/requests/{request.id}").text
    assert "Make an opportunity" in page
    made = browser.post_form(f"/requests/{request.id}/opportunity")
    assert made.status_code == 302
    opportunity_url = made.headers["Location"]
    opportunity_id = int(opportunity_url.rsplit("/", 1)[1])
    edit = browser.get(f"{opportunity_url}/edit")
    assert edit.status_code == 200
    saved = browser.post_form(f"{opportunity_url}/edit", {
        "title_en": "Payroll for Laos", "currency": "USD", "probability": "30", "owner_id": "0", "notes": "",
        "lines-0-description_en": "Payroll, Laos", "lines-0-unit": "payslip", "lines-0-quantity": "100",
        "lines-0-unit_price": "8.50", "once": "x" * 20}, page=f"{opportunity_url}/edit")
    assert saved.status_code == 302, saved.get_data(as_text=True)
    assert browser.post_form(f"{opportunity_url}/stage", {"stage": "won", "probability": "30"}).status_code == 302
    detail = browser.get(opportunity_url).text
    assert "Make a change request draft" in detail
    made_cr = browser.post_form(f"{opportunity_url}/change-request", {"contract": alpha["contract"].id})
    assert made_cr.status_code == 302
    cr_page = browser.get(made_cr.headers["Location"]).text
    assert opportunity_url in cr_page
    session.rollback()
    cr = session.get(Opportunity, opportunity_id).change_request
    assert cr is not None and [line.quantity for line in cr.lines] == [Decimal(100)]
    assert f"/change-requests/{cr.id}" in browser.get(opportunity_url).text
    pipeline = browser.get(f"/accounts/{alpha.account.id}/pipeline", follow_redirects=True)
    assert pipeline.status_code == 200 and "Payroll for Laos" in pipeline.text
    chart = re.search(r'src="(/pipeline/chart\.svg\?[^"]+)"', pipeline.text).group(1).replace("&amp;", "&")
    drawn = browser.get(chart)
    assert drawn.status_code == 200 and drawn.mimetype == "image/svg+xml"
    assert browser.get(opportunity_url.replace(str(opportunity_id), str(alpha["opportunity"].id))).status_code == 200
    quoted = browser.post_form(f"{opportunity_url}/quotation", {"languages": "en", "valid_until": "2099-01-01",
                                                                 "once": "y" * 20})
    assert quoted.status_code == 302
    assert "QUO-" in browser.get(opportunity_url).text


def test_the_change_request_links_its_opportunity_only_for_those_who_may_open_it(session, alpha, new_browser):
    """A regional reviewer reads the change request but not the pipeline: no link to an
    opportunity it would be refused."""
    from tests.helpers import signed_in

    opportunity = won(session, alpha)
    cr = service.to_change_request(session, opportunity, alpha["contract"], manager_of(alpha))
    session.commit()
    link = f'href="/opportunities/{opportunity.id}"'
    manager = signed_in(new_browser, manager_of(alpha).email)
    assert link in manager.get(f"/change-requests/{cr.id}").get_data(as_text=True)
    reviewer = signed_in(new_browser, alpha.user(Role.REGIONAL_REVIEWER).email)
    page = reviewer.get(f"/change-requests/{cr.id}")
    assert page.status_code == 200 and link not in page.get_data(as_text=True)
    assert reviewer.get(f"/opportunities/{opportunity.id}").status_code == 403


def test_a_quotation_may_be_in_any_language_or_pair_beyond_the_accounts_document_languages(
        app, session, alpha, new_browser):
    """The account writes its documents in English and Vietnamese; a quotation for its
    Chinese head office is issued in Chinese beside English (the form once offered only
    the account's document languages, and refused the pair)."""
    from tests.helpers import flashes, signed_in

    alpha.account.document_languages = ["en", "vi"]
    opportunity = won(session, alpha)
    session.commit()
    browser = signed_in(new_browser, manager_of(alpha).email)
    url = f"/opportunities/{opportunity.id}"
    options = re.findall(r'<option[^>]*value="([^"]+)"', browser.get(url).text.split('name="languages"')[1]
                         .split("</select>")[0])
    assert options[:3] == ["en", "vi", "en+vi"], "the account's own first"
    assert sorted(options) == sorted(["en", "zh", "vi", "en+zh", "zh+en", "en+vi", "vi+en", "zh+vi", "vi+zh"])
    issued = browser.post_form(f"{url}/quotation", {"languages": "zh+en", "valid_until": "2099-01-01",
                                                    "once": "q" * 20}, page=url)
    assert issued.status_code == 302
    assert "Quotation QUO-" in flashes(browser.get(url).text)
    session.rollback()
    quotation = session.scalar(sa.select(Document).where(Document.opportunity_id == opportunity.id))
    assert quotation is not None and quotation.languages == ["zh", "en"]
    text = _read_back(quotation.file.data)
    assert "报价单" in text and "越南薪资服务" in text and "Payroll for Vietnam" in text

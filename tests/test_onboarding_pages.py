"""Onboarding through the browser's eyes (the Flask test client): the administrator
creates an account through its form, its managers edit it (a refusal keeps what was
typed, with the problem beside its field, in the reader's language), add a contract
with repeatable scope lines and service locations, edit it (a signed contract's scope
read-only, pointing to a change request) and keep the PO register; the accounts list
shows each contract's state; ``flask contracts remind`` reminds once. And, in headless
Chromium, the new pages at a desktop's and a phone's width in English and Chinese.

Other accounts' ids answering 404 on every route is proven in ``test_access``."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.models import Account, Contract, PurchaseOrder, ScopeLine, User
from portal.onboarding import service
from portal.onboarding.service import ContractDetails, LocationDetails, ScopeLineDetails
from tests.conftest import screenshot, sign_in_page
from tests.helpers import flashes, latest, manager_of, notifications, signed_in, today_of, translated, translations

ADMIN = "admin@firm.example"
AM = "account.manager@alpha.example"
FINANCE = "finance@alpha.example"
CLIENT = "client.approver@alpha.example"


# The firm's administrator beside Alpha.
pytestmark = pytest.mark.beside_alpha("admin")


def account_form(**fields) -> dict:
    form = {
        "name_en": "Song Hong Garment JSC", "name_zh": "", "name_vi": "Công ty Cổ phần May Sông Hồng",
        "country": "VN", "tier": "key", "timezone": "Asia/Ho_Chi_Minh", "currency": "VND",
        "document_languages": ["en", "vi"], "approval_threshold": "250000000",
        "address_en": "105 Nguyen Du, Hanoi", "address_zh": "", "address_vi": "105 Nguyễn Du, Hà Nội",
        "tax_id": "0101234567", "representative_name_en": "Nguyen Van An", "representative_name_zh": "",
        "representative_name_vi": "Nguyễn Văn An", "representative_title_en": "General Director",
        "representative_title_zh": "", "representative_title_vi": "Tổng Giám đốc", "save": "Save",
    }
    return {**form, **fields}


def line_row(index: int, **fields) -> dict:
    row = {"id": "", "service_en": "", "service_zh": "", "service_vi": "", "unit": "", "quantity": "",
           "unit_price": "", **fields}
    return {f"lines-{index}-{name}": value for name, value in row.items()}


def location_row(index: int, **fields) -> dict:
    row = {"country": "", "entity_name": "", **fields}
    return {f"locations-{index}-{name}": value for name, value in row.items()}


def contract_form(**fields) -> dict:
    today = date.today()
    return {"number": "MSA-ALPHA-2027", "title_en": "Payroll and HR services", "governing_law_en": "Laws of England",
            "signed_on": "", "start_date": (today - timedelta(days=5)).isoformat(),
            "end_date": (today + timedelta(days=365)).isoformat(), "currency": "USD", "annual_value": "",
            **line_row(0, service_en="Payroll", unit="payslip", quantity="1200", unit_price="4.50"),
            **line_row(1),  # a row added and left blank: left out
            **line_row(2, service_en="Help desk", unit="month", quantity="12", unit_price="900"),
            **location_row(0, country="GB", entity_name="Alpha Ltd"), **location_row(1),
            "save": "Save", **fields}


def invalid(html: str, name: str) -> bool:
    """Whether the input ``name`` is marked invalid on the page."""
    return bool(re.search(rf'aria-invalid="true"[^>]*name="{name}"|name="{name}"[^>]*aria-invalid="true"', html))


# --- the account -----------------------------------------------------------------------------


def test_the_admin_creates_an_account_through_the_form(session, alpha, new_browser):
    admin = signed_in(new_browser, ADMIN)
    listing = admin.get("/accounts").text
    assert 'href="/accounts/new"' in listing
    form = admin.get("/accounts/new").text
    assert 'name="csrf_token"' in form and 'value="VN"' in form and 'value="VND"' in form
    answer = admin.post_form("/accounts/new", account_form(), page="/accounts/new")
    assert answer.status_code == 302, flashes(answer.text)
    account = latest(session).scalar(sa.select(Account).where(Account.name == "Công ty Cổ phần May Sông Hồng"))
    assert answer.headers["Location"] == f"/accounts/{account.id}"
    assert (account.country, account.currency, account.document_languages, account.cr_approval_threshold) == (
        "VN", "VND", ["en", "vi"], Decimal("250000000"))
    assert account.legal_names == {"en": "Song Hong Garment JSC", "vi": "Công ty Cổ phần May Sông Hồng"}
    assert account.tax_id == "0101234567"
    assert account.representative_title == {"en": "General Director", "vi": "Tổng Giám đốc"}
    page = admin.get(answer.headers["Location"]).text
    assert "105 Nguyen Du, Hanoi" in page and "Nguyen Van An, General Director" in page
    assert "This account has no contract yet." in page and f'href="/accounts/{account.id}/contracts/new"' in page


@pytest.mark.parametrize("email", [AM, FINANCE, CLIENT])
def test_only_the_admin_opens_the_new_account_page(session, alpha, new_browser, email):
    browser = signed_in(new_browser, email)
    assert browser.get("/accounts/new").status_code == 403
    assert 'href="/accounts/new"' not in browser.get("/").text


def test_a_refused_edit_shows_the_form_again_with_what_was_typed_and_the_problems_beside_their_fields(
        session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/edit"
    am = signed_in(new_browser, AM)
    form = am.get(url).text
    assert 'value="Account Alpha"' in form
    answer = am.post_form(url, account_form(name_en="Account Alpha", name_vi="", tax_id="VN-0101",
                                            representative_name_en="", representative_name_vi=""), page=url)
    assert answer.status_code == 200
    assert invalid(answer.text, "name_vi") and invalid(answer.text, "representative_name_en")
    assert 'value="VN-0101"' in answer.text and "105 Nguyễn Du, Hà Nội</textarea>" in answer.text
    assert "Some fields are not valid." in flashes(answer.text) and "Required." in answer.text
    assert latest(session).scalar(sa.select(Account.tax_id).where(Account.id == alpha.account.id)) == ""


def test_the_refusal_is_in_the_readers_language(session, alpha, new_browser):
    manager_of(alpha).language = "zh"
    session.commit()
    url = f"/accounts/{alpha.account.id}/edit"
    answer = signed_in(new_browser, AM).post_form(url, account_form(name_en="Account Alpha", currency="XYZ",
                                                                    document_languages=["en"]), page=url)
    assert answer.status_code == 200 and invalid(answer.text, "currency")
    assert translated("zh", "Choose a currency.") in answer.text
    assert translated("zh", "Some fields are not valid.") in flashes(answer.text)


def test_the_account_manager_saves_the_account_and_the_page_shows_it(session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/edit"
    am = signed_in(new_browser, AM)
    answer = am.post_form(url, account_form(name_en="Account Alpha", name_vi="", document_languages=["en", "zh"],
                                            name_zh="阿尔法有限公司", country="GB", timezone="Europe/London",
                                            currency="GBP", representative_name_vi="", representative_title_vi=""),
                          page=url)
    assert answer.status_code == 302 and answer.headers["Location"] == f"/accounts/{alpha.account.id}"
    account = latest(session).scalar(sa.select(Account).where(Account.id == alpha.account.id))
    assert (account.name, account.legal_names, account.currency, account.timezone) == (
        "Account Alpha", {"en": "Account Alpha", "zh": "阿尔法有限公司"}, "GBP", "Europe/London")


@pytest.mark.parametrize("email", [FINANCE, CLIENT])
def test_who_does_not_manage_the_account_may_not_edit_it(session, alpha, new_browser, email):
    browser = signed_in(new_browser, email)
    account = alpha.account.id
    for url in (f"/accounts/{account}/edit", f"/accounts/{account}/contracts/new", f"/accounts/{account}/purchase-orders/new",
                f"/accounts/{account}/purchase-orders/{alpha['purchase_order'].id}"):
        assert browser.get(url).status_code == 403, url
    assert browser.post_form(f"/accounts/{account}/contracts/{alpha['contract'].id}",
                             contract_form()).status_code == 403
    assert f"/accounts/{account}/edit" not in browser.get(f"/accounts/{account}").text


# --- contracts -----------------------------------------------------------------------------------


def test_the_account_manager_adds_a_contract_with_repeatable_lines_and_locations(session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/contracts/new"
    am = signed_in(new_browser, AM)
    form = am.get(url).text
    assert 'name="lines-0-service_en"' in form and 'data-row-template="lines"' in form
    assert 'name="lines-__index__-quantity"' in form and 'data-add-row="locations"' in form
    answer = am.post_form(url, contract_form(), page=url)
    assert answer.status_code == 302, flashes(answer.text)
    contract = latest(session).scalar(sa.select(Contract).where(Contract.number == "MSA-ALPHA-2027"))
    assert answer.headers["Location"] == f"/accounts/{alpha.account.id}/contracts/{contract.id}"
    assert [(line.service, line.quantity, line.unit_price) for line in contract.scope_lines] == [
        ({"en": "Payroll"}, Decimal(1200), Decimal("4.50")), ({"en": "Help desk"}, Decimal(12), Decimal("900.00"))]
    assert [(loc.country, loc.entity_name) for loc in contract.locations] == [("GB", "Alpha Ltd")]
    assert contract.annual_value == Decimal("16200.00") and contract.governing_law == {"en": "Laws of England"}
    page = am.get(answer.headers["Location"]).text
    assert "Payroll and HR services" in page and "Help desk" in page and "Edit the contract" in page
    account_page = am.get(f"/accounts/{alpha.account.id}").text
    assert f'href="/accounts/{alpha.account.id}/contracts/{contract.id}"' in account_page


def test_a_contract_pasted_out_of_its_word_file_is_stored_as_it_reads(session, alpha, new_browser):
    """Word keeps its hyphenation points and the portal's documents their numbers whole
    with invisible characters; pasted into the form (its lines too), they are dropped."""
    url = f"/accounts/{alpha.account.id}/contracts/new"
    answer = signed_in(new_browser, AM).post_form(url, contract_form(
        number="MSA-\u2060ALPHA-\u20602027\u200b", **line_row(0, service_en="Pay\u00adroll", unit="pay\u00adslip",
                                                              quantity="1200", unit_price="4.50")), page=url)
    assert answer.status_code == 302, flashes(answer.text)
    contract = latest(session).scalar(sa.select(Contract).where(Contract.number == "MSA-ALPHA-2027"))
    assert [(line.service, line.unit) for line in contract.scope_lines][0] == ({"en": "Payroll"}, "payslip")


def test_adding_a_line_and_a_location_works_without_javascript(session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/contracts/new"
    am = signed_in(new_browser, AM)
    answer = am.post_form(url, {**contract_form(), "add_line": "Add a line"}, page=url)
    assert answer.status_code == 200 and 'name="lines-3-service_en"' in answer.text
    answer = am.post_form(url, {**contract_form(), "add_location": "Add a location"}, page=url)
    assert answer.status_code == 200 and 'name="locations-2-country"' in answer.text
    assert latest(session).scalar(sa.select(Contract).where(Contract.number == "MSA-ALPHA-2027")) is None


def test_a_bad_line_is_marked_on_its_row_and_the_form_keeps_what_was_typed(session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/contracts/new"
    answer = signed_in(new_browser, AM).post_form(url, contract_form(
        **line_row(2, service_en="Help desk", unit="", quantity="12", unit_price="900")), page=url)
    assert answer.status_code == 200
    assert invalid(answer.text, "lines-2-unit") or "Unit: Required." in answer.text
    assert 'value="Payroll and HR services"' in answer.text and 'value="Help desk"' in answer.text


def test_an_unsigned_contract_is_edited_and_keeps_its_line_ids(session, alpha, admin, new_browser):
    today = today_of(alpha)
    contract = service.create_contract(session, alpha.account, admin, ContractDetails(
        number="SOW-7", title={"en": "Set-up"}, start_date=today, end_date=today + timedelta(days=200), currency="USD",
        scope_lines=(ScopeLineDetails({"en": "Payroll"}, Decimal(10), "payslip", Decimal(4)),
                     ScopeLineDetails({"en": "Audit"}, Decimal(1), "project", Decimal(900)))))
    session.commit()
    payroll, audit = contract.scope_lines
    url = f"/accounts/{alpha.account.id}/contracts/{contract.id}"
    am = signed_in(new_browser, AM)
    page = am.get(url).text
    assert f'name="lines-0-id" type="hidden" value="{payroll.id}"' in page
    assert "This contract is signed" not in page
    answer = am.post_form(url, {
        "number": "SOW-7", "title_en": "Set-up", "start_date": today.isoformat(),
        "end_date": (today + timedelta(days=200)).isoformat(), "currency": "USD", "signed_on": "",
        **line_row(0, id=str(payroll.id), service_en="Payroll", unit="payslip", quantity="20", unit_price="4"),
        **line_row(1, id=str(audit.id), service_en="Audit", unit="project", quantity="1", unit_price="900", delete="y"),
        "save": "Save"}, page=url)
    assert answer.status_code == 302, flashes(answer.text)
    lines = latest(session).scalars(sa.select(ScopeLine).where(ScopeLine.contract_id == contract.id)).all()
    assert [(line.id, line.quantity) for line in lines] == [(payroll.id, Decimal(20))]
    assert session.scalar(sa.select(Contract.annual_value).where(Contract.id == contract.id)) == Decimal("80.00")


def test_a_signed_contracts_scope_is_read_only_with_a_link_to_a_change_request(session, alpha, new_browser):
    contract = alpha["contract"]
    url = f"/accounts/{alpha.account.id}/contracts/{contract.id}"
    am = signed_in(new_browser, AM)
    page = am.get(url).text
    assert "This contract is signed: its scope changes only by a change request." in page
    assert f'href="/change-requests/new?account={alpha.account.id}"' in page
    assert 'name="lines-0-quantity"' not in page and "Payroll" in page
    end = (today_of(alpha) + timedelta(days=500)).isoformat()
    answer = am.post_form(url, {"number": contract.number, "title_en": "Services for Alpha", "currency": "USD",
                                "signed_on": contract.signed_on.isoformat(), "start_date": contract.start_date.isoformat(),
                                "end_date": end, **location_row(0, country="SG"),
                                # lines posted by hand are not this form's: ignored
                                **line_row(0, service_en="Payroll", unit="payslip", quantity="999", unit_price="1"),
                                "save": "Save"}, page=url)
    assert answer.status_code == 302, flashes(answer.text)
    latest(session).refresh(contract)
    assert contract.end_date.isoformat() == end and [loc.country for loc in contract.locations] == ["SG"]
    assert [(line.quantity, line.unit_price) for line in contract.active_scope_lines] == [(Decimal(100), Decimal("10.00"))]


def test_the_client_reads_the_contract_without_the_form(session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/contracts/{alpha['contract'].id}"
    page = signed_in(new_browser, CLIENT).get(url).text
    assert "MSA-Alpha-001" in page and "Payroll" in page
    assert "Edit the contract" not in page and 'name="number"' not in page
    account_page = signed_in(new_browser, CLIENT).get(f"/accounts/{alpha.account.id}").text
    assert 'id="purchase-orders"' not in account_page and "Internal approval above" not in account_page


def test_another_accounts_contract_is_404_under_this_account(session, alpha, bravo, admin, new_browser):
    page = signed_in(new_browser, ADMIN).get(f"/accounts/{alpha.account.id}/contracts/{bravo['contract'].id}")
    assert page.status_code == 404


# --- the PO register and the accounts list ----------------------------------------------------------


def test_the_account_manager_adds_a_po_and_the_register_shows_its_burn_down(session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/purchase-orders/new"
    am = signed_in(new_browser, AM)
    form = am.get(url).text
    assert f'value="{today_of(alpha).isoformat()}"' in form and "MSA-Alpha-001" in form
    answer = am.post_form(url, {"number": "PO-2027-01", "description": "Payroll 2027", "amount": "30000",
                                "currency": "USD", "issued_on": today_of(alpha).isoformat(), "valid_until": "",
                                "contract": str(alpha["contract"].id), "save": "Save"}, page=url)
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/accounts/{alpha.account.id}#purchase-orders"
    order = latest(session).scalar(sa.select(PurchaseOrder).where(PurchaseOrder.number == "PO-2027-01"))
    assert (order.amount, order.contract_id, order.account_id) == (Decimal("30000.00"), alpha["contract"].id, alpha.account.id)
    page = am.get(f"/accounts/{alpha.account.id}").text
    register = page[page.index('id="purchase-orders"'):]
    assert "PO-2027-01" in register and "Payroll 2027" in register
    assert "PO-Alpha" in register and "$1,080.00" in register and "$48,920.00" in register  # invoiced 1,200 less 120 credited


@pytest.mark.parametrize("typed", [str, lambda number: number.replace("-", "-\u2060") + "\u200b"],
                         ids=["typed", "pasted-from-a-document"])
def test_a_po_number_the_account_has_is_refused_beside_the_field(session, alpha, new_browser, typed):
    """Also when pasted out of a document, with the invisible word joiners that keep it
    on one line there: it reads as the same number, and is the same number."""
    order = alpha["purchase_order"]
    url = f"/accounts/{alpha.account.id}/purchase-orders/new"
    answer = signed_in(new_browser, AM).post_form(url, {
        "number": typed(order.number), "amount": "10", "currency": "USD", "issued_on": today_of(alpha).isoformat(),
        "contract": "0", "save": "Save"}, page=url)
    assert answer.status_code == 200 and invalid(answer.text, "number")
    assert "This account has a PO with this number." in answer.text


def test_a_po_is_corrected_through_its_form(session, alpha, new_browser):
    order = alpha["purchase_order"]
    url = f"/accounts/{alpha.account.id}/purchase-orders/{order.id}"
    am = signed_in(new_browser, AM)
    assert f'value="{order.number}"' in am.get(url).text
    answer = am.post_form(url, {"number": order.number, "amount": "60000", "currency": "USD",
                                "issued_on": order.issued_on.isoformat(), "contract": "0", "save": "Save"}, page=url)
    assert answer.status_code == 302
    latest(session).refresh(order)
    assert (order.amount, order.contract_id) == (Decimal("60000.00"), None)


def test_the_accounts_list_shows_each_contracts_state_to_the_firm(session, alpha, bravo, new_browser):
    alpha["contract"].end_date = today_of(alpha) + timedelta(days=45)
    bravo["contract"].end_date = today_of(bravo) - timedelta(days=2)
    session.commit()
    listing = signed_in(new_browser, ADMIN).get("/accounts").text
    alpha_card = listing[listing.index("Account Alpha"):listing.index("Account Bravo")]
    bravo_card = listing[listing.index("Account Bravo"):]
    assert "Ending soon" in alpha_card and "badge-warn" in alpha_card
    assert "Expired" in bravo_card and "badge-bad" in bravo_card
    home = signed_in(new_browser, CLIENT).get("/").text
    assert "Ending soon" not in home
    account_page = signed_in(new_browser, AM).get(f"/accounts/{alpha.account.id}").text
    assert "Ending soon" in account_page[account_page.index('id="contracts"'):]


def _contract(session, world, admin, number: str, start: date, end: date, *, signed: bool = True) -> Contract:
    return service.create_contract(session, world.account, admin, ContractDetails(
        number=number, title={"en": f"Services {number}"}, start_date=start, end_date=end, currency="USD",
        signed_on=start - timedelta(days=20) if signed else None))


def _card(listing: str, name: str) -> str:
    start = listing.index(name)
    end = listing.find("</article>", start)
    return listing[start:end]


def test_the_accounts_list_shows_every_contract_in_force_waiting_or_lately_ended_with_its_state(
        session, alpha, admin, new_browser):
    today = today_of(alpha)
    alpha["contract"].end_date = today + timedelta(days=45)
    _contract(session, alpha, admin, "MSA-Alpha-RENEWAL", today + timedelta(days=46), today + timedelta(days=46 + 730))
    _contract(session, alpha, admin, "MSA-Alpha-DRAFT", today + timedelta(days=46), today + timedelta(days=400),
              signed=False)
    _contract(session, alpha, admin, "MSA-Alpha-LATELY", today - timedelta(days=400), today - timedelta(days=30))
    _contract(session, alpha, admin, "MSA-Alpha-LONG-AGO", today - timedelta(days=900), today - timedelta(days=200))
    session.commit()
    card = _card(signed_in(new_browser, AM).get("/accounts").text, "Account Alpha")
    shown = re.findall(r'<li><a href="/accounts/\d+/contracts/\d+">([^<]+)</a> <span class="badge ?([^"]*)">'
                       r'([^<]+)</span>', card)
    assert [(number, badge, state.strip()) for number, badge, state in shown] == [
        ("MSA-Alpha-LATELY", "badge-bad", "Expired"),
        ("MSA-Alpha-001", "badge-warn", "Ending soon"),
        ("MSA-Alpha-RENEWAL", "", "Not yet started"),  # the renewal waiting behind the ending contract
    ]


def test_an_account_whose_contracts_all_ended_long_ago_says_none_is_in_force(session, alpha, new_browser):
    alpha["contract"].end_date = today_of(alpha) - timedelta(days=91)
    session.commit()
    card = _card(signed_in(new_browser, ADMIN).get("/accounts").text, "Account Alpha")
    assert "No contract in force" in card and "MSA-Alpha-001" not in card


def test_the_accounts_list_runs_the_same_statements_for_one_account_or_three_with_many_contracts(
        session, alpha, admin, new_browser, app):
    from portal.extensions import db
    from tests.factories import build_account

    browser = signed_in(new_browser, ADMIN)
    browser.get("/accounts")  # the first page after sign-in may touch the session's last_seen_at
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        if statement.strip().upper() != "BEGIN":
            seen.append(statement)

    def counted() -> int:
        seen.clear()
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            assert browser.get("/accounts").status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        return len(seen)

    one = counted()
    today = today_of(alpha)
    for key in ("Charlie", "Delta"):
        world = build_account(session, key)
        for n in range(3):
            _contract(session, world, admin, f"MSA-{key}-R{n}", today + timedelta(days=10 + n * 400),
                      today + timedelta(days=400 + n * 400))
    session.commit()
    listing = browser.get("/accounts").text
    assert "MSA-Delta-R2" in _card(listing, "Account Delta")
    assert counted() == one


def test_an_account_without_a_contract_says_so_in_the_list(session, alpha, admin, new_browser):
    service.create_account(session, admin, service.AccountDetails(
        name={"en": "Echo Trading"}, country="SG", timezone="Asia/Singapore", currency="SGD"))
    session.commit()
    listing = signed_in(new_browser, ADMIN).get("/accounts").text
    assert "No contract yet" in listing[listing.index("Echo Trading"):]


# --- renewal reminders ----------------------------------------------------------------------------------


def test_contracts_remind_sends_each_reminder_once(runner, session, alpha):
    alpha["contract"].end_date = today_of(alpha) + timedelta(days=75)
    session.commit()
    first = runner.invoke(args=["contracts", "remind"])
    assert first.exit_code == 0 and first.output.strip() == "1 renewal reminder(s) sent.", first.output
    again = runner.invoke(args=["contracts", "remind"])
    assert again.exit_code == 0 and again.output.strip() == "0 renewal reminder(s) sent."
    [sent] = notifications(latest(session), "contract_ending")
    assert sent.to_email == AM and "MSA-Alpha-001" in sent.subject and "75" in sent.subject
    assert f"/accounts/{alpha.account.id}/contracts/{alpha['contract'].id}" in sent.body


def test_the_renewal_reminder_is_written_in_the_managers_language(runner, session, alpha):
    manager_of(alpha).language = "zh"
    alpha["contract"].end_date = today_of(alpha) + timedelta(days=25)
    session.commit()
    assert runner.invoke(args=["contracts", "remind"]).exit_code == 0
    [sent] = notifications(latest(session), "contract_ending")
    assert "MSA-Alpha-001" in sent.subject and "Contract" not in sent.subject and "ends" not in sent.body


# --- in Chinese, and in a real browser -----------------------------------------------------------------


def test_the_onboarding_pages_in_chinese(session, alpha, new_browser):
    admin = session.scalar(sa.select(User).where(User.email == ADMIN))
    admin.language = "zh"
    session.commit()
    browser = signed_in(new_browser, ADMIN)
    account = alpha.account.id
    for url, heading in (("/accounts/new", "New account"), (f"/accounts/{account}/contracts/new", "New contract"),
                         (f"/accounts/{account}/purchase-orders/new", "Add a purchase order")):
        assert f"<h1>{translated('zh', heading)}</h1>" in browser.get(url).text, url
    page = browser.get(f"/accounts/{account}/contracts/{alpha['contract'].id}").text
    assert translated("zh", "This contract is signed: its scope changes only by a change request.") in page
    assert translations("zh").pgettext("contract state", "Active") in page  # not a user's "Active"


def _no_overflow(page, width: int) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than a {width}px screen"


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_onboarding_pages_fit_a_desktop_and_a_phone_screen(page, session, alpha, language):
    admin = session.scalar(sa.select(User).where(User.email == ADMIN))
    admin.language = language
    today = today_of(alpha)
    huanan = service.create_account(session, admin, service.AccountDetails(
        name={"en": "Huanan Precision Manufacturing Co., Ltd.", "zh": "华南精密制造有限公司"}, country="CN",
        timezone="Asia/Shanghai", currency="CNY", document_languages=("en", "zh"),
        address={"en": "88 Keji Road, Nanshan District, Shenzhen", "zh": "深圳市南山区科技路88号"},
        tax_id="91440300MA5FXXXX1K", representative_name={"en": "Chen Wei", "zh": "陈伟"},
        representative_title={"en": "Legal Representative", "zh": "法定代表人"}))
    contract = service.create_contract(session, huanan, admin, ContractDetails(
        number="MSA-HN-2027", title={"en": "Payroll and HR outsourcing", "zh": "薪酬与人力资源外包"},
        start_date=today - timedelta(days=300), end_date=today + timedelta(days=60), currency="CNY",
        signed_on=today - timedelta(days=310), governing_law={"en": "Laws of the PRC", "zh": "中华人民共和国法律"},
        scope_lines=(ScopeLineDetails({"en": "Monthly payroll processing", "zh": "月度薪资处理"}, Decimal(1800),
                                      "payslip", Decimal("28.50")),
                     ScopeLineDetails({"en": "Social insurance filings", "zh": "社保申报"}, Decimal(12), "entity-month",
                                      Decimal("3200"))),
        locations=(LocationDetails("CN", "华南精密制造有限公司"), LocationDetails("HK", "Huanan Precision (HK) Ltd"))))
    # Its renewal, signed and waiting (a long number): the accounts card lists both.
    service.create_contract(session, huanan, admin, ContractDetails(
        number="MSA-HN-2029-RENEWAL-PAYROLL-OUTSOURCE", title={"en": "Renewal", "zh": "续约"},
        start_date=today + timedelta(days=61), end_date=today + timedelta(days=61 + 730), currency="CNY",
        signed_on=today - timedelta(days=5)))
    service.save_purchase_order(session, huanan, admin, service.PurchaseOrderDetails(
        number="4500012345", amount=Decimal("600000"), currency="CNY", issued_on=today - timedelta(days=200),
        valid_until=today + timedelta(days=60), description="薪资服务 2027", contract_id=contract.id))
    session.commit()
    sign_in_page(page, ADMIN)
    pages = {"accounts": "/accounts", "account": f"/accounts/{huanan.id}", "account-form": f"/accounts/{huanan.id}/edit",
             "new-account": "/accounts/new", "contract": f"/accounts/{huanan.id}/contracts/{contract.id}",
             "contract-form": f"/accounts/{huanan.id}/contracts/new",
             "po-form": f"/accounts/{huanan.id}/purchase-orders/new"}
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for name, url in pages.items():
            page.goto(url)
            if name == "contract-form":
                page.locator("[data-add-row=lines]").click()  # the script adds the row in the page
                assert page.locator("[data-rows=lines] [data-row]").count() == 2
            if name == "accounts":
                assert page.locator(".contract-states li").count() >= 3  # Alpha's, Huanan's and its renewal
            screenshot(page, f"onboarding-{name}-{language}-{width}")
            _no_overflow(page, width)


# A contract of an account writing Chinese documents, named in Chinese too.
CHINESE = {"title_zh": "薪资及人事服务", "governing_law_zh": "英格兰法律", **line_row(0, service_en="Payroll", service_zh="薪资处理",
           unit="payslip", quantity="1200", unit_price="4.50"), **line_row(2, service_en="Help desk", service_zh="服务台",
           unit="month", quantity="12", unit_price="900")}


def test_a_contract_says_which_language_prevails_in_its_bilingual_documents(session, alpha, new_browser):
    alpha.account.document_languages = ["en", "zh"]
    session.commit()
    am = signed_in(new_browser, AM)
    new = f"/accounts/{alpha.account.id}/contracts/new"
    refused = am.post_form(new, contract_form(prevailing_language="vi", **CHINESE), page=new)
    assert refused.status_code == 200 and invalid(refused.text, "prevailing_language")
    assert latest(session).scalar(sa.select(Contract).where(Contract.number == "MSA-ALPHA-2027")) is None

    # (An account writing Chinese documents names its contracts in Chinese too.)
    answer = am.post_form(new, contract_form(prevailing_language="zh", **CHINESE), page=new)
    assert answer.status_code == 302, (re.findall(r'id="([\w-]+)-errors"', answer.text), flashes(answer.text))
    contract = latest(session).scalar(sa.select(Contract).where(Contract.number == "MSA-ALPHA-2027"))
    assert contract.prevailing_language == "zh"
    page = am.get(f"/accounts/{alpha.account.id}/contracts/{contract.id}").text
    assert "Language that prevails in a bilingual document</dt><dd>中文</dd>" in page
    assert '<option selected value="zh">' in page.split('name="prevailing_language"', 1)[1].split("</select>", 1)[0]

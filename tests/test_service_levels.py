"""A contract's service levels (its SLA): the response and resolution targets of each
priority, set by the account's managers on the contract's page, and the clocks of the
requests opened afterwards."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from portal.domain import DomainError
from portal.models import Priority, RequestCategory, Role
from portal.onboarding import service
from portal.service_requests import service as requests
from portal.service_requests.service import DEFAULT_TARGETS, ServiceLevel, service_levels
from tests.helpers import assert_error, audit_events, flashes, latest, signed_in

AM = "account.manager@alpha.example"
CLIENT = "client.approver@alpha.example"
FINANCE = "finance@alpha.example"

pytestmark = pytest.mark.beside_alpha("admin")


def section(page: str) -> str:
    """The contract page's service levels: their heading, table and link."""
    start = page.index('id="service-levels"')
    return page[start:page.index("</article>", start)]


def levels_form(**fields) -> dict:
    """Around-the-clock targets in hours: urgent 1 and 4, high 2 and 8, normal 4 and 24,
    low 8 and 72 (a checkbox left out is off)."""
    hours = {"urgent": ("1", "4"), "high": ("2", "8"), "normal": ("4", "24"), "low": ("8", "72")}
    form = {}
    for priority, (first, resolution) in hours.items():
        form[f"{priority}_first"], form[f"{priority}_resolution"] = first, resolution
    return {**form, "save": "Save", **fields}


def test_the_account_manager_sets_the_service_levels_and_new_requests_run_on_them(session, alpha, new_browser):
    contract = alpha["contract"]
    page_url = f"/accounts/{alpha.account.id}/contracts/{contract.id}"
    url = f"{page_url}/service-levels"
    am = signed_in(new_browser, AM)
    form = am.get(url).text
    # The contract's own normal targets (9 and 27 business hours), the standard ones elsewhere.
    for name, hours in (("normal_first", "9"), ("normal_resolution", "27"), ("urgent_first", "1")):
        assert re.search(rf'name="{name}"[^>]*value="{hours}"|value="{hours}"[^>]*name="{name}"', form), name
    answer = am.post_form(url, levels_form(urgent_first="0.5", urgent_business="y"), page=url)
    assert answer.status_code == 302, flashes(answer.text)
    assert answer.headers["Location"] == f"{page_url}#service-levels"

    db = latest(session)
    levels = {level.priority: level for level in service_levels(contract)}
    assert levels[Priority.URGENT] == ServiceLevel(Priority.URGENT, 30, 240, True)
    assert levels[Priority.LOW] == ServiceLevel(Priority.LOW, 480, 4320, False)
    [event] = audit_events(db, "contract.service_levels_saved")
    assert event.actor_id == alpha.user(Role.ACCOUNT_MANAGER).id
    before = {row["priority"]: row for row in event.data["before"]}
    assert before["normal"]["first_response_minutes"] == 540 and before["urgent"]["standard"] is True

    # A low request opened on a Saturday: due eight hours later, the clock running all weekend.
    saturday = datetime(2026, 12, 12, 10, 0, tzinfo=timezone.utc)
    request = requests.create_request(db, alpha.account, alpha.user(Role.CLIENT_APPROVER),
                                      category=RequestCategory.OTHER, subject="Payslips", description="Late",
                                      priority=Priority.LOW, now=saturday)
    assert request.first_response_due_at == saturday + timedelta(hours=8)
    assert request.resolution_due_at == saturday + timedelta(hours=72)

    table = section(am.get(page_url).text)
    assert "30 minutes" not in table and "0.5 hours" in table and "72 hours" in table
    assert "All hours, every day" in table and "Business hours" in table


def test_the_contract_page_says_when_the_standard_targets_apply(session, alpha, new_browser):
    contract = alpha["contract"]
    for target in list(contract.sla_targets):
        session.delete(target)
    session.commit()
    table = section(signed_in(new_browser, CLIENT).get(f"/accounts/{alpha.account.id}/contracts/{contract.id}").text)
    assert "the portal's standard targets apply" in table
    first, resolution = DEFAULT_TARGETS[Priority.URGENT]
    assert f"{first // 60} hour" in table and f"{resolution // 60} hours" in table
    assert "Edit the service levels" not in table  # the client reads them


def test_the_service_levels_read_in_chinese_and_vietnamese(session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/contracts/{alpha['contract'].id}"
    am = signed_in(new_browser, AM)
    for language, words in (("zh", ("服务水平", "9 小时", "工作时间")), ("vi", ("Mức dịch vụ", "9 giờ", "Giờ làm việc"))):
        am.post_form("/language", {"language": language})
        table = section(am.get(url).text)
        assert all(word in table for word in words), language
        assert "hours" not in table and "Business hours" not in table


def test_a_resolution_shorter_than_the_first_response_is_refused_beside_its_field(session, alpha, new_browser):
    url = f"/accounts/{alpha.account.id}/contracts/{alpha['contract'].id}/service-levels"
    answer = signed_in(new_browser, AM).post_form(url, levels_form(high_first="10", high_resolution="2",
                                                                   low_first="-1"), page=url)
    assert answer.status_code == 200
    assert "The time to resolve cannot be shorter than the time to the first response." in answer.text
    assert "Enter a number greater than zero." in answer.text
    assert 'value="10"' in answer.text  # what was typed stays
    # Each problem in one box with its field, under it: in a row of two fields it would
    # otherwise take a column of its own.
    for name in ("high_resolution", "low_first"):
        assert re.search(rf'<div class="field-with-errors">\s*<label for="{name}">.*?</label>\s*'
                         rf'<small class="errors" id="{name}-errors">[^<]+</small></div>', answer.text, re.S), name
    assert audit_events(latest(session), "contract.service_levels_saved") == []


@pytest.mark.parametrize("typed", ["", "abc", "NaN", "1e400"])
def test_a_target_that_is_no_number_is_refused_in_the_form(session, alpha, new_browser, typed):
    url = f"/accounts/{alpha.account.id}/contracts/{alpha['contract'].id}/service-levels"
    answer = signed_in(new_browser, AM).post_form(url, levels_form(urgent_resolution=typed), page=url)
    assert answer.status_code == 200 and 'aria-invalid="true"' in answer.text
    assert audit_events(latest(session), "contract.service_levels_saved") == []


@pytest.mark.parametrize("email", [CLIENT, FINANCE])
def test_only_the_accounts_managers_set_the_service_levels(session, alpha, new_browser, email):
    url = f"/accounts/{alpha.account.id}/contracts/{alpha['contract'].id}/service-levels"
    browser = signed_in(new_browser, email)
    assert browser.get(url).status_code == 403
    assert browser.post_form(url, levels_form(), page=f"/accounts/{alpha.account.id}").status_code == 403
    assert audit_events(latest(session), "contract.service_levels_saved") == []


def test_the_service_refuses_a_manager_of_another_account_and_a_missing_priority(session, alpha, bravo):
    contract = alpha["contract"]
    other = bravo.user(Role.ACCOUNT_MANAGER)
    levels = [ServiceLevel(p, 60, 120) for p in Priority]
    with pytest.raises(DomainError) as refused:
        service.set_service_levels(session, contract, alpha.account, other, levels)
    assert refused.value.status == 403
    with pytest.raises(DomainError) as refused:
        service.set_service_levels(session, contract, alpha.account, alpha.user(Role.ACCOUNT_MANAGER), levels[:3])
    assert refused.value.fields == {f"{levels[3].priority}_first": "required"}


# --- the API -------------------------------------------------------------------------------------


def test_the_api_reads_and_sets_the_service_levels(client, session, alpha, auth):
    url = f"/api/v1/contracts/{alpha['contract'].id}"
    read = client.get(url, headers=auth(CLIENT)).json["service_levels"]
    assert [level["priority"] for level in read] == ["urgent", "high", "normal", "low"]
    assert read[2] == {"priority": "normal", "first_response_minutes": 540, "resolution_minutes": 1620,
                       "business_hours": True, "standard": False}
    assert read[0]["standard"] is True
    levels = [{"priority": p, "first_response_minutes": first, "resolution_minutes": 4 * first, "business_hours": False}
              for p, first in (("urgent", 30), ("high", 60), ("normal", 120), ("low", 240))]
    answer = client.put(f"{url}/service-levels", json={"levels": levels}, headers=auth(AM))
    assert answer.status_code == 200, answer.json
    assert answer.json["service_levels"] == [{**level, "standard": False} for level in levels]
    assert client.get(url, headers=auth(CLIENT)).json["service_levels"] == answer.json["service_levels"]
    assert len(audit_events(latest(session), "contract.service_levels_saved")) == 1


@pytest.mark.parametrize("change, field", [
    ({"resolution_minutes": 10}, "high_resolution"),
    ({"first_response_minutes": 0}, "high_first"),
    ({"first_response_minutes": 90 * 24 * 60 + 1, "resolution_minutes": 90 * 24 * 60 + 1}, "high_first"),
])
def test_a_bad_service_level_is_a_422_naming_its_field(client, session, alpha, auth, change, field):
    levels = [{"priority": p, "first_response_minutes": 60, "resolution_minutes": 240, **(change if p == "high" else {})}
              for p in ("urgent", "high", "normal", "low")]
    answer = client.put(f"/api/v1/contracts/{alpha['contract'].id}/service-levels", json={"levels": levels},
                        headers=auth(AM))
    assert field in assert_error(answer, 422)["fields"]
    assert audit_events(latest(session), "contract.service_levels_saved") == []


def test_a_priority_given_twice_or_left_out_is_refused_and_a_client_may_not_set_them(client, session, alpha, auth):
    url = f"/api/v1/contracts/{alpha['contract'].id}/service-levels"
    level = {"first_response_minutes": 60, "resolution_minutes": 240}
    twice = [{"priority": p, **level} for p in ("urgent", "urgent", "normal", "low")]
    assert assert_error(client.put(url, json={"levels": twice}, headers=auth(AM)), 422)["fields"] == {
        "levels": "listed twice", "high_first": "required"}
    every = [{"priority": p, **level} for p in ("urgent", "high", "normal", "low")]
    assert_error(client.put(url, json={"levels": every}, headers=auth(CLIENT)), 403)
    assert audit_events(latest(session), "contract.service_levels_saved") == []


@pytest.mark.parametrize("email", ["account.manager@bravo.example", "client.approver@bravo.example"])
def test_another_accounts_user_finds_no_service_levels_of_this_contract(client, session, alpha, bravo, auth,
                                                                      new_browser, email):
    """Absent and foreign look the same (404), on the page and the API, and nothing is set.
    Setting them is the account managers' and admins': a client is refused by role first
    (403 whatever the contract, so it tells nothing either)."""
    contract = alpha["contract"]
    every = [{"priority": p, "first_response_minutes": 60, "resolution_minutes": 240}
             for p in ("urgent", "high", "normal", "low")]
    api = f"/api/v1/contracts/{contract.id}"
    assert client.get(api, headers=auth(email)).status_code == 404
    refused = 404 if "manager" in email else 403
    assert client.put(f"{api}/service-levels", json={"levels": every}, headers=auth(email)).status_code == refused
    page = signed_in(new_browser, email).get(f"/accounts/{alpha.account.id}/contracts/{contract.id}/service-levels")
    assert page.status_code == refused
    assert audit_events(latest(session), "contract.service_levels_saved") == []

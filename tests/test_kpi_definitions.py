"""KPI definitions per contract: account managers and admins add and change them through
the account page's form (code, name per language, unit, target, direction, weight,
amber tolerance, SLA with service credit); every change is an audit event with the
values before and after; bad input is named on its field in the user's language;
clients and finance cannot define KPIs. Another account's contract and KPI answering
404 is proven for every route in ``test_access``."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.models import AuditEvent, Kpi, KpiDirection, Role
from tests.helpers import signed_in, translated

AM = "account.manager@alpha.example"
CLIENT = "client.approver@alpha.example"
FINANCE = "finance@alpha.example"


def kpi_form(**fields) -> dict:
    return {
        "code": "CLOSE", "name_en": "Month-end close", "name_zh": "月结完成时间", "name_vi": "", "unit": "days",
        "target": "4.5", "direction": "lower", "weight": "2", "amber_tolerance": "10", "service_credit_percent": "",
        "submit": "Save", **fields,
    }


def kpis_of(session, world) -> dict[str, Kpi]:
    session.rollback()  # a new transaction: see what the requests committed
    return {k.code: k for k in session.scalars(sa.select(Kpi).where(Kpi.contract_id == world["contract"].id))}


def audit_actions(session, kpi: Kpi) -> list[AuditEvent]:
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "Kpi", AuditEvent.object_id == kpi.id)
                                .order_by(AuditEvent.id)))


def test_the_account_manager_adds_a_kpi_shown_on_the_account_page(session, alpha, new_browser):
    am = signed_in(new_browser, AM)
    url = f"/contracts/{alpha['contract'].id}/kpis/new"
    saved = am.post_form(url, kpi_form(), page=url)
    assert saved.status_code == 302 and saved.location.endswith(f"/accounts/{alpha.account.id}#kpis")
    kpi = kpis_of(session, alpha)["CLOSE"]
    assert kpi.name == {"en": "Month-end close", "zh": "月结完成时间"}  # no empty Vietnamese name
    assert (kpi.target, kpi.direction, kpi.weight, kpi.amber_tolerance) == (Decimal("4.5"), KpiDirection.LOWER,
                                                                           Decimal(2), Decimal("0.1"))
    assert kpi.account_id == alpha.account.id and not kpi.is_sla and kpi.service_credit_percent is None
    [event] = audit_actions(session, kpi)
    assert event.action == "kpi.created" and event.data["after"]["target"] == "4.5"
    page = am.get(f"/accounts/{alpha.account.id}").text
    assert "Month-end close" in page and f"/kpis/{kpi.id}/edit" in page and "10.0%" in page


def test_a_changed_target_is_an_audit_event_with_before_and_after(session, alpha, new_browser):
    am = signed_in(new_browser, AM)
    kpi = alpha["kpi"]  # OTP: target 99, higher is better
    url = f"/kpis/{kpi.id}/edit"
    form = am.get(url).text
    assert 'value="OTP"' in form and 'value="99"' in form and 'value="5"' in form  # the tolerance in percent
    unchanged = {"code": "OTP", "name_en": "On-time payroll", "unit": "%", "target": "99", "direction": "higher",
                 "weight": "1", "amber_tolerance": "5", "submit": "Save"}
    assert am.post_form(url, unchanged, page=url).status_code == 302
    assert audit_actions(session, kpis_of(session, alpha)["OTP"]) == []  # nothing changed, nothing recorded
    assert am.post_form(url, {**unchanged, "target": "100", "is_sla": "y", "service_credit_percent": "2.5"},
                        page=url).status_code == 302
    kpi = kpis_of(session, alpha)["OTP"]
    assert (kpi.target, kpi.is_sla, kpi.service_credit_percent) == (Decimal(100), True, Decimal("2.5"))
    [event] = audit_actions(session, kpi)
    assert event.action == "kpi.updated" and event.actor_email == AM
    assert (event.data["before"]["target"], event.data["after"]["target"]) == ("99", "100")
    assert 'value="100"' in am.get(url).text  # written as a person writes it, not 1E+2


def test_a_code_in_use_on_the_contract_is_refused_on_its_field(session, alpha, new_browser):
    am = signed_in(new_browser, AM)
    url = f"/contracts/{alpha['contract'].id}/kpis/new"
    refused = am.post_form(url, kpi_form(code="OTP"), page=url)
    assert refused.status_code == 200
    assert 'aria-invalid="true"' in refused.text and "This contract has a KPI with this code already." in refused.text
    assert set(kpis_of(session, alpha)) == {"OTP"}


@pytest.mark.parametrize(("fields", "message"), [
    ({"target": "high"}, "Enter a number such as 99.5."),
    ({"amber_tolerance": "150"}, None),  # more than 100 percent
    ({"code": "month end close"}, "A code is up to 40 letters, digits, '-', '_' or '.'."),
    ({"name_en": ""}, None),
    ({"is_sla": "y"}, "An SLA needs its service credit."),
])
def test_bad_values_are_named_and_nothing_is_saved(session, alpha, new_browser, fields, message):
    am = signed_in(new_browser, AM)
    url = f"/contracts/{alpha['contract'].id}/kpis/new"
    refused = am.post_form(url, kpi_form(**fields), page=url)
    assert refused.status_code == 200 and 'aria-invalid="true"' in refused.text
    if message:
        assert message.replace("'", "&#39;") in refused.text
    assert set(kpis_of(session, alpha)) == {"OTP"}


@pytest.mark.parametrize("language", ["zh", "vi"])
def test_the_form_and_its_errors_in_the_users_language(session, alpha, new_browser, language):
    alpha.user(Role.ACCOUNT_MANAGER).language = language
    session.commit()
    am = signed_in(new_browser, AM)
    url = f"/contracts/{alpha['contract'].id}/kpis/new"
    page = am.get(url).text
    assert translated(language, "New KPI") in page and translated(language, "Amber within (percent of the target)") in page
    refused = am.post_form(url, kpi_form(target="high"), page=url)
    assert translated(language, "Enter a number such as 99.5.") in refused.text


@pytest.mark.parametrize("email", [CLIENT, FINANCE])
def test_clients_and_finance_do_not_define_kpis(session, alpha, new_browser, email):
    user = signed_in(new_browser, email)
    new_url, edit_url = f"/contracts/{alpha['contract'].id}/kpis/new", f"/kpis/{alpha['kpi'].id}/edit"
    assert user.get(new_url).status_code == 403 and user.get(edit_url).status_code == 403
    assert user.post_form(new_url, kpi_form()).status_code == 403
    assert user.post_form(edit_url, kpi_form(code="OTP", target="1")).status_code == 403
    assert f"/kpis/{alpha['kpi'].id}/edit" not in user.get(f"/accounts/{alpha.account.id}").text
    kpi = kpis_of(session, alpha)["OTP"]
    assert set(kpis_of(session, alpha)) == {"OTP"} and kpi.target == Decimal(99)

"""Input validation: every problem is reported with its field path, before rendering."""

from __future__ import annotations

import pytest

import docgen
from docgen import ValidationError, render, validate

from .conftest import KIND_NAMES


@pytest.mark.parametrize("kind", KIND_NAMES)
def test_examples_are_valid(example, kind):
    assert validate(example(kind)) == []


def test_public_constants():
    assert docgen.KINDS == ("amendment", "work_order", "plan", "review_pack", "invoice", "statement",
                             "credit_note", "portfolio_report", "quotation")
    assert docgen.LANGUAGES == ("en", "zh", "vi")


def test_unknown_kind_is_named_with_the_language_problems():
    problems = validate({"kind": "receipt", "languages": ["fr"]})
    assert problems[0] == ("kind", "unknown kind 'receipt' (use amendment, work_order, plan, review_pack, invoice, "
                                   "statement, credit_note, portfolio_report, quotation)")
    assert problems[1][0] == "languages"
    assert "unknown language 'fr'" in problems[1][1]


def test_missing_kind():
    assert validate({"languages": ["en"]}) == [("kind", "required")]


def test_input_must_be_an_object():
    assert validate(["amendment"]) == [("input", "must be a JSON object")]


def test_missing_currency_is_reported_by_path(amendment):
    del amendment["contract"]["currency"]
    assert validate(amendment) == [("contract.currency", "required")]


def test_every_problem_is_listed_with_its_path(amendment):
    amendment["date"] = "22/11/2026"
    amendment["lines"][0]["unit_price"] = "85,00"
    amendment["lines"][1]["quantity"] = "one"
    amendment["lines"][1]["change"] = "replace"
    del amendment["client"]["name"]
    amendment["change_request"]["version"] = "9f2c...e1"
    amendment["change_request"]["approved_at"] = "yesterday"
    amendment["client"]["timezone"] = "Mars/Olympus"
    problems = dict(validate(amendment))
    assert problems == {
        "date": "not a valid date (YYYY-MM-DD)",
        "client.name": "required",
        "client.timezone": "not an IANA time zone (e.g. Asia/Shanghai)",
        "change_request.approved_at": "not a valid date and time (ISO 8601, e.g. 2026-11-20T08:15:00Z)",
        "change_request.version": "not a 64-digit hexadecimal version hash",
        "lines.0.unit_price": "not a decimal amount",
        "lines.1.quantity": "not a decimal amount",
        "lines.1.change": "must be one of: 'add', 'remove' or 'modify'",
    }


def test_validation_error_lists_one_line_per_problem(amendment):
    amendment["effective_date"] = "2026-02-30"
    del amendment["number"]
    with pytest.raises(ValidationError) as raised:
        render(amendment)
    assert raised.value.errors == [("number", "required"), ("effective_date", "not a valid date (YYYY-MM-DD)")]
    assert str(raised.value).splitlines() == ["number: required", "effective_date: not a valid date (YYYY-MM-DD)"]


@pytest.mark.parametrize(
    ("languages", "message"),
    [
        (["en", "fr"], "unknown language 'fr' (use en, zh, vi)"),
        (["en", "zh", "vi"], "one language or two, from en, zh, vi"),
        ([], "one language or two, from en, zh, vi"),
        (["zh", "zh"], "two different languages"),
        ("en", "one language or two, from en, zh, vi"),
    ],
)
def test_languages_are_checked(work_order, languages, message):
    work_order["languages"] = languages
    assert validate(work_order) == [("languages", message)]


def test_languages_argument_overrides_the_input(work_order):
    work_order["languages"] = ["fr"]
    assert validate(work_order, ["en", "vi"]) == []
    assert validate(work_order, ["de"]) == [("languages", "unknown language 'de' (use en, zh, vi)")]


def test_free_text_languages_are_checked(work_order):
    work_order["title"] = {"en": "Payroll", "fr": "Paie"}
    assert validate(work_order) == [("title", "unknown language 'fr' (use en, zh, vi)")]


def test_amounts_must_be_plain_decimals(work_order):
    for bad in ("1e3", "NaN", "Infinity", "", " ", True, None, "1,000"):
        work_order["lines"][0]["unit_price"] = bad
        assert validate(work_order) == [("lines.0.unit_price", "not a decimal amount")], bad
    work_order["lines"][0]["unit_price"] = 2500000
    assert validate(work_order) == []


def test_a_total_too_large_to_write_in_words_is_refused(work_order):
    work_order["lines"][0]["quantity"] = "999999999"
    work_order["lines"][0]["unit_price"] = "999999999"
    assert validate(work_order) == [("lines", "total too large")]


def test_work_order_ends_after_it_starts(work_order):
    work_order["end_date"] = "2026-12-31"
    assert validate(work_order) == [("end_date", "before start_date")]


def test_work_order_needs_lines(work_order):
    del work_order["lines"]
    assert validate(work_order) == [("lines", "required")]


def test_plan_budget_needs_a_currency(plan):
    del plan["contract"]
    assert validate(plan) == [("currency", "required")]
    plan["currency"] = "CNY"
    assert validate(plan) == []
    del plan["currency"]
    plan["budget"] = []
    assert validate(plan) == []


def test_plan_type_and_review_decisions_are_checked(plan):
    plan["plan_type"] = "ybp"
    plan["reviews"][0]["decision"] = "maybe"
    problems = dict(validate(plan))
    assert problems["plan_type"] == "must be one of: 'jbp', 'qbp' or 'mbp'"
    assert problems["reviews.0.decision"].startswith("must be one of: 'comment', 'approve'")


def test_unknown_fields_are_ignored(amendment):
    amendment["account_id"] = 42
    amendment["lines"][0]["sku"] = "PAY-VN"
    assert validate(amendment) == []

"""The invoice and the statement of account, rendered and read back: the invoice's lines,
subtotal, tax, total, words, credit notes, amount due and bank details; the statement's
ageing on a fixed date, disputes marked, one table and total per currency; and the
input each refuses.

Figures are compared with what ``docgen.formatting`` writes for them, so that these
tests hold the figures (which must be right) and not the currency conventions (which
``test_formatting`` holds)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from docgen import ValidationError, render, validate
from docgen.formatting import amount_in_words
from docgen.i18n import Lang
from docgen.typesetting import WORD_JOINER

from .conftest import load_input
from .reading import AS_READ, full_text, open_docx

STATEMENT_DATE = date(2026, 12, 5)


@pytest.fixture
def invoice() -> dict:
    return load_input("invoice")


@pytest.fixture
def statement() -> dict:
    return load_input("statement")


def money(amount: str, currency: str = "CNY", lang: str = "en") -> str:
    return Lang(lang, currency=currency).money(Decimal(amount)).replace(WORD_JOINER, "")


def amount(value: str, currency: str = "CNY", lang: str = "en") -> str:
    return Lang(lang, currency=currency).amount(Decimal(value)).replace(WORD_JOINER, "")


def tables(document) -> list[list[list[str]]]:
    """The data tables of a document (not the side-by-side grids), as rows of cell texts
    without the word joiners that keep a heading's Chinese words whole (a reader sees
    nothing of them); no-break spaces are kept, as ``money`` and ``amount`` write them."""
    found = []
    for table in document.tables:
        rows = [[cell.text.replace(WORD_JOINER, "") for cell in row.cells] for row in table.rows]
        if table.style is not None and table.style.name == "Data Table":
            found.append(rows)
    return found


def table_under(document, heading: str) -> list[list[str]]:
    """The data table whose header row's first cells include ``heading``."""
    for rows in tables(document):
        if any(cell.startswith(heading) for cell in rows[0][:3]):
            return rows
    raise AssertionError(f"no table headed {heading}")


def totals(rows: list[list[str]]) -> dict[str, str]:
    """The totals rows under a table: label to amount. The label spans the leading
    columns, the amount the last one or two (``docgen.layout``: a total's amount, wider
    than the column's, stands under the last two)."""
    found = {}
    for row in rows:
        label, amount = row[0], row[-1]
        span = len(row) - row.index(amount)
        if label != amount and row[:-span] == [label] * (len(row) - span) and len(row) - span > 1:
            found[label] = amount
    return found


# --- the invoice -----------------------------------------------------------------------------


def test_the_lines_add_up_to_the_subtotal_tax_and_total(invoice):
    document = open_docx(render(invoice, ["en"]))
    lines = table_under(document, "No.")
    assert [row[1:] for row in lines[1:4]] == [
        ["Payroll processing, China", "1,250", "payslip", "85.00", "106,250.00"],
        ["Individual income tax filing", "1", "month", "12,000.00", "12,000.00"],
        ["Social insurance and housing fund administration", "1,250", "employee", "18.50", "23,125.00"],
    ]
    assert totals(lines) == {"Subtotal": money("141375.00"), "Tax (6%)": money("8482.50"),
                             "Total": money("149857.50")}


def test_the_total_is_written_in_words_in_each_language(invoice):
    for lang in ("en", "zh", "vi"):
        text = full_text(open_docx(render(invoice, [lang])))
        assert amount_in_words(Decimal("149857.50"), "CNY", lang) in text, lang
    assert "合计（大写）：人民币壹拾肆万玖仟捌佰伍拾柒元伍角" in full_text(open_docx(render(invoice, ["zh"])))


def test_each_line_is_rounded_half_up_before_it_is_added(invoice):
    invoice["lines"] = [{"description": "Courier", "quantity": "3", "unit_price": "0.335"},
                        {"description": "Courier", "quantity": "3", "unit_price": "0.335"}]
    invoice["credit_notes"] = []
    invoice["tax_rate"] = "0.1"
    document = open_docx(render(invoice, ["en"]))
    lines = table_under(document, "No.")
    assert [row[-1] for row in lines[1:3]] == ["1.01", "1.01"]  # 1.005 each, half up
    assert totals(lines) == {"Subtotal": money("2.02"), "Tax (10%)": money("0.20"), "Total": money("2.22")}


def test_a_tax_given_as_an_amount_is_the_billing_systems_figure(invoice):
    del invoice["tax_rate"]
    invoice["tax"] = "8482.49"
    assert totals(table_under(open_docx(render(invoice, ["en"])), "No.")) == {
        "Subtotal": money("141375.00"), "Tax": money("8482.49"), "Total": money("149857.49")}
    del invoice["tax"]
    invoice["credit_notes"] = []
    assert totals(table_under(open_docx(render(invoice, ["en"])), "No."))["Tax"] == money("0")


def test_credit_notes_lower_the_amount_due_and_the_payment_terms_ask_for_it(invoice):
    document = open_docx(render(invoice, ["zh"]))
    notes = table_under(document, "贷项通知单")
    assert notes[1] == ["CN-2026-0031", "2026年12月4日", "11月重复计费的25份工资单", amount("2120.00", lang="zh")]
    assert totals(notes) == {"冲抵合计": money("2120.00", lang="zh"), "应付金额": money("147737.50", lang="zh")}
    text = full_text(document)
    assert f"支付{money('147737.50', lang='zh')}".translate(AS_READ) in text and "付款参考号：INV-2026-11-0457" in text


def test_a_fully_credited_invoice_asks_for_nothing(invoice):
    invoice["credit_notes"][0]["amount"] = "149857.50"
    text = full_text(open_docx(render(invoice, ["en"])))
    assert "Nothing is due on this invoice" in text and "Please pay" not in text


def test_bank_details_and_tax_numbers_are_printed_in_each_language(invoice):
    text = full_text(open_docx(render(invoice, ["zh"])))
    for expected in ("收款账户", "户名：美瑞迪安商务服务（上海）有限公司", "开户银行：中国银行上海市分行",
                     "账号：4498 5821 0093", "SWIFT 代码：BKCHCNBJ300", "卖方：美瑞迪安商务服务（上海）有限公司",
                     "买方：华南精密制造有限公司", "纳税人识别号：91310115MA1K4QXX3B",
                     "纳税人识别号：91440300MA5FXXXX7Q", "采购订单：PO-HN-2026-0193", "计费期间：2026年11月"):
        assert expected in text, expected
    del invoice["bank_details"]
    assert "收款账户" not in full_text(open_docx(render(invoice, ["zh"])))


def test_the_bank_details_stay_on_one_page(invoice):
    """A payer copies the account name, bank, number and SWIFT code from one place: every
    line but the last keeps with the next (seen: the SWIFT code alone on page 2)."""
    paragraphs = [p for p in open_docx(render(invoice, ["zh"])).paragraphs]
    start = next(i for i, p in enumerate(paragraphs) if p.text == "收款账户")
    bank = paragraphs[start + 1:start + 5]
    assert [p.text.split("：")[0] for p in bank] == ["户名", "开户银行", "账号", "SWIFT 代码"]
    assert [bool(p.paragraph_format.keep_with_next) for p in bank] == [True, True, True, False]


def test_a_billing_period_is_a_month_by_its_name_else_a_range_of_dates(invoice):
    assert "Billing period: November 2026" in full_text(open_docx(render(invoice, ["en"])))
    assert "Kỳ tính phí: tháng 11 năm 2026" in full_text(open_docx(render(invoice, ["vi"])))
    invoice["period_start"] = "2026-11-02"
    assert "计费期间：2026年11月2日至2026年11月30日" in full_text(open_docx(render(invoice, ["zh"])))
    invoice["period_start"], invoice["period_end"] = "2026-10-01", "2026-11-30"
    assert "Billing period: 1 October 2026 to 30 November 2026" in full_text(open_docx(render(invoice, ["en"])))


def test_chinese_and_vietnamese_readers_get_a_commercial_invoice_that_says_it_is_no_tax_invoice(invoice):
    chinese = full_text(open_docx(render(invoice, ["zh"])))
    assert chinese.startswith("商业发票") and "本商业发票不是税务发票" in chinese
    vietnamese = full_text(open_docx(render(invoice, ["vi"])))
    assert vietnamese.startswith("Hóa đơn thương mại") and "không phải là hóa đơn thuế" in vietnamese
    english = full_text(open_docx(render(invoice, ["en"])))
    assert english.startswith("Invoice") and "not a tax invoice" not in english


def test_lines_without_units_have_no_unit_column_and_bilingual_descriptions_have_one_each(invoice):
    for line in invoice["lines"]:
        del line["unit"]
    header = table_under(open_docx(render(invoice, ["en", "zh"])), "No.")[0]
    assert header[:4] == ["No. / 序号", "Description", "说明", "Quantity / 数量"] and len(header) == 6
    assert not any(cell.startswith("Unit /") for cell in header)


def test_descriptions_in_one_language_are_written_once(invoice):
    """A billing system's descriptions, one text each, get one column, not the same text twice."""
    for line in invoice["lines"]:
        line["description"] = line["description"]["en"]
    rows = table_under(open_docx(render(invoice, ["en", "zh"])), "No.")
    assert rows[0][1] == "Description / 说明" and rows[1][1] == "Payroll processing, China"
    assert len(rows[0]) == 6


@pytest.mark.parametrize(("change", "path"), [
    (lambda d: d.update(due_date="2026-11-29"), "due_date"),
    (lambda d: d.pop("period_end"), "period_end"),
    (lambda d: d.update(period_end="2026-10-31"), "period_end"),
    (lambda d: d.update(lines=[]), "lines"),
    (lambda d: d.update(tax_rate="6"), "tax_rate"),
    (lambda d: d["credit_notes"][0].update(amount="149857.51"), "credit_notes"),
    (lambda d: d["credit_notes"][0].update(amount="-1"), "credit_notes.0.amount"),
    (lambda d: d.pop("currency"), "currency"),
    (lambda d: d["bank_details"].pop("account_number"), "bank_details.account_number"),
])
def test_invoice_input_that_cannot_be_right_is_refused_naming_the_field(invoice, change, path):
    change(invoice)
    assert path in dict(validate(invoice))
    with pytest.raises(ValidationError):
        render(invoice)


# --- the statement of account ------------------------------------------------------------------


def item(invoice: str, days_overdue: int, total: str, currency: str = "USD", **more) -> dict:
    due = STATEMENT_DATE - timedelta(days=days_overdue)
    return {"invoice": invoice, "issue_date": (due - timedelta(days=30)).isoformat(), "due_date": due.isoformat(),
            "currency": currency, "total": total, **more}


def test_open_items_fall_in_their_ageing_bucket_on_the_statements_date(statement):
    # On each side of each bucket's bounds: due today is not yet overdue, 30 days is the
    # last of 1-30, 91 the first of over 90.
    days = {"A": -5, "B": 0, "C": 1, "D": 30, "E": 31, "F": 60, "G": 61, "H": 90, "I": 91}
    statement["items"] = [item(name, overdue, f"{index}00.00") for index, (name, overdue) in enumerate(days.items(), 1)]
    document = open_docx(render(statement, ["en"]))
    ageing = table_under(document, "Currency")
    # Non-breaking hyphens: a narrow heading never wraps inside 1-30.
    assert ageing[0] == ["Currency", "Not yet due", "1\u201130 days", "31\u201160 days", "61\u201190 days",
                         "Over 90 days", "Total due"]
    assert ageing[1] == ["USD", *(amount(a, "USD") for a in ("300.00", "700.00", "1100.00", "1500.00", "900.00",
                                                             "4500.00"))]
    items = table_under(document, "Invoice number")
    assert [(row[0], row[3]) for row in items[1:10]] == [(name, str(max(overdue, 0))) for name, overdue in
                                                         sorted(days.items(), key=lambda kv: -kv[1])]


def test_disputed_items_are_marked_and_the_mark_explained_in_each_language(statement):
    legends = {"en": "* Disputed: the invoice stays open", "zh": "* 有争议：争议解决前", "vi": "* Đang khiếu nại: hóa đơn"}
    for languages in (["en"], ["zh"], ["vi"], ["en", "vi"]):
        document = open_docx(render(statement, languages))
        numbers = [row[0] for table in tables(document) if table[0][-1].startswith(("Open amount", "未结金额", "Số tiền"))
                   for row in table[1:-1]]
        assert len(numbers) == 6, languages
        assert [number for number in numbers if number.endswith("\u00a0*")] == ["INV-SV-2026-0330\u00a0*"]
        text = full_text(document)
        for lang in languages:
            assert legends[lang] in text, lang
    vnd = table_under(open_docx(render(statement, ["en"])), "Currency")[2]
    assert vnd[0] == "VND" and vnd[3] == amount("987500000", "VND")  # 31-60 days, disputed or not


def test_without_a_disputed_item_there_is_no_mark_and_no_legend(statement):
    statement["items"][2]["disputed"] = False
    text = full_text(open_docx(render(statement, ["en"])))
    assert "\u00a0*" not in text and "Disputed" not in text


def test_each_currency_has_its_own_items_ageing_and_total_due_never_added_to_another(statement):
    document = open_docx(render(statement, ["en"]))
    usd = table_under(document, "Invoice number")
    assert [row[0] for row in usd[1:-1]] == ["INV-SV-2026-0391"]
    assert usd[0][-1] == "Open amount (USD)" and totals(usd) == {"Total due": amount("18450.75", "USD")}
    vnd = [rows for rows in tables(document) if rows[0][-1] == "Open amount (VND)"][0]
    assert [row[0] for row in vnd[1:-1]] == ["INV-SV-2026-0201", "INV-SV-2026-0288", "INV-SV-2026-0330\u00a0*",
                                             "INV-SV-2026-0371", "INV-SV-2026-0412"]
    # The partly paid one is open for what is left; the total due is the open amounts'.
    assert vnd[4][4:] == [amount("1069200000", "VND"), amount("54000000", "VND"), amount("1015200000", "VND")]
    assert totals(vnd) == {"Total due": amount("16621907949", "VND")}
    ageing = table_under(document, "Currency")
    assert [row[0] for row in ageing[1:]] == ["USD", "VND"] and len(ageing) == 3
    text = full_text(document)
    assert amount_in_words(Decimal("18450.75"), "USD", "en") in text
    assert amount_in_words(Decimal("16621907949"), "VND", "en") in text


def test_a_statement_with_nothing_open_says_so(statement):
    statement["items"] = []
    text = full_text(open_docx(render(statement, ["vi"])))
    assert "không có khoản công nợ nào chưa thanh toán" in text and "Tuổi nợ" not in text


@pytest.mark.parametrize(("change", "path"), [
    (lambda d: d["items"][0].update(paid="1069200001"), "items.0.paid"),
    (lambda d: d["items"][0].update(total="-5"), "items.0.total"),
    (lambda d: d["items"][0].update(currency="XYZ"), "items.0.currency"),
    (lambda d: d["items"][0].pop("due_date"), "items.0.due_date"),
])
def test_statement_input_that_cannot_be_right_is_refused_naming_the_field(statement, change, path):
    change(statement)
    assert path in dict(validate(statement))


"""Reading bulk files: headers in either language, CP949 CSV from Korean Excel, XLSX, row numbers as
the spreadsheet shows them, and refusals of what cannot be read."""

from __future__ import annotations

from commands.i18n import use_locale
from commands.workflow.bulk_parse import COLUMNS, header, read_sheet, template_csv, template_xlsx


def test_english_and_korean_headers_read_the_same_rows() -> None:
    english = "Buyer name,Item,Unit price,Quantity\n가나다,Consulting,1000,2\n".encode()
    korean = "공급받는자 상호,품목,단가,수량\n가나다,Consulting,1000,2\n".encode("cp949")
    assert read_sheet(english, "a.csv").rows == read_sheet(korean, "b.csv").rows
    assert read_sheet(english, "a.csv").rows[0].values == {"buyer_name": "가나다", "item": "Consulting",
                                                           "unit_price": "1000", "quantity": "2"}


def test_rows_keep_their_spreadsheet_numbers_past_blank_lines() -> None:
    sheet = read_sheet(b"buyer_name,item,unit_price\na,x,1\n,,\nb,y,2\n", "a.csv")
    assert [r.number for r in sheet.rows] == [2, 4]


def test_an_unknown_or_missing_column_is_refused_before_any_row() -> None:
    sheet = read_sheet(b"buyer_name,item,price\na,x,1\n", "a.csv")
    messages = [p.message for p in sheet.problems]
    assert not sheet.rows and any("“price” is not a column" in m for m in messages)
    assert any(p.column == "unit_price" for p in sheet.problems)


def test_a_broken_workbook_is_refused_with_a_reason() -> None:
    sheet = read_sheet(b"PK\x03\x04 not really", "a.xlsx")
    assert not sheet.rows and "XLSX" in sheet.problems[0].message


def test_templates_have_headers_in_the_asked_language_and_read_back() -> None:
    assert template_csv("ko").decode("utf-8-sig").startswith("발행 서비스,문서 종류,공급받는자 사업자번호")
    assert template_csv("en").decode("utf-8-sig").startswith("Provider,Document kind,Buyer business number")
    for data, name in ((template_csv("ko"), "t.csv"), (template_xlsx("en"), "t.xlsx")):
        sheet = read_sheet(data, name)
        assert not sheet.problems and sheet.rows[0].values["provider"] == "popbill"
    with use_locale("ko"):
        assert header(COLUMNS[0]) == "발행 서비스"

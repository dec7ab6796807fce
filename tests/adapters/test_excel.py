import pandas

from tiled.adapters.registry import check_complete, inspect
from tiled.testing.adapters import ContainerCase, ContainerSuite
from tiled.testing.served import ServedSuite

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class TestExcel(ContainerSuite, ServedSuite):
    def cases(self, directory):
        directory.mkdir(parents=True)
        path = directory / "book.xlsx"
        sheets = {
            "Samples": pandas.DataFrame({"p": [1, 2, 3], "q": ["a", "b", "c"]}),
            "Readings": pandas.DataFrame({"t": [0.5, 1.5], "v": [10.25, -3.0]}),
        }
        with pandas.ExcelWriter(path, engine="openpyxl") as writer:
            for name, sheet in sheets.items():
                sheet.to_excel(writer, sheet_name=name, index=False)
        tree = {name: pandas.read_excel(path, sheet_name=name) for name in sheets}
        return [ContainerCase("book", XLSX, [path], tree)]

    def test_sheets_in_workbook_order(self, written):
        assert inspect(XLSX, written[0].paths).structure.keys == ("Samples", "Readings")

    def test_completeness(self, written, tmp_path):
        assert check_complete(XLSX, written[0].paths) is None
        partial = tmp_path / "partial.xlsx"
        partial.write_bytes(written[0].paths[0].read_bytes()[:-30])
        assert "zip" in check_complete(XLSX, [partial])

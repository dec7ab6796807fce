import numpy
import pandas
import pytest

from tiled.adapters.registry import inspect, open_adapter
from tiled.errors import BadRequestError
from tiled.structures.array import ArrayStructure
from tiled.testing.adapters import ArrayCase, ArraySuite, TableCase, TableSuite
from tiled.testing.served import ServedSuite, register


def frame(seed, rows=5):
    rng = numpy.random.default_rng(seed)
    return pandas.DataFrame(
        {
            "id": numpy.arange(rows) + 10 * seed,
            "value": rng.normal(size=rows).round(6),
            "label": [f"item {i}" for i in range(rows)],
        }
    )


class TestCSV(TableSuite, ServedSuite):
    truncation_must_fail = False  # half a CSV file is a shorter CSV file

    def cases(self, directory):
        directory.mkdir(parents=True)
        frame(1).to_csv(directory / "with_header.csv", index=False)
        frame(2).to_csv(directory / "no_header.csv", index=False, header=False)
        frame(3).to_csv(directory / "explicit_absent.csv", index=False, header=False)
        frame(4).to_csv(directory / "semicolons.csv", index=False, sep=";")
        parts = [directory / f"part_{i}.csv" for i in range(3)]
        for i, path in enumerate(parts):
            frame(10 + i, rows=3 + i).to_csv(path, index=False)
        nameless = ["0", "1", "2"]

        def read(path, **kwargs):
            return pandas.read_csv(path, **kwargs)

        return [
            TableCase(
                "with_header",
                "text/csv",
                [directory / "with_header.csv"],
                [read(directory / "with_header.csv")],
            ),
            TableCase(
                "no_header",
                "text/csv",
                [directory / "no_header.csv"],
                [read(directory / "no_header.csv", header=None, names=nameless)],
            ),
            TableCase(
                "explicit_absent",
                "text/csv;header=absent",
                [directory / "explicit_absent.csv"],
                [read(directory / "explicit_absent.csv", header=None, names=nameless)],
            ),
            TableCase(
                "semicolons",
                "text/csv",
                [directory / "semicolons.csv"],
                [read(directory / "semicolons.csv", sep=";")],
                {"sep": ";"},
            ),
            TableCase("parts", "text/csv", parts, [read(p) for p in parts]),
        ]

    def test_sniffing_decides_the_header(self, written):
        assert inspect("text/csv", written[0].paths).structure.columns == ("id", "value", "label")
        assert inspect("text/csv", written[1].paths).structure.columns == ("0", "1", "2")
        # Told explicitly, the first row is a header even though the sniffer would say no.
        present = inspect("text/csv;header=present", written[1].paths).structure
        assert present.columns[0] == "20"

    def test_unknown_reader_parameter_is_refused_by_name(self, written):
        with pytest.raises(BadRequestError, match="engine"):
            open_adapter("text/csv", written[0].paths, parameters={"engine": "python"})

    def test_whole_table_exports(self, written, served_http):
        register(served_http, written[0])
        csv_text = served_http.get("/table/full/with_header", params={"format": "csv"})
        assert csv_text.headers["content-type"] == "text/csv; charset=utf-8"
        assert csv_text.text.splitlines()[0] == "id,value,label"
        as_json = served_http.get("/table/full/with_header", params={"format": "json"}).json()
        assert as_json["label"] == [f"item {i}" for i in range(5)]
        posted = served_http.post("/table/full/with_header", json=["label", "id"])
        assert posted.status_code == 200
        unknown = served_http.get("/table/partition/with_header?partition=0&column=nope")
        assert unknown.status_code == 400
        assert "nope" in unknown.json()["detail"]
        beyond = served_http.get("/table/partition/with_header?partition=1")
        assert beyond.status_code == 400
        assert "Partition out of range" in beyond.json()["detail"]

    def test_columns_as_arrays(self, written, served_http):
        register(served_http, written[0])
        column = served_http.get("/metadata/with_header/label").json()["data"]["attributes"]
        assert column["structure_family"] == "array"
        assert column["structure"]["shape"] == [5]
        assert column["structure"]["chunks"] == [[5]]
        values = served_http.get("/array/full/with_header/id", params={"format": "json"})
        assert values.json() == list(range(10, 15))


class TestCSVAsArray(ArraySuite, ServedSuite):
    """``text/csv;header=absent`` registered with an array structure: a 2-D array."""

    truncation_must_fail = False

    def cases(self, directory):
        directory.mkdir(parents=True)
        data = numpy.arange(24, dtype="float64").reshape(6, 4) / 8
        numpy.savetxt(directory / "grid.csv", data, delimiter=",")
        return [ArrayCase("grid", "text/csv;header=absent", [directory / "grid.csv"], data)]

    def test_inspection_matches_native(self, written):
        case = written[0]
        structure = ArrayStructure.from_array(case.expected)
        adapter = open_adapter(case.mimetype, case.paths, structure=structure)
        numpy.testing.assert_array_equal(adapter.read(), case.expected)

    test_full_read_matches_native = test_inspection_matches_native
    test_slices_match_native = test_inspection_matches_native
    test_every_block_matches_native = test_inspection_matches_native

    def test_served_reads_match_native(self, written, served_http):
        case = written[0]
        body = _array_body(case)
        assert served_http.post("/register/", json=body).status_code == 200
        raw = served_http.get("/array/full/grid", params={"slice": "1:3,::-1"}).content
        numpy.testing.assert_array_equal(
            numpy.frombuffer(raw, "<f8").reshape(2, 4), case.expected[1:3, ::-1]
        )

    test_broken_file_fails_one_request_only = None  # a table registration covers it

    def test_client_reads_match_native(self, written, served_http):
        from tiled.client import from_uri
        from tiled.structures.data_source import DataSource

        case = written[0]
        body = _array_body(case)
        url = str(served_http.base_url).removesuffix("/api/v1/").removesuffix("/api/v1")
        client = from_uri(url, api_key="secret")
        try:
            source = DataSource.from_json(body["data_sources"][0])
            node = client.new("array", [source], key="grid")
            numpy.testing.assert_array_equal(node[::2, -1], case.expected[::2, -1])
            numpy.testing.assert_array_equal(client["grid"].read(), case.expected)
        finally:
            client.close()


def _array_body(case):
    structure = ArrayStructure.from_array(case.expected).to_json()
    return {
        "id": case.name,
        "structure_family": "array",
        "metadata": {},
        "specs": [],
        "data_sources": [
            {
                "structure_family": "array",
                "structure": structure,
                "mimetype": case.mimetype,
                "parameters": {},
                "properties": {},
                "management": "external",
                "assets": [
                    {
                        "data_uri": case.paths[0].as_uri(),
                        "is_directory": False,
                        "parameter": "data_uri",
                        "num": None,
                    }
                ],
            }
        ],
    }


CSV_SHAPES = {
    "numbers": "a,b\n1,2.5\n3,4\n",
    "mixed": "a,b,c,d\n1,x,2.5,True\n2,y,,False\n3,,1e3,True\n",
    "no_header": "1,2,3\n4,5,6\n",
    "dates": "t,v\n2020-01-01,1\n2020-01-02,2\n",
    "header_only": "a,b\n",
    "duplicate_names": "a,a,b\n1,2,3\n",
    "all_missing": "a,b\n,1\n,2\n",
    "object_column": "a\n1\nx\n",
    "unicode_names": "é,ü\n1,2\n",
}


@pytest.mark.parametrize("name", sorted(CSV_SHAPES))
@pytest.mark.parametrize("header", [None, True, False])
def test_inspected_schema_is_the_served_one(tmp_path, name, header):
    """inspect_schema (one read, cached schemas) equals Schema.from_pandas of the frame the
    read path builds, metadata included, for a first file and for another of the same shape
    but more rows (a cache hit)."""
    for rows in ("", "7,8\n" * 4):
        path = tmp_path / f"{name}.csv"
        path.write_text(CSV_SHAPES[name] + rows, encoding="utf-8")
        assert_schema_is_pandas(path, header)


def assert_schema_is_pandas(path, header, context=()):
    """inspect_schema gives the schema Arrow derives from pandas' frame, or pandas' error."""
    import pyarrow

    from tiled.adapters.csv import inspect_schema, read_csv, sniff_header

    has_header = header if header is not None else sniff_header(path, {})
    try:
        expected = pyarrow.Schema.from_pandas(read_csv(path, has_header, {}))
    except Exception as err:
        with pytest.raises(type(err)):
            inspect_schema(path, header, {})
        return
    got = inspect_schema(path, header, {})
    assert got.equals(expected, check_metadata=True), (*context, got, expected)


NUMERIC_CSVS = [
    "a,b\n0,0.0\n1,0.5\n",
    "a,b\n-3,-0.25\n4,7\n",  # a negative int; a float column that also holds an int
    "a,b\n1,2\n3,4",  # no final newline
    "x\n123456789012345678\n-1\n",  # 18 digits: int64
    "x\n1234567890123456789\n1\n",  # 19 digits: pandas decides
    "x\n99999999999999999999\n1\n",  # beyond int64
    "x,y\n007,1\n8,2\n",  # leading zeros
    "x,y\n1, 2\n3,4\n",  # a space in a cell
    "x,y\n1,2\r\n3,4\r\n",  # CRLF
    "x,y\n1,2\n\n3,4\n",  # a blank line
    '"x",y\n1,2\n',  # a quoted name
    " x,y\n1,2\n",  # a name with a space
    "x,y\n1,2,\n3,4,\n",  # ragged
    "x,y\n1,\n3,4\n",  # an empty cell
    "x,y\n1.5e3,2\n3,4\n",  # an exponent
    "x,y\n1.,2\n.5,4\n",  # half-written decimals
    "x,y\nnan,1\ninf,2\n",
    "1,2\n3,4\n",
    "1.5,2\n3,4\n",
    "0,1\n",
]


@pytest.mark.parametrize("content", NUMERIC_CSVS)
@pytest.mark.parametrize("header", [None, True, False])
def test_numeric_files_skip_pandas_only_where_pandas_agrees(tmp_path, content, header):
    """Small files of plain numbers are typed without pandas once pandas typed one of the
    same layout: the schema is the one pandas gives, for the first file, for a second
    with more rows and for a third with other values of the same forms."""
    body = content.partition("\n")[2]
    for text in (content, content + body, content.replace("1", "2")):
        path = tmp_path / "t.csv"
        path.write_bytes(text.encode())
        assert_schema_is_pandas(path, header, (text,))


def test_numeric_layout_reads_plain_numbers_only():
    from tiled.adapters.csv import numeric_layout

    assert numeric_layout(b"a,b\n1,2.5\n-3,4\n", True) == (
        (True, ("a", "b"), ("int64", "float64")),
        2,
    )
    assert numeric_layout(b"1,2\n", False) == ((False, ("0", "1"), ("int64", "int64")), 1)
    for content in (b"a,b\n", b"a,a\n1,2\n", b"a,b\n1,x\n", b"a,b\n1,2\n\n3,4\n", b"a\n1e3\n"):
        assert numeric_layout(content, True) is None, content

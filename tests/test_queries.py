import pytest

from tiled.errors import InvalidQueryError
from tiled.queries import (
    Comparison,
    Contains,
    Eq,
    FullText,
    In,
    Key,
    KeyLookup,
    KeyPresent,
    KeysFilter,
    Like,
    NotEq,
    NotIn,
    Regex,
    Spec,
    SpecsQuery,
    StructureFamilyQuery,
    decode_filters,
    encode_query,
)

ALL = [
    FullText("fox"),
    KeyLookup("n003"),
    KeysFilter(["a", "b"]),
    Eq("color", "red"),
    NotEq("color", "red"),
    Comparison("gt", "i", 115),
    Contains("tags", 3),
    In("color", ["red", "blue"]),
    NotIn("color", ["red"]),
    KeyPresent("sample.name", exists=False),
    Like("sample.name", "Ni%"),
    Regex("sample.name", "^Ni1[0-9]$", case_sensitive=False),
    SpecsQuery(include=["even"], exclude=["odd"]),
    StructureFamilyQuery("array"),
]


@pytest.mark.parametrize("query", ALL, ids=lambda q: q.name)
def test_each_query_round_trips_through_the_url(query):
    assert decode_filters(encode_query(query)) == [query]


def test_wire_encoding_matches_the_captures():
    assert encode_query(Key("i") > 115) == [
        ("filter[comparison][condition][operator]", "gt"),
        ("filter[comparison][condition][key]", "i"),
        ("filter[comparison][condition][value]", "115"),
    ]
    assert (
        dict(encode_query(In("color", ["red", "blue"])))["filter[in][condition][value]"]
        == '["red", "blue"]'
    )
    assert Spec("x") == SpecsQuery(["x"], [])


def test_repeated_filters_pair_up_in_order():
    params = encode_query(Eq("a", 1)) + encode_query(Eq("b", 2))
    assert decode_filters(params) == [Eq("a", 1), Eq("b", 2)]


def test_unknown_filter_names_are_refused_with_the_supported_list():
    # Tiled ignores them (200, unfiltered); a silently widened search is worse.
    with pytest.raises(InvalidQueryError, match=r"Unknown query type 'nonsense'.*'eq'"):
        decode_filters([("filter[nonsense][condition][x]", "1")])
    with pytest.raises(InvalidQueryError, match="Malformed filter parameter"):
        decode_filters([("filter[eq]", "1")])


def test_other_parameters_are_not_filters():
    assert decode_filters([("fields", ""), ("sort", "-"), ("page[limit]", "3")]) == []


def test_fulltext_words_are_letters_and_digits():
    assert FullText("The x_ray, scan-001!").words == ["the", "x", "ray", "scan", "001"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([("filter[eq][condition][key]", "a"), ("filter[eq][condition][value]", "red")], "JSON"),
        ([("filter[eq][condition][key]", "a")], "missing"),
        (
            [
                ("filter[regex][condition][key]", "a"),
                ("filter[regex][condition][pattern]", "(unclosed"),
            ],
            "does not compile",
        ),
        (
            [
                ("filter[comparison][condition][operator]", "between"),
                ("filter[comparison][condition][key]", "a"),
                ("filter[comparison][condition][value]", "1"),
            ],
            "operator",
        ),
        ([("filter[eq][condition][key]", "a..b"), ("filter[eq][condition][value]", "1")], "dotted"),
        (
            [("filter[eq][condition][key]", "a"), ("filter[eq][condition][value]", "NaN")],
            "JSON number",
        ),
        ([("filter[in][condition][key]", "a"), ("filter[in][condition][value]", "3")], "list"),
        ([("filter[fulltext][condition][text]", " ?! ")], "at least one word"),
        (
            [
                ("filter[like][condition][key]", "a"),
                ("filter[like][condition][pattern]", '"x\\\\"'),
            ],
            "lone backslash",
        ),
        ([("filter[structure_family][condition][value]", "tree")], "choose from"),
        ([("filter[keys_filter][condition][keys]", '["a", 1]')], "list of strings"),
        (
            [
                ("filter[eq][condition][key]", "a"),
                ("filter[eq][condition][value]", "1"),
                ("filter[eq][condition][nope]", "1"),
            ],
            "no field",
        ),
    ],
)
def test_bad_queries_say_why(params, message):
    with pytest.raises(InvalidQueryError, match=message):
        decode_filters(params)

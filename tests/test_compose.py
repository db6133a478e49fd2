"""geo/compose.py: fragments carry their parameters and the composer numbers them, for asyncpg
(`$n`) and psycopg (`%s`), checked by running the composed SQL on PostgreSQL."""

from __future__ import annotations

import asyncio

import asyncpg
import psycopg
import pytest

from geo import compose
from layers import filters as lf
from layers.base import Field, Filter, Layer


def fetch_asyncpg(url: str, frag: compose.Fragment) -> list[tuple[object, ...]]:
    async def run() -> list[tuple[object, ...]]:
        conn = await asyncpg.connect(url)
        try:
            return [tuple(r) for r in await conn.fetch(frag.compile().text, *frag.args())]
        finally:
            await conn.close()

    return asyncio.run(run())


def fetch_psycopg(url: str, frag: compose.Fragment) -> list[tuple[object, ...]]:
    compiled = frag.compile_psycopg()
    with psycopg.connect(url) as conn:
        return [tuple(r) for r in conn.execute(compiled.text, compiled.args(dict(frag.bound)))]


def test_many_fragments_with_two_parameters_each_run_on_both_drivers(db_url: str) -> None:
    """Twelve fragments of two parameters: `$1` vs `$10`… and a second parameter per fragment are
    what renumbering with str.replace got wrong; here the composer numbers them."""
    pair = "({a}::int * 100 + {b}::int)"
    parts = [compose.sql(pair, a=compose.value(i), b=compose.value(i + 1)) for i in range(12)]
    frag = compose.sql(
        "SELECT ARRAY[{xs}], {pct}", xs=compose.join(", ", parts), pct=compose.raw("'5%'")
    )
    expected = [[i * 100 + i + 1 for i in range(12)], "5%"]
    assert "$24" in frag.compile().text and len(frag.args()) == 24
    assert [list(r) for r in fetch_asyncpg(db_url, frag)] == [expected]
    assert [list(r) for r in fetch_psycopg(db_url, frag)] == [expected]  # '%' kept literal


def test_a_key_is_one_parameter_and_slots_take_values_per_run(db_url: str) -> None:
    same = compose.param("n")
    frag = compose.sql("SELECT {n}::int + {n}::int, {m}::text", n=same, m=compose.param("m"))
    compiled = frag.compile()
    assert compiled.text == "SELECT $1::int + $1::int, $2::text" and compiled.keys == ("n", "m")
    assert frag.compile(order=("m", "n")).text == "SELECT $2::int + $2::int, $1::text"
    assert frag.compile(start=4).text == "SELECT $4::int + $4::int, $5::text"
    bound = compose.Fragment(frag.parts, (("n", 20), ("m", "x")))
    assert fetch_asyncpg(db_url, bound) == [(40, "x")]
    assert fetch_psycopg(db_url, bound) == [(40, "x")]
    with pytest.raises(KeyError):
        frag.args()  # a slot without a value is an error, never a wrong argument


def test_identifiers_and_literals_are_quoted(db_url: str) -> None:
    frag = compose.sql(
        "SELECT {lit} AS {name}", lit=compose.literal("it's"), name=compose.ident('a"b')
    )
    assert frag.compile().text == """SELECT 'it''s' AS "a""b\""""
    assert fetch_asyncpg(db_url, frag) == [("it's",)]
    with pytest.raises(TypeError):
        compose.sql("SELECT {x}", x="1; DROP TABLE users")  # type: ignore[arg-type]


def test_a_filter_of_two_parameters_composes_with_others(db_url: str) -> None:
    """A layer filter whose fragment reads its value twice, beside other filters and a row
    condition with its own parameter (layers/filters.py)."""
    layer = Layer(
        id="numbers",
        title_zh="数",
        title_en="Numbers",
        source_sql="SELECT n AS id, n, NULL::geometry AS geom FROM generate_series(1, 100) AS n",
        geom_column="geom",
        geom_type="Point",
        fields=(Field("id", "t.id", "integer"), Field("n", "t.n", "integer", "leader")),
        filters=(
            Filter("near", "int", "t.n BETWEEN {value} - 2 AND {value} + 2", "near", field="n"),
            Filter("id", "int", "t.id <> {value}", "not this id", field="id"),
        ),
        version_tables=("roads",),
    )
    bound = lf.parse(layer, {"near": "50", "id": "49"}, audience="leader")
    own = compose.sql("t.n % {m} = 0", m=compose.value(2))  # only even rows are the caller's
    where = lf.where(bound, own)
    frag = compose.sql(
        "SELECT t.n FROM ({src}) AS t WHERE TRUE{where} ORDER BY t.n",
        src=compose.raw(layer.source_sql or ""),
        where=where,
    )
    assert fetch_asyncpg(db_url, frag) == [(48,), (50,), (52,)]
    assert fetch_psycopg(db_url, frag) == [(48,), (50,), (52,)]

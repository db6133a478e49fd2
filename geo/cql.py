"""CQL2 text → parameterised SQL: pygeofilter parses, this walks the AST against queryable fields.

Supported: comparisons (= <> < <= > >=), AND / OR / NOT, IN, BETWEEN, LIKE (with % and _),
IS [NOT] NULL, INCLUDE/EXCLUDE, and the spatial predicates S_INTERSECTS, S_DISJOINT, S_CONTAINS,
S_WITHIN, S_TOUCHES, S_CROSSES, S_OVERLAPS, S_EQUALS with BBOX(…) or WKT literals (EPSG:4326).
Values only ever travel as parameters with explicit casts (the result is a geo/compose.py
fragment carrying them); identifiers only come from the queryables the caller passes in.
Everything else is a clear InvalidInput (HTTP 400).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from typing import Any

import shapely
from lark import Lark
from lark.exceptions import LarkError
from pygeofilter import ast, values
from pygeofilter.parsers.cql2_text import parser as cql2_text

from geo import compose
from geo.compose import Fragment

MAX_FILTER_LENGTH = 4000
MAX_IN_VALUES = 1000
INT64 = (-(2**63), 2**63 - 1)
GEOMETRY_TYPE = "geometry"

COMPARISONS: dict[type, str] = {
    ast.Equal: "=",
    ast.NotEqual: "<>",
    ast.LessThan: "<",
    ast.LessEqual: "<=",
    ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}
SPATIAL: dict[type, str] = {
    ast.GeometryIntersects: "ST_Intersects",
    ast.GeometryDisjoint: "ST_Disjoint",
    ast.GeometryContains: "ST_Contains",
    ast.GeometryWithin: "ST_Within",
    ast.GeometryTouches: "ST_Touches",
    ast.GeometryCrosses: "ST_Crosses",
    ast.GeometryOverlaps: "ST_Overlaps",
    ast.GeometryEquals: "ST_Equals",
}
CASTS = {
    "string": "text",
    "integer": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "datetime": "timestamptz",
}


class CqlError(ValueError):
    """A filter we cannot accept; the message says why (the caller maps it to HTTP 400)."""


@dataclass(frozen=True)
class Queryable:
    """A field a filter may name: its SQL expression (layer identifiers only) and its type."""

    name: str
    sql: Fragment
    type: str


def typed_value(value: object, cast: str) -> Fragment:
    """A bound parameter with an explicit cast (`cast` from CASTS or a fixed type name)."""
    return compose.sql("{p}::{cast}", p=compose.value(value), cast=compose.raw(cast))


def _op(text: str) -> Fragment:
    return compose.raw(text)


class _Transformer(cql2_text.CQLTransformer):
    def SINGLE_QUOTED(self, token: str) -> str:
        return token[1:-1].replace("''", "'")


@cache
def _parser() -> Lark:
    """pygeofilter's CQL2-text grammar with two fixes: NOT over a parenthesised condition (CQL2
    allows `NOT (a OR b)`) and '' as an escaped quote inside strings."""
    folder = os.path.dirname(cql2_text.__file__)
    with open(os.path.join(folder, "grammar.lark"), encoding="utf-8") as f:
        grammar = f.read()
    grammar = grammar.replace('"NOT"i "(" predicate ")"', '"NOT"i "(" condition ")"')
    grammar = grammar.replace(
        """SINGLE_QUOTED: "'" /.*?/ "'\"""", """SINGLE_QUOTED: /'(?:[^']|'')*'/"""
    )
    return Lark(
        grammar,
        parser="lalr",
        maybe_placeholders=False,
        transformer=_Transformer(),
        import_paths=[os.path.dirname(folder)],
    )


def parse(text: str) -> ast.Node:
    """The AST of a CQL2 text filter (CqlError when it does not parse)."""
    if len(text) > MAX_FILTER_LENGTH:
        raise CqlError(f"filter is longer than {MAX_FILTER_LENGTH} characters")
    if not text.strip():
        raise CqlError("filter is empty")
    try:
        return _parser().parse(text)
    except LarkError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CqlError(f"invalid CQL2 text: {first}") from None
    except (ValueError, TypeError) as exc:
        raise CqlError(f"invalid CQL2 text: {exc}") from None


class _Compiler:
    """Walks the AST; one method per node family, each returning a fragment."""

    def __init__(self, queryables: Mapping[str, Queryable]) -> None:
        self.queryables = queryables

    def node(self, node: Any) -> Fragment:
        handler = self._handler(node)
        if handler is None:
            raise CqlError(f"unsupported filter construct: {type(node).__name__}")
        return handler(node)

    def _handler(self, node: Any) -> Callable[[Any], Fragment] | None:
        if isinstance(node, ast.And | ast.Or):
            return self.combination
        for cls, method in (
            (ast.Not, self.not_),
            (ast.Comparison, self.comparison),
            (ast.Between, self.between),
            (ast.Like, self.like),
            (ast.In, self.in_),
            (ast.IsNull, self.is_null),
            (ast.Include, self.include),
            (ast.SpatialComparisonPredicate, self.spatial),
            (ast.BBox, self.bbox_predicate),
        ):
            if isinstance(node, cls):
                return method
        if isinstance(node, ast.TemporalPredicate):
            raise CqlError("temporal operators (T_*) are not supported; compare with TIMESTAMP()")
        return None

    def combination(self, node: ast.Combination) -> Fragment:
        op = _op("AND" if isinstance(node, ast.And) else "OR")
        return compose.sql("({l} {op} {r})", l=self.node(node.lhs), op=op, r=self.node(node.rhs))

    def not_(self, node: ast.Not) -> Fragment:
        return compose.sql("(NOT {x})", x=self.node(node.sub_node))

    def include(self, node: ast.Include) -> Fragment:
        return compose.FALSE if node.not_ else compose.TRUE

    def field(self, node: Any) -> Queryable:
        if not isinstance(node, ast.Attribute):
            raise CqlError(
                f"expected a property name, got {node!r}: only property <op> value is supported"
            )
        found = self.queryables.get(node.name)
        if found is None:
            known = ", ".join(sorted(self.queryables))
            raise CqlError(f"unknown property {node.name!r}; queryables: {known}")
        return found

    def value(self, q: Queryable, raw: Any) -> Fragment:
        if q.type == GEOMETRY_TYPE:
            raise CqlError(f"{q.name!r} is the geometry: use a spatial operator (S_INTERSECTS)")
        return typed_value(_coerce(q, raw), CASTS[q.type])

    def comparison(self, node: ast.Comparison) -> Fragment:
        op = COMPARISONS[type(node)]
        lhs, rhs = node.lhs, node.rhs
        if not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute):
            lhs, rhs = rhs, lhs
            op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)
        q = self.field(lhs)
        return compose.sql("({c} {op} {v})", c=q.sql, op=_op(op), v=self.value(q, rhs))

    def between(self, node: ast.Between) -> Fragment:
        q = self.field(node.lhs)
        return compose.sql(
            "({c} {neg}BETWEEN {lo} AND {hi})",
            c=q.sql,
            neg=_op("NOT " if node.not_ else ""),
            lo=self.value(q, node.low),
            hi=self.value(q, node.high),
        )

    def like(self, node: ast.Like) -> Fragment:
        q = self.field(node.lhs)
        if q.type != "string":
            raise CqlError(f"LIKE needs a text property; {q.name!r} is {q.type}")
        if not isinstance(node.pattern, str):
            raise CqlError("LIKE needs a quoted pattern")
        if "\x00" in node.pattern:
            raise CqlError("text values may not contain NUL characters")
        return compose.sql(
            "({c} {neg}{op} {p})",
            c=q.sql,
            neg=_op("NOT " if node.not_ else ""),
            op=_op("ILIKE" if node.nocase else "LIKE"),
            p=typed_value(node.pattern, "text"),
        )

    def in_(self, node: ast.In) -> Fragment:
        q = self.field(node.lhs)
        if len(node.sub_nodes) > MAX_IN_VALUES:
            raise CqlError(f"IN takes at most {MAX_IN_VALUES} values")
        items = [_coerce(q, v) for v in node.sub_nodes]
        if q.type == GEOMETRY_TYPE:
            raise CqlError("IN does not apply to the geometry")
        return compose.sql(
            "({neg}({c} = ANY({p})))",
            neg=_op("NOT " if node.not_ else ""),
            c=q.sql,
            p=typed_value(items, CASTS[q.type] + "[]"),
        )

    def is_null(self, node: ast.IsNull) -> Fragment:
        q = self.field(node.lhs)
        return compose.sql("({c} IS {neg}NULL)", c=q.sql, neg=_op("NOT " if node.not_ else ""))

    def spatial(self, node: ast.SpatialComparisonPredicate) -> Fragment:
        fn = SPATIAL[type(node)]
        lhs, rhs = node.lhs, node.rhs
        swapped = not isinstance(lhs, ast.Attribute) and isinstance(rhs, ast.Attribute)
        if swapped:
            lhs, rhs = rhs, lhs
        q = self.field(lhs)
        if q.type != GEOMETRY_TYPE:
            raise CqlError(f"{fn} needs the geometry property, not {q.name!r}")
        literal = self.geometry(rhs)
        a, b = (literal, q.sql) if swapped else (q.sql, literal)
        return compose.sql("{fn}({a}, {b})", fn=_op(fn), a=a, b=b)

    def bbox_predicate(self, node: ast.BBox) -> Fragment:
        q = self.field(node.lhs)
        if q.type != GEOMETRY_TYPE:
            raise CqlError(f"BBOX needs the geometry property, not {q.name!r}")
        box = self.envelope([node.minx, node.miny, node.maxx, node.maxy])
        return compose.sql("ST_Intersects({c}, {box})", c=q.sql, box=box)

    def envelope(self, numbers: list[Any]) -> Fragment:
        if len(numbers) == 6:
            numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
        if len(numbers) != 4 or not all(_is_number(n) for n in numbers):
            raise CqlError("BBOX takes 4 (or 6) numbers: minx, miny, maxx, maxy")
        minx, miny, maxx, maxy = (float(n) for n in numbers)
        _check_lonlat(minx, miny)
        _check_lonlat(maxx, maxy)
        if minx > maxx or miny > maxy:
            raise CqlError("BBOX minimum is greater than its maximum")
        return envelope(minx, miny, maxx, maxy)

    def geometry(self, node: Any) -> Fragment:
        if isinstance(node, ast.Function) and node.name.lower() == "bbox":
            return self.envelope(list(node.arguments))
        if isinstance(node, values.Envelope | values.Geometry):
            try:
                geom = shapely.geometry.shape(node.__geo_interface__)
            except (ValueError, TypeError, AttributeError) as exc:
                raise CqlError(f"invalid geometry literal: {exc}") from None
            if geom.is_empty or not geom.is_valid:
                raise CqlError("invalid geometry literal (empty or self-intersecting)")
            minx, miny, maxx, maxy = geom.bounds
            _check_lonlat(minx, miny)
            _check_lonlat(maxx, maxy)
            return compose.sql("ST_GeomFromText({p}, 4326)", p=typed_value(geom.wkt, "text"))
        raise CqlError("spatial operators need a BBOX(...) or a WKT geometry literal")


def envelope(minx: float, miny: float, maxx: float, maxy: float) -> Fragment:
    """`ST_MakeEnvelope(…, 4326)` of four bound numbers."""
    return compose.sql(
        "ST_MakeEnvelope({a}, {b}, {c}, {d}, 4326)",
        **{
            k: typed_value(v, "double precision")
            for k, v in zip("abcd", (minx, miny, maxx, maxy), strict=True)
        },
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_lonlat(lon: float, lat: float) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise CqlError(f"coordinates out of range for EPSG:4326: {lon}, {lat}")


def _coerce(q: Queryable, raw: Any) -> object:
    """The Python value for a parameter of the queryable's type (CqlError when it does not fit)."""
    if isinstance(raw, ast.Node) and not isinstance(raw, ast.Attribute):
        raise CqlError("only plain values may be compared (no arithmetic or functions)")
    if isinstance(raw, ast.Attribute):
        raise CqlError("comparing two properties is not supported")
    kind = q.type
    if isinstance(raw, str) and "\x00" in raw:
        raise CqlError("text values may not contain NUL characters")
    if isinstance(raw, int) and not isinstance(raw, bool) and not INT64[0] <= raw <= INT64[1]:
        raise CqlError(f"{raw} is out of the 64-bit integer range")
    if kind == "string" and isinstance(raw, str):
        return raw
    if kind == "string" and isinstance(raw, date):
        return raw.isoformat()
    if kind == "integer" and _is_number(raw):
        if float(raw) != int(raw):
            raise CqlError(f"{q.name!r} is an integer; got {raw!r}")
        return int(raw)
    if kind == "number" and _is_number(raw):
        return float(raw)
    if kind == "boolean" and isinstance(raw, bool):
        return raw
    if kind == "datetime":
        return _instant(q, raw)
    raise CqlError(f"{q.name!r} is {kind}; cannot compare it with {raw!r}")


def _instant(q: Queryable, raw: Any) -> datetime:
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if isinstance(raw, date):
        return datetime.combine(raw, time(0), tzinfo=UTC)
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise CqlError(f"{q.name!r} is a timestamp; got {raw!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise CqlError(f"{q.name!r} is a timestamp; use TIMESTAMP('2026-05-01T00:00:00Z')")


def to_sql(text: str, queryables: Mapping[str, Queryable]) -> Fragment:
    """SQL condition for a CQL2 text filter, carrying its values."""
    tree = parse(text)
    try:
        return _Compiler(queryables).node(tree)
    except RecursionError:
        raise CqlError("filter is nested too deeply") from None

"""SQL composition: fragments carry their own parameters; the composer numbers the placeholders.

A `Fragment` is SQL text split into literal parts and `Param`s. Templates name their holes
`{name}` (Python format syntax, parsed once by `string.Formatter`; a literal brace is `{{`/`}}`)
and `sql(template, **pieces)` fills them with fragments, parameters, quoted identifiers or
literals, and shape constants (numbers). Nothing edits SQL text after it is built: placeholders
are numbered only when a fragment is compiled, `$1, $2, …` for asyncpg (one number per distinct
parameter key, so a key used twice is one parameter) or `%s` for psycopg (one per occurrence,
with literal `%` escaped), and the compiled text is cached by the caller per statement shape.

A parameter is either *bound* (its value travels with the fragment: `value(v)`) or a *slot*
(`param("z")`): a cached statement shape has slots, and each request passes their values by key
(`Compiled.args`), so a request pays no composition or compile cost.

Why not SQLAlchemy Core: djmap's statements are PostGIS-specific (`ST_AsMVT` over row
subqueries, grid clustering in CTEs, guarded CASE statements) that Core would hold as `text()` and
`literal_column()` anyway; this composer keeps the statements' text exactly as written in the
`.sql` files (same plans, byte-identical tiles), serves asyncpg and psycopg alike, and is small.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

_FORMATTER = string.Formatter()
_AUTO = itertools.count(1)
_PSYCOPG_ESCAPE = str.maketrans({"%": "%%"})


@dataclass(frozen=True)
class Param:
    """A value placeholder, named by `key` (one key is one parameter in a statement)."""

    key: str


@dataclass(frozen=True)
class Fragment:
    """SQL text as literal parts and parameters, with the values of its bound parameters."""

    parts: tuple[str | Param, ...] = ()
    bound: tuple[tuple[str, object], ...] = field(default=(), compare=False, hash=False)

    def __add__(self, other: Fragment) -> Fragment:
        return Fragment(_merge(self.parts + other.parts), self.bound + other.bound)

    @property
    def shape(self) -> tuple[str | Param, ...]:
        """The fragment without its values (hashable: a key for caches of compiled SQL)."""
        return self.parts

    @property
    def params(self) -> tuple[object, ...]:
        """Values of the bound parameters, in order of first appearance."""
        if not self.bound:
            return ()
        if len(self.bound) == 1:
            return (self.bound[0][1],)
        values = dict(self.bound)
        return tuple(values[k] for k in self.compile().keys if k in values)

    def is_text(self, text: str) -> bool:
        """True when the fragment is exactly `text` with no parameter."""
        return self.parts == ((text,) if text else ())

    def compile(self, start: int = 1, order: tuple[str, ...] = ()) -> Compiled:
        """The text with `$n` placeholders from `start` (asyncpg), and the key of each `$n`.

        Keys in `order` take the first numbers in that order (a statement whose callers pass
        positional arguments); the others are numbered by first appearance."""
        return _compile_dollar(self.parts, start, order)

    def compile_psycopg(self) -> Compiled:
        """The text with `%s` placeholders (one per occurrence) for psycopg, `%` escaped."""
        return _compile_psycopg(self.parts)

    def args(self, values: Mapping[str, object] | None = None, start: int = 1) -> list[object]:
        """The `$n` arguments: bound values, then `values` for the slots."""
        known = dict(self.bound)
        if values:
            known.update(values)
        return self.compile(start).args(known)


@dataclass(frozen=True)
class Compiled:
    """Compiled SQL and the parameter key of each placeholder, in order."""

    text: str
    keys: tuple[str, ...]

    def args(self, values: Mapping[str, object]) -> list[object]:
        """The positional arguments for `values` by key (KeyError names a missing one)."""
        return [values[k] for k in self.keys]


Piece = Fragment | Param | int | float
EMPTY = Fragment()
TRUE = Fragment(("TRUE",))
FALSE = Fragment(("FALSE",))


def _merge(parts: Iterable[str | Param]) -> tuple[str | Param, ...]:
    """Adjacent literal parts joined, empty ones dropped (equal SQL gives equal shapes)."""
    out: list[str | Param] = []
    for part in parts:
        if isinstance(part, str):
            if not part:
                continue
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + part
                continue
        out.append(part)
    return tuple(out)


@lru_cache(maxsize=1024)
def _parsed(template: str) -> tuple[tuple[str, str | None], ...]:
    return tuple((lit, name) for lit, name, _, _ in _FORMATTER.parse(template))


def _piece(name: str, piece: Piece) -> Fragment:
    if isinstance(piece, Fragment):
        return piece
    if isinstance(piece, Param):
        return Fragment((piece,))
    if isinstance(piece, bool) or not isinstance(piece, int | float):
        raise TypeError(f"{{{name}}}: a Fragment, Param or number, not {type(piece).__name__}")
    return Fragment((repr(piece),))


def sql(template: str, **pieces: Piece) -> Fragment:
    """A fragment from a template whose `{name}` holes are filled by `pieces`."""
    parts: list[str | Param] = []
    bound: list[tuple[str, object]] = []
    for lit, name in _parsed(template):
        parts.append(lit)
        if name is None:
            continue
        frag = _piece(name, pieces[name])
        parts.extend(frag.parts)
        bound.extend(frag.bound)
    return Fragment(_merge(parts), tuple(bound))


def sql_file(module_file: str, name: str) -> str:
    """The template in the `.sql` file `name` beside a module, without its `--` comment lines."""
    text = (Path(module_file).parent / name).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("--")]
    return "\n".join(lines).strip().rstrip(";")


def raw(text: str) -> Fragment:
    """Trusted SQL text (from the layer definitions, never from a request) with no parameter."""
    return Fragment((text,) if text else ())


def ident(name: str) -> Fragment:
    """A double-quoted SQL identifier."""
    return Fragment(('"' + '""'.join(name.split('"')) + '"',))


def literal(text: str) -> Fragment:
    """A single-quoted SQL string literal (for names from the layer definitions)."""
    return Fragment(("'" + "''".join(text.split("'")) + "'",))


def param(key: str) -> Fragment:
    """A slot: its value is passed by key when the compiled statement runs."""
    return Fragment((Param(key),))


def value(v: object, key: str | None = None) -> Fragment:
    """A bound parameter carrying its value (a fresh key unless one is given)."""
    k = key or f"_v{next(_AUTO)}"
    return Fragment((Param(k),), ((k, v),))


def join(sep: str, fragments: Iterable[Fragment]) -> Fragment:
    """The fragments separated by the literal `sep`."""
    out = EMPTY
    for i, frag in enumerate(fragments):
        out = out + (raw(sep) + frag if i else frag)
    return out


@lru_cache(maxsize=4096)
def _compile_dollar(parts: tuple[str | Param, ...], start: int, order: tuple[str, ...]) -> Compiled:
    present = {p.key for p in parts if isinstance(p, Param)}
    numbers: dict[str, int] = {}
    for key in order:
        if key in present:
            numbers.setdefault(key, start + len(numbers))
    text: list[str] = []
    for part in parts:
        if isinstance(part, str):
            text.append(part)
            continue
        n = numbers.setdefault(part.key, start + len(numbers))
        text.append(f"${n}")
    return Compiled("".join(text), tuple(numbers))


@lru_cache(maxsize=1024)
def _compile_psycopg(parts: tuple[str | Param, ...]) -> Compiled:
    text: list[str] = []
    keys: list[str] = []
    for part in parts:
        if isinstance(part, str):
            text.append(part.translate(_PSYCOPG_ESCAPE))
        else:
            text.append("%s")
            keys.append(part.key)
    return Compiled("".join(text), tuple(keys))

"""The layout rules of issue 10, checked on the source itself (no database, no server).

- No function longer than 60 lines and no module over 400 lines outside the tests and benches.
- A layer is known only in `layers/`: an id that names nothing but a layer (not a table, not an
  import kind) appears as a string literal nowhere else. Ids shared with a table or an import kind
  (`service_points`, `grids`, …) are the table's or the kind's name there, not the layer's.
- SQL placeholders are numbered by the composer, never rewritten with `str.replace`.
"""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Iterator
from pathlib import Path

from geo.ingest.spec import SPECS
from geo.models import Base
from layers import registry

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400
# The health scores' table was created as `org_health` by revision 0006 and renamed by 0011; the
# model records its created name so that 0006 keeps making what it made (tests/test_schema.py).
HISTORICAL = {
    ("org_health", "geo/migrations/versions/0006_health.py"),
    ("org_health", "geo/migrations/versions/0011_health_scores_name.py"),
    ("org_health", "geo/models/health.py"),
}
# Other vocabularies that share a word with a layer id: the derived build kind `accessibility`
# (the surface's build, GET /api/builds) and the deck's draw mode and collision group `labels`.
SHARED_WORDS = {
    ("accessibility", "api/models/builds.py"),
    ("accessibility", "tiles/accessibility_build.py"),
    ("labels", "web/decks.py"),
}


def _sources() -> Iterator[tuple[str, str]]:
    """Every tracked Python file outside the tests and the benches, with its text."""
    listed = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in listed:
        if not name.startswith(("tests/", "bench/")) and (ROOT / name).exists():
            yield name, (ROOT / name).read_text(encoding="utf-8")


def test_functions_and_modules_stay_short() -> None:
    too_long = []
    for name, text in _sources():
        lines = text.count("\n")
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{name}: module of {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}:{node.lineno} {node.name}() of {length} lines")
    assert not too_long, "\n".join(too_long)


def _layer_only_ids() -> set[str]:
    ids = {layer.id for layer in registry.layers()}
    return ids - set(Base.metadata.tables) - set(SPECS)


def test_a_layer_id_is_named_only_in_layers() -> None:
    only = _layer_only_ids()
    assert {"member_heat", "activity_heat"} <= only  # the check looks at something
    found = []
    for name, text in _sources():
        if name.startswith("layers/"):
            continue
        for node in ast.walk(ast.parse(text)):
            value = node.value if isinstance(node, ast.Constant) else None
            if (
                isinstance(value, str)
                and value in only
                and (value, name) not in HISTORICAL | SHARED_WORDS
            ):
                found.append(f"{name}:{node.lineno} {value!r}")
    assert not found, "layer ids outside layers/:\n" + "\n".join(found)


def _replaces_a_placeholder(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    if node.func.attr != "replace" or not node.args:
        return False
    first = node.args[0]
    return isinstance(first, ast.Constant) and str(first.value).startswith(("$", "%s"))


def test_no_placeholder_is_rewritten_by_string_replace() -> None:
    found = [
        f"{name}:{node.lineno}"
        for name, text in _sources()
        for node in ast.walk(ast.parse(text))
        if _replaces_a_placeholder(node)
    ]
    assert not found, "SQL placeholders rewritten with str.replace:\n" + "\n".join(found)

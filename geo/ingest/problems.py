"""Row-level problems found while validating, collected as masks so a million rows stay fast."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

Mask = npt.NDArray[np.bool_]
Message = str | Callable[[pd.Series], Sequence[str]]
Values = pd.Series | Callable[[npt.NDArray[np.int64]], pd.Series] | None


@dataclass
class _Entry:
    index: npt.NDArray[np.int64]
    code: str
    column: str | None
    messages: Sequence[str]
    values: Sequence[object]


@dataclass
class Problems:
    """Errors (the row is bad) and warnings (the row was fixed or is doubtful) per positional row."""

    n: int
    errors: list[_Entry] = field(default_factory=list)
    warnings: list[_Entry] = field(default_factory=list)
    file_warnings: list[dict[str, object]] = field(default_factory=list)
    _bad: Mask | None = None

    def __post_init__(self) -> None:
        self._bad = np.zeros(self.n, dtype=bool)

    def _entry(
        self, mask: Mask, code: str, message: Message, column: str | None, values: Values
    ) -> _Entry | None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return None
        index = np.flatnonzero(mask)
        if values is None:
            vals = pd.Series([None] * len(index))
        elif isinstance(values, pd.Series):
            vals = values.iloc[index]
        else:
            vals = values(index)
        msgs = [message] * len(index) if isinstance(message, str) else list(message(vals))
        return _Entry(index, code, column, msgs, vals.tolist())

    def error(
        self,
        mask: Mask,
        code: str,
        message: Message,
        column: str | None = None,
        values: Values = None,
        only_good: bool = False,
    ) -> None:
        """Mark the rows in `mask` bad with a reason code (only_good: skip rows already bad)."""
        assert self._bad is not None
        mask = np.asarray(mask, dtype=bool)
        if only_good:
            mask = mask & ~self._bad
        entry = self._entry(mask, code, message, column, values)
        if entry is not None:
            self.errors.append(entry)
            self._bad[entry.index] = True

    def warn(
        self,
        mask: Mask,
        code: str,
        message: Message,
        column: str | None = None,
        values: Values = None,
    ) -> None:
        """Note a warning on the rows in `mask` (the rows stay good)."""
        entry = self._entry(mask, code, message, column, values)
        if entry is not None:
            self.warnings.append(entry)

    def file_warning(self, code: str, message: str) -> None:
        """A warning about the whole file (e.g. an assumed CRS)."""
        self.file_warnings.append({"row": None, "line": None, "code": code, "message": message})

    @property
    def bad(self) -> Mask:
        """True for every row with at least one error."""
        assert self._bad is not None
        return self._bad

    @property
    def good(self) -> Mask:
        """True for every row without errors."""
        return ~self.bad


def to_float(col: pd.Series) -> pd.Series:
    """Numbers from text (NaN where missing or not a number); Arrow's cast first, it is fast."""
    if isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow":
        try:
            values = pc.cast(pa.array(col), pa.float64())
            return pd.Series(values.to_numpy(zero_copy_only=False), index=col.index)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            pass  # some value is not a plain number: the slower, forgiving path says which
    return pd.to_numeric(col, errors="coerce").astype("float64")


def records(
    entries: list[_Entry], row_numbers: npt.NDArray[np.int64], header_lines: int
) -> list[dict[str, object]]:
    """Report records sorted by row: row (1-based data row), line (file line/sheet row), reason."""
    out: list[dict[str, object]] = []
    for e in entries:
        for i, msg, value in zip(e.index.tolist(), e.messages, e.values, strict=True):
            row = int(row_numbers[i])
            rec: dict[str, object] = {
                "row": row,
                "line": row + header_lines if header_lines else None,
                "code": e.code,
                "column": e.column,
                "message": msg,
            }
            if value is not None and not (isinstance(value, float) and np.isnan(value)):
                rec["value"] = value if isinstance(value, int | float | bool) else str(value)
            out.append(rec)
    out.sort(key=lambda r: (r["row"], str(r["code"])))
    return out

"""The opt-in partitioned layout for the national tier (`djmap db partition`, docs/SCALE.md)."""

from __future__ import annotations

from geo.db.partition.convert import PartitionError, Report, convert, read_layout
from geo.db.partition.layout import TABLES, partitioned, set_partitioned

__all__ = [
    "TABLES",
    "PartitionError",
    "Report",
    "convert",
    "partitioned",
    "read_layout",
    "set_partitioned",
]

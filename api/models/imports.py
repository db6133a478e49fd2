"""Answers of the import screen's preview (`POST /api/imports/preview`, issue 11 §5)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ImportField(BaseModel):
    """A target field of the import kind and the file column the importer would read it from."""

    name: str = Field(description="the field, as `map` names it", examples=["parent_code"])
    required: bool = Field(description="a file without it is refused (missing_column)")
    label_zh: str = Field(examples=["上级"])
    label_en: str = Field(examples=["Parent code"])
    matched: str | None = Field(
        description="the column matched automatically (its Chinese or English aliases), or null",
        examples=["上级组织编码"],
    )


class ImportPreview(BaseModel):
    """The file's header, its first rows as text and the automatic column matching; nothing was
    checked, written or audited. Send the chosen matching back as `map` (target=column; an empty
    column leaves the target unmapped) with `dry_run=true` to check, then without to write."""

    kind: str = Field(examples=["organisations"])
    format: str = Field(examples=["csv"], description="csv, xlsx, geojson, gpkg or shp")
    columns: list[str] = Field(description="the file's column names, in order")
    rows: list[list[str]] = Field(
        description="the first 10 data rows, one string per column (empty: missing; a members "
        "file's home coordinates are masked)"
    )
    rows_total: int = Field(description="data rows in the file")
    geometry: bool = Field(description="the file carries geometries (GeoJSON, GPKG, Shapefile)")
    fields: list[ImportField]

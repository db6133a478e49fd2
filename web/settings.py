"""Settings of the pages (`DJMAP_` prefix): the optional online basemap and page defaults."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """How the pages look: offline basemap by default, an online raster basemap only when set
    (web/basemaps.py: which tiles, hosts and attribution each choice means)."""

    model_config = SettingsConfigDict(env_prefix="DJMAP_", extra="ignore")

    basemap: str | None = Field(
        default=None,
        pattern="^(none|osm|tianditu|gaode|custom)$",
        description="online raster basemap under our own: none (default: no request leaves the "
        "server), osm, tianditu (needs DJMAP_TIANDITU_KEY), gaode (GCJ-02 tiles), custom "
        "(DJMAP_BASEMAP_URL); unset = custom when DJMAP_BASEMAP_URL is set, else none",
    )
    tianditu_key: str = Field(default="", description="天地图 key (tk) of the tianditu basemap")
    basemap_url: str | None = Field(
        default=None,
        description="raster tile URL template ({z}/{x}/{y}, optional {s} and {key}) of the custom"
        " basemap, or a mirror of the osm or gaode tiles; unset = the provider's own",
    )
    basemap_subdomains: str = Field(
        default="", description="values of {s} in DJMAP_BASEMAP_URL, e.g. abc or 1234"
    )
    basemap_key: str = Field(default="", description="key substituted for {key} in the template")
    basemap_crs: str = Field(
        default="wgs84",
        pattern="^(wgs84|gcj02)$",
        description="datum of custom basemap tiles: gcj02 for Amap-style tiles (shifted to fit)",
    )
    basemap_attribution: str = Field(
        default="", description="attribution shown on the map (replaces the provider's)"
    )
    basemap_review_no: str = Field(
        default="",
        description="审图号 shown with tianditu or gaode tiles (tianditu has a default)",
    )
    public_tiles_base: str | None = Field(
        default=None,
        description="URL of the folder `djmap tiles publish` fills (index.json + PMTiles archives):"
        " anonymous pages read public layers from it, not from /api/tiles",
    )
    coverage_radius_m: float = Field(
        default=1000.0, gt=0, description="straight-line reach of the 15-minute circle on `/`"
    )

    @model_validator(mode="after")
    def _basemap_complete(self) -> WebSettings:
        """A chosen basemap has what it needs (refused at start, never a broken page)."""
        chosen = self.basemap_choice()
        if chosen == "tianditu" and not self.tianditu_key:
            raise ValueError("DJMAP_BASEMAP=tianditu needs DJMAP_TIANDITU_KEY")
        if chosen == "tianditu" and self.basemap_url:
            raise ValueError("DJMAP_BASEMAP_URL is for custom, osm or gaode tiles, not tianditu")
        if chosen == "custom" and not self.basemap_url:
            raise ValueError("DJMAP_BASEMAP=custom needs DJMAP_BASEMAP_URL")
        return self

    def basemap_choice(self) -> str:
        """The online basemap in force: none unless one is set."""
        if self.basemap is None:
            return "custom" if self.basemap_url else "none"
        return self.basemap

    def basemap_template(self) -> str | None:
        """The custom or mirror URL with the key filled in, or None."""
        if not self.basemap_url:
            return None
        return self.basemap_url.replace("{key}", self.basemap_key)

"""Settings of the pages (`DJMAP_` prefix): the optional online basemap and page defaults."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    """How the pages look: offline basemap by default, an online raster basemap only when set."""

    model_config = SettingsConfigDict(env_prefix="DJMAP_", extra="ignore")

    basemap_url: str | None = Field(
        default=None,
        description="raster tile URL template ({z}/{x}/{y}, optional {key}); unset = offline basemap",
    )
    basemap_key: str = Field(default="", description="key substituted for {key} in the template")
    basemap_crs: str = Field(
        default="wgs84",
        pattern="^(wgs84|gcj02)$",
        description="datum of the basemap tiles: gcj02 for Amap (our features are shifted to it)",
    )
    basemap_attribution: str = Field(default="", description="attribution shown on the map")
    public_tiles_base: str | None = Field(
        default=None,
        description="URL of the folder `djmap tiles publish` fills (index.json + PMTiles archives):"
        " anonymous pages read public layers from it, not from /api/tiles",
    )
    coverage_radius_m: float = Field(
        default=1000.0, gt=0, description="straight-line reach of the 15-minute circle on `/`"
    )

    def basemap_template(self) -> str | None:
        """The basemap URL with the key filled in, or None when offline."""
        if not self.basemap_url:
            return None
        return self.basemap_url.replace("{key}", self.basemap_key)

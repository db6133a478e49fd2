"""Documents of the OGC API Features endpoints: landing page, conformance, collections, links."""

from __future__ import annotations

from typing import Any

from api.models.ogc import Collection, Conformance, Extent, Landing
from layers.catalog import Layer

GEOJSON = "application/geo+json"
JSON = "application/json"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    # Part 4 (writes: api/routers/features_write.py)
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
)


def link(href: str, rel: str, type_: str = JSON, title: str | None = None) -> dict[str, str]:
    """One OGC link object."""
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def landing(base: str) -> Landing:
    """The landing page at /api."""
    api = f"{base}/api"
    return Landing.model_validate(
        {
            "title": "djmap 党建地图",
            "description": "Party organisations, service points and activities as OGC API Features.",
            "links": [
                link(api, "self", title="this document"),
                link(
                    f"{api}/openapi.json",
                    "service-desc",
                    "application/vnd.oai.openapi+json;version=3.0",
                    "OpenAPI definition",
                ),
                link(f"{api}/docs", "service-doc", "text/html", "API documentation"),
                link(f"{api}/conformance", "conformance", title="conformance classes"),
                link(f"{api}/collections", "data", title="feature collections"),
            ],
        }
    )


def conformance() -> Conformance:
    """The conformance classes."""
    return Conformance(conformsTo=list(CONFORMANCE))


def collection_doc(layer: Layer, base: str, extent: dict[str, Any] | None) -> Collection:
    """The description of one collection."""
    url = f"{base}/api/collections/{layer.id}"
    doc: dict[str, Any] = {
        "id": layer.id,
        "title": layer.title_zh,
        "description": f"{layer.title_en}. {layer.description}".strip(),
        "itemType": "feature",
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "links": [
            link(url, "self"),
            link(f"{url}/items", "items", GEOJSON, "features"),
            link(
                f"{url}/queryables",
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "application/schema+json",
                "queryables",
            ),
        ],
    }
    if extent:  # absent (not null) when the caller sees no rows
        doc["extent"] = Extent.model_validate(extent)
    return Collection.model_validate(doc)

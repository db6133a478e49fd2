"""The schema of djmap: SQLAlchemy / GeoAlchemy2 models, the one definition of every table.

Alembic's revisions create their tables from this metadata (geo/migrations); what a model cannot
say (functions, triggers) lives beside them in geo/migrations/sql/. tests/test_schema.py checks
that a migrated database matches these models.

- `party`: organisation types, organisations, members, service points, activities, check-ins.
- `places`: districts, buildings, roads, panoramas.
- `live`: registrations, the audit of writes, the event stream, webhooks and deliveries.
- `system`: users, embed keys, the import audit, data versions and the derived tile tables.
"""

from __future__ import annotations

from geo.models.base import Base
from geo.models.live import AuditEntry, Event, Registration, Webhook, WebhookDelivery
from geo.models.party import Activity, Checkin, Member, Organisation, OrgType, ServicePoint
from geo.models.places import Building, District, Panorama, Road
from geo.models.system import (
    DataVersion,
    EmbedKey,
    HeatCell,
    HeatState,
    ImportRun,
    TileAgg,
    TileAggCount,
    TileAggState,
    TileMvt,
    User,
)

# Tables whose writes bump `data_versions` (caches of tiles and layers key on it).
VERSIONED_TABLES = (
    "organisations",
    "members",
    "service_points",
    "activities",
    "checkins",
    "buildings",
    "roads",
    "panoramas",
    "districts",
)
# Versioned tables added after revision 0001 (each revision adds its own triggers and rows).
LIVE_VERSIONED_TABLES = ("registrations",)

__all__ = [
    "LIVE_VERSIONED_TABLES",
    "VERSIONED_TABLES",
    "Activity",
    "AuditEntry",
    "Base",
    "Building",
    "Checkin",
    "DataVersion",
    "District",
    "EmbedKey",
    "Event",
    "HeatCell",
    "HeatState",
    "ImportRun",
    "Member",
    "OrgType",
    "Organisation",
    "Panorama",
    "Registration",
    "Road",
    "ServicePoint",
    "TileAgg",
    "TileAggCount",
    "TileAggState",
    "TileMvt",
    "User",
    "Webhook",
    "WebhookDelivery",
]

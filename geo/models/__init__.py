"""The schema of djmap: SQLAlchemy / GeoAlchemy2 models, the one definition of every table.

Alembic's revisions create their tables from this metadata (geo/migrations); what a model cannot
say (functions, triggers) lives beside them in geo/migrations/sql/. tests/test_schema.py checks
that a migrated database matches these models.

- `party`: organisation types, organisations, members, service points, activities, check-ins.
- `places`: districts, buildings, roads, panoramas.
- `live`: registrations, activities' invited organisations, the audit of writes, the event
  stream, webhooks and deliveries.
- `health`: organisation life (meetings, committee terms, dues per month), rule sets, the derived
  health scores and their monthly snapshots, reminders.
- `planning`: scenarios (issue 14) and the derived accessibility surface.
- `planning_places`: 党建网格 grids and saved red education routes (issue 14).
- `basemap`: land use areas of the offline basemap (issue 11).
- `system`: users, embed keys, the import audit, data versions and the derived tile tables.
"""

from __future__ import annotations

from geo.models.base import Base
from geo.models.basemap import Landuse
from geo.models.health import (
    CommitteeTerm,
    DuesMonth,
    HealthRuleSet,
    Meeting,
    OrgHealth,
    OrgHealthSnapshot,
    Reminder,
)
from geo.models.live import (
    ActivityInvitation,
    AuditEntry,
    Event,
    Registration,
    Webhook,
    WebhookDelivery,
)
from geo.models.party import Activity, Checkin, Member, Organisation, OrgType, ServicePoint
from geo.models.places import Building, District, Panorama, Road
from geo.models.planning import AccessibilityCell, Scenario
from geo.models.planning_places import Grid, GridCoverage, RedRoute
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
# Versioned tables of organisation life and health (revision 0006; the scores' table renamed by
# 0011): the evidence, the rules and the derived scores (whose version is the health layer's).
HEALTH_VERSIONED_TABLES = (
    "meetings",
    "committee_terms",
    "dues_months",
    "health_rule_sets",
    "org_health_scores",
)
# Versioned tables of planning (revision 0007): the derived accessibility surface (its layer's
# version moves when a build is written).
PLANNING_VERSIONED_TABLES = ("accessibility_cells",)
# Versioned planning places (revision 0008): grids, their coverage and saved red routes.
PLACES_VERSIONED_TABLES = ("grids", "grid_coverage", "red_routes")
# Versioned basemap places (revision 0009): land use areas.
BASEMAP_VERSIONED_TABLES = ("landuse",)
# Versioned tables of invitations (revision 0012): the activities layer reads them.
INVITATION_VERSIONED_TABLES = ("activity_invitations",)

__all__ = [
    "BASEMAP_VERSIONED_TABLES",
    "HEALTH_VERSIONED_TABLES",
    "INVITATION_VERSIONED_TABLES",
    "LIVE_VERSIONED_TABLES",
    "PLACES_VERSIONED_TABLES",
    "PLANNING_VERSIONED_TABLES",
    "VERSIONED_TABLES",
    "AccessibilityCell",
    "Activity",
    "ActivityInvitation",
    "AuditEntry",
    "Base",
    "Building",
    "Checkin",
    "CommitteeTerm",
    "DataVersion",
    "District",
    "DuesMonth",
    "EmbedKey",
    "Event",
    "Grid",
    "GridCoverage",
    "HealthRuleSet",
    "HeatCell",
    "HeatState",
    "ImportRun",
    "Landuse",
    "Meeting",
    "Member",
    "OrgHealth",
    "OrgHealthSnapshot",
    "OrgType",
    "Organisation",
    "Panorama",
    "RedRoute",
    "Registration",
    "Reminder",
    "Road",
    "Scenario",
    "ServicePoint",
    "TileAgg",
    "TileAggCount",
    "TileAggState",
    "TileMvt",
    "User",
    "Webhook",
    "WebhookDelivery",
]

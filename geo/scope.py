"""Who is asking: the principal every query is scoped by (roles per DESIGN.md; filled in by auth)."""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("public", "member", "leader", "planner", "steward", "admin")
# What each role may see of the map layers (the catalog lists fields per audience).
AUDIENCE_OF_ROLE = {
    "public": "public",
    "member": "member",
    "leader": "leader",
    "planner": "planner",
    "steward": "leader",
    "admin": "admin",
}


@dataclass(frozen=True)
class Principal:
    """The caller: a role scoped to an organisation subtree (None = the whole district)."""

    role: str = "public"
    org_id: int | None = None
    member_id: int | None = None
    username: str | None = None

    @property
    def audience(self) -> str:
        """The layer audience this role reads as."""
        return AUDIENCE_OF_ROLE.get(self.role, "public")

    @property
    def is_admin(self) -> bool:
        """Only admins may ever receive member points."""
        return self.role == "admin"


PUBLIC = Principal()

"""Bodies and answers of the admin API (`/api/admin/…`): users and roles, embed keys, screen keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["member", "leader", "planner", "steward", "admin"]
Code = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]
Origin = Annotated[str, Field(min_length=1, max_length=300, pattern=r"^[^\x00]*$")]
Origins = Annotated[list[Origin], Field(min_length=1, max_length=50)]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00]*\S[^\x00]*$")]


class AdminUser(BaseModel):
    """A user as the admin screen lists it (never a password or its hash)."""

    username: str = Field(examples=["zhang_wei"])
    role: str = Field(examples=["leader"])
    org: str | None = Field(description="code of the scope's organisation; null: the district")
    member: str | None = Field(description="external id of the member record linked")
    active: bool = Field(description="false: disabled, its tokens refused at once")
    created_at: datetime
    last_login_at: datetime | None


class UserList(BaseModel):
    """Every user, by name."""

    users: list[AdminUser]


class NewUserIn(BaseModel):
    """A user to add."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64, pattern=r"^\S+$", examples=["zhang_wei"])
    password: str = Field(min_length=8, max_length=200, pattern=r"^[^\x00]*$")
    role: Role
    org: Code | None = Field(None, description="organisation code of the scope (null: district)")
    member: Code | None = Field(None, description="member external id (needed for role member)")


class UserPatch(BaseModel):
    """What to change of a user: fields left out stay; `org` or `member` null clears them."""

    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    org: Code | None = Field(None, description="organisation code of the scope (null: district)")
    member: Code | None = Field(None, description="member external id (null: none)")
    active: bool | None = Field(None, description="false disables the user")


class PasswordReset(BaseModel):
    """A new password, shown once: it is stored only as its hash and never logged."""

    username: str
    password: str = Field(description="the new password: hand it over, it is not shown again")


class EmbedKeyOut(BaseModel):
    """An embed key (shown in full: the portal publishes it in its iframe `src`)."""

    id: int
    key: str
    name: str
    allowed_origins: list[str] = Field(examples=[["https://portal.example.cn"]])
    active: bool
    created_at: datetime


class EmbedKeyList(BaseModel):
    """Every embed key, oldest first."""

    keys: list[EmbedKeyOut]


class NewEmbedKey(BaseModel):
    """An embed key to create: a name and the origins that may frame the map."""

    model_config = ConfigDict(extra="forbid")
    name: Name = Field(examples=["区政府门户"])
    origins: Origins = Field(description="scheme://host[:port] each")


class EmbedKeyPatch(BaseModel):
    """Enable or disable (revoke) an embed key, or replace its origins."""

    model_config = ConfigDict(extra="forbid")
    active: bool | None = None
    origins: Origins | None = Field(None, description="scheme://host[:port] each")


class ScreenKeyOut(BaseModel):
    """A screen key: `key` is masked except in the answer that creates it."""

    id: int
    key: str = Field(description="the full key only when just created; else its first 4 chars + …")
    name: str
    org: str | None = Field(description="code of the organisation it reads as; null: district")
    org_name: str | None
    active: bool
    created_at: datetime


class ScreenKeyList(BaseModel):
    """Every screen key, oldest first (keys masked)."""

    keys: list[ScreenKeyOut]


class NewScreenKey(BaseModel):
    """A screen key to create: the screen's name and the organisation whose subtree it shows."""

    model_config = ConfigDict(extra="forbid")
    name: Name = Field(examples=["大厅大屏"])
    org: Code | None = Field(None, description="organisation code (null: the district)")

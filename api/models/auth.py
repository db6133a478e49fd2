"""Login answers: the bearer token and who the caller is."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Token(BaseModel):
    """A bearer token for the Authorization header."""

    access_token: str = Field(description="JWT (HS256); send as `Authorization: Bearer …`")
    token_type: str = Field(default="bearer", examples=["bearer"])
    expires_in: int = Field(description="seconds until the token expires", examples=[43200])
    username: str
    role: str = Field(examples=["leader"])


class Me(BaseModel):
    """Who the caller is and what it may see."""

    username: str | None = Field(description="null for anonymous callers")
    role: str = Field(examples=["public"])
    audience: str = Field(description="catalog audience the caller reads layers as")
    org_id: int | None = Field(description="root of the caller's organisation subtree")
    member_id: int | None

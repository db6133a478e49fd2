"""Pydantic models of the HTTP contract: what each route answers and the one error shape.

By area: `errors` (Problem and the `errors(...)` helper), `media` (content types), `ogc`, `tiles`,
`analysis`, `auth`, `data` (panoramas, imports, health). The core (geo/, tiles/, layers/) returns
plain dicts and dataclasses; routers validate them into these models.
"""

"""Who may see which event of the live stream: the one rule, used for the stream, its resumes and
its JSON page alike.

An event names the least-trusted role that may see it (`audience`, geo.vocab.ROLES order) and the
organisation whose subtree may see it (`org_id`). The organisation narrows events above the
public audience only: a public event (an activity, a layer's new version) is public, whoever
organised it.
- admin, and roles bound to no organisation (district-wide), see every event of their audience;
- leader, planner and steward bound to an organisation see an event of an organisation in their
  subtree (their root is in the chain above the event's organisation); and an activity's
  `checkin.created` (its count, never a member) also when the activity invites an organisation
  of their subtree (their root is one it is open to or above one: `reach`), but then only on the
  multiples of K (`shared_reach`): they do not organise it, and a count told one check-in at a
  time would tell each person (the big screen's rule, geo/screen/read.py). Its
  `registration.changed` is public (counts under the privacy rule);
- a member sees an event of their branch or of an organisation above it (the ones that invite
  the branch), as geo/scope.py's row rule for members; and an event about an activity that
  their audience allows (`activity.*`, `registration.changed`; `checkin.created` is the leaders')
  only when they may attend it (geo.scope.attendable): the activity is open to their branch or an
  organisation above it (geo.scope.open_to, read with the event). Each may attend the same way: a member of
  the organiser's tree and one of an invited organisation's are told alike, and a member is not
  offered, live, what they could not register for;
- the public sees public events only, every public activity's among them (not a member: no rule
  of attending applies).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from geo.privacy import at_least
from geo.scope import Principal, member_chain
from geo.vocab import ROLES

RANK = {role: i for i, role in enumerate(ROLES)}


@dataclass(frozen=True)
class Viewer:
    """A caller of the stream, reduced to what the rule needs."""

    rank: int = 0
    whole: bool = False  # sees the events of every organisation within its audience
    root: int | None = None  # an org-bound role's subtree root
    chain: frozenset[int] = frozenset()  # a member's branch and the organisations above it
    member: bool = False  # a member: told of the activities they may attend only

    def sees(
        self,
        audience: str,
        org_id: int | None,
        chain: Sequence[int] | None,
        open_to: Sequence[int] | None = None,
        reach: Sequence[int] | None = None,
    ) -> bool:
        """True when this viewer may see an event of `audience` and `org_id`; `chain` is the
        event organisation's chain up to the root (itself first); `open_to` the organisations
        the event's activity is open to (None: the event is about no activity); `reach` the
        organisations whose leaders are told it besides the chain's (`shared_reach`)."""
        if self.rank < RANK.get(audience, len(ROLES)):
            return False
        if self.member and open_to is not None:
            return not self.chain.isdisjoint(open_to)  # attendable: the arrays overlap
        if org_id is None or audience == "public" or self.whole:
            return True
        if self.root is not None:
            return self.root in (chain or ()) or self.root in (reach or ())
        return org_id in self.chain


def shared_reach(kind: str, data: Any, reach: Sequence[int] | None) -> tuple[int, ...] | None:
    """The organisations (an activity's invited ones and those above them: events_read.sql) whose
    leaders are told a check-in's count besides the organiser's chain: only a count on a
    multiple of K (geo.privacy `at_least` gives it unchanged), so watching it grow tells no one
    person; None otherwise."""
    if reach is None or kind != "checkin.created" or not isinstance(data, dict):
        return None
    count = data.get("count")
    if not isinstance(count, int) or count <= 0 or at_least(count) != count:
        return None
    return tuple(reach)


EVERYONE = Viewer(rank=len(ROLES) - 1, whole=True)  # the webhooks' dispatcher (admin's view)


async def viewer_for(conn: asyncpg.Connection | asyncpg.Pool, principal: Principal) -> Viewer:
    """The viewer of a caller (a member's chain is read once, at connect)."""
    rank = RANK.get(principal.role, 0)
    if principal.role == "public":
        return Viewer()
    if principal.role == "member":
        chain: frozenset[int] = frozenset()
        if principal.member_id is not None:
            stmt = member_chain(principal.member_id)
            rows = await conn.fetch(stmt.compile().text, *stmt.args())
            chain = frozenset(int(r[0]) for r in rows)
        return Viewer(rank=rank, chain=chain, member=True)
    if principal.role == "admin" or principal.org_id is None:
        return Viewer(rank=rank, whole=True)
    return Viewer(rank=rank, root=principal.org_id)

"""The soak's ledger (``bench/soak.py``): every write the workload sent, and its judgement of
the store read at the end.

A write sets one register: a user's existence, displayName or active, a group's existence or
displayName, a user's membership of a group. The ledger keeps when each write was sent and,
if a 2xx said so, when it was acknowledged; a write without an answer (connection lost,
timeout, 5xx) has an unknown outcome: it may or may not have landed. At the end a register may
hold only the value of a write that no acknowledged write overtook (acknowledged before that
one was sent). Anything else is a lost write: an acknowledged write absent, or overwritten by
an older one. This is pure code: ``tests/e2e/test_soak.py`` checks it without servers.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

EXPECTED_REFUSALS = (400, 404)  # ... of a request naming a resource whose deletion was sent

Register = tuple[str, ...]
Value = str | bool | None


@dataclass
class Write:
    """One write of one register, as the client saw it."""

    register: Register
    value: Value
    sent: float = 0.0
    answered: float | None = None  # a 2xx was read at this time
    refused: bool = False  # a 4xx: not applied


def possible(initial: Value, writes: Iterable[Write]) -> set[Value]:
    """The values a register may hold after ``writes``, some with an unknown outcome.

    The value of any write not refused and not overtaken (acknowledged before an
    acknowledged write was sent); the initial value only if no write was acknowledged.
    """
    writes = list(writes)
    acknowledged = [w for w in writes if w.answered is not None]
    values = set() if acknowledged else {initial}
    for write in writes:
        if write.refused:
            continue
        overtaken = write.answered is not None and any(
            write.answered < later.sent for later in acknowledged if later is not write
        )
        if not overtaken:
            values.add(write.value)
    return values


class Picker:
    """A set to draw random members from in O(1)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.index: dict[str, int] = {}

    def add(self, item: str) -> None:
        if item not in self.index:
            self.index[item] = len(self.items)
            self.items.append(item)

    def discard(self, item: str) -> None:
        position = self.index.pop(item, None)
        if position is None:
            return
        last = self.items.pop()
        if position < len(self.items):
            self.items[position] = last
            self.index[last] = position

    def pick(self, chance: random.Random) -> str | None:
        return chance.choice(self.items) if self.items else None

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class Ledger:
    """Every write of the run, and what the workload may still touch."""

    writes: dict[Register, list[Write]] = field(default_factory=dict)
    user_names: dict[str, str] = field(default_factory=dict)  # id -> userName
    live_users: Picker = field(default_factory=Picker)  # created (acknowledged), not deleted
    live_groups: Picker = field(default_factory=Picker)
    added: dict[str, set[str]] = field(default_factory=dict)  # group -> users ever added
    deleted: dict[str, float] = field(default_factory=dict)  # id -> when its delete was sent
    unknown_users: dict[str, tuple[str, bool]] = field(default_factory=dict)  # by userName
    unknown_groups: set[str] = field(default_factory=set)  # by displayName
    acknowledged: int = 0  # write operations answered 2xx
    unknown: int = 0  # ... not answered (or 5xx)
    refused: int = 0  # ... answered 4xx

    def add(self, write: Write) -> None:
        self.writes.setdefault(write.register, []).append(write)

    def settle(self, writes: Iterable[Write], outcome: str, at: float) -> None:
        for write in writes:
            if outcome == "ok":
                write.answered = at
            elif outcome == "refused":
                write.refused = True

    def count(self, outcome: str, operations: int = 1) -> None:
        if outcome == "ok":
            self.acknowledged += operations
        elif outcome == "refused":
            self.refused += operations
        elif outcome == "unknown":
            self.unknown += operations
        else:
            raise ValueError(outcome)

    def created_user(
        self, id: str, name: str, display: str, active: bool, sent: float, answered: float
    ) -> None:
        for register, value in ((("user", id), True), (("displayName", id), display)):
            self.add(Write(register, value, sent, answered))
        self.add(Write(("active", id), active, sent, answered))
        self.user_names[id] = name
        self.live_users.add(id)

    def created_group(
        self, id: str, name: str, members: Iterable[str], sent: float, answered: float
    ) -> None:
        self.add(Write(("group", id), True, sent, answered))
        self.add(Write(("groupName", id), name, sent, answered))
        for member in members:
            self.add(Write(("member", id, member), True, sent, answered))
            self.added.setdefault(id, set()).add(member)
        self.live_groups.add(id)

    def deleting(self, id: str, at: float) -> None:
        """The workload touches a resource no more once its deletion is sent."""
        self.live_users.discard(id)
        self.live_groups.discard(id)
        self.deleted.setdefault(id, at)

    def expected_refusal(self, status: int, targets: Iterable[str], at: float) -> bool:
        return status in EXPECTED_REFUSALS and any(
            self.deleted.get(target, at + 1) <= at for target in targets
        )


@dataclass
class Verdict:
    lost: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    unknown_landed: int = 0


def check(ledger: Ledger, users: dict[str, Any], groups: dict[str, Any]) -> Verdict:
    """Compare the store as read at the end with every write of the ledger."""
    verdict = Verdict()

    def expect(register: Register, shown: Value, initial: Value, extra: list[Write]) -> None:
        writes = ledger.writes.get(register, []) + extra
        allowed = possible(initial, writes)
        if shown not in allowed:
            acked = [w for w in writes if w.answered is not None]
            last = max(acked, key=lambda w: w.answered or 0.0) if acked else None
            verdict.lost.append(
                f"{'/'.join(register)}: store has {shown!r}, acknowledged writes allow "
                f"{sorted(map(repr, allowed))}; last acknowledged {last}"
            )

    user_ids = {register[1] for register in ledger.writes if register[0] == "user"}
    for id in sorted(user_ids):
        stored = users.get(id)
        expect(("user", id), stored is not None, False, [])
        if stored is not None:
            expect(("displayName", id), stored.get("displayName"), None, [])
            expect(("active", id), stored.get("active"), None, [])
    for id, stored in users.items():
        if id in user_ids:
            continue
        sent = ledger.unknown_users.get(stored["userName"])
        if sent is None or sent != (stored.get("displayName"), stored.get("active")):
            verdict.unexplained.append(f"user {id} {stored['userName']!r}: {sent=}")
        else:
            verdict.unknown_landed += 1

    group_ids = {register[1] for register in ledger.writes if register[0] == "group"}
    for id in sorted(group_ids):
        stored = groups.get(id)
        expect(("group", id), stored is not None, False, [])
        if stored is None:
            continue
        expect(("groupName", id), stored.get("displayName"), None, [])
        members = {member["value"] for member in stored.get("members", [])}
        written = {r[2] for r in ledger.writes if r[0] == "member" and r[1] == id}
        for member in sorted(members | written):
            # Deleting a user takes it out of every group.
            removals = [w for w in ledger.writes.get(("user", member), []) if w.value is False]
            expect(("member", id, member), member in members, False, removals)
    for id, stored in groups.items():
        if id in group_ids:
            continue
        if stored.get("displayName") in ledger.unknown_groups:
            verdict.unknown_landed += 1
        else:
            verdict.unexplained.append(f"group {id} {stored.get('displayName')!r}")
    return verdict

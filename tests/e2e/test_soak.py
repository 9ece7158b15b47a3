"""A short soak (``bench/soak.py``, the code ``make soak`` runs for ten minutes a backend).

About half a minute of steady mixed SCIM load per backend on live ``scimd serve`` processes,
with faults: a server killed (SIGKILL) and restarted on SQLite; on PostgreSQL, two server
processes, one stopped gracefully (SIGTERM) and restarted, then the database stopped as by a
crash and restarted. Not one acknowledged write may be lost, every error must fall in a fault
window, and ``scimd db check`` must pass.
"""

from __future__ import annotations

import os

import pytest

from bench import soak_faults
from bench.soak import Options, soak
from bench.soak_ledger import Ledger, Value, Write, check, possible


@pytest.mark.parametrize(
    ("backend", "kinds", "duration"),
    [
        ("sqlite", ("server-kill",), 20.0),
        pytest.param("postgresql", ("server-term", "db-crash"), 30.0, marks=pytest.mark.postgres),
    ],
)
def test_a_short_soak_loses_no_write_and_errs_only_in_fault_windows(
    backend: str, kinds: tuple[str, ...], duration: float
) -> None:
    if backend == "postgresql" and soak_faults.postgres_bin() is None:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("REQUIRE_POSTGRES=1 but no PostgreSQL binaries to restart")
        pytest.skip("no PostgreSQL binaries under /usr/lib/postgresql")
    options = Options(duration=duration, fault_every=9.0, faults=kinds, rate=20.0)

    report = soak(backend, options)

    assert [fault["kind"] for fault in report.faults] == list(kinds)
    assert report.lost_writes == 0, report.lost
    assert report.errors_outside_windows == 0, report.errors_outside
    assert report.unexplained == 0, report.unexplained_detail
    assert report.db_check_status == 0, report.db_check
    assert report.not_sent == 0
    # The load did run, and wrote: most requests succeeded (a restart takes seconds).
    assert report.requests >= duration * options.rate * 0.95
    assert report.ok >= report.requests * 0.6, report
    assert report.writes_acknowledged >= report.requests * 0.3, report


# --- the ledger's judgement, without servers ------------------------------------------------


def _write(value: Value, sent: float, answered: float | None) -> Write:
    return Write(("displayName", "u1"), value, sent, answered)


def test_a_value_overwritten_by_an_older_acknowledged_write_is_a_lost_write() -> None:
    ledger = Ledger()
    ledger.created_user("u1", "ann@example.com", "A", True, 0.0, 1.0)
    ledger.add(_write("B", 2.0, 3.0))
    ledger.add(_write("C", 4.0, 5.0))

    assert check(ledger, {"u1": {"displayName": "C", "active": True}}, {}).lost == []
    lost = check(ledger, {"u1": {"displayName": "B", "active": True}}, {}).lost
    assert len(lost) == 1 and lost[0].startswith("displayName/u1: store has 'B'")


def test_a_write_without_an_answer_may_or_may_not_have_landed() -> None:
    acknowledged, cut_off = _write("B", 2.0, 3.0), _write("C", 4.0, None)
    assert possible("A", [acknowledged, cut_off]) == {"B", "C"}
    # Overlapping acknowledged writes may land in either order.
    assert possible("A", [_write("B", 2.0, 5.0), _write("C", 3.0, 4.0)]) == {"B", "C"}
    refused = _write("D", 6.0, None)
    refused.refused = True
    assert possible("A", [refused]) == {"A"}


def test_an_acknowledged_delete_or_create_that_is_not_in_the_store_is_lost() -> None:
    ledger = Ledger()
    ledger.created_user("u1", "ann@example.com", "A", True, 0.0, 1.0)
    ledger.created_user("u2", "bob@example.com", "B", True, 0.0, 1.0)
    ledger.add(Write(("user", "u2"), False, 2.0, 3.0))
    users = {"u2": {"userName": "bob@example.com", "displayName": "B", "active": True}}

    lost = check(ledger, users, {}).lost

    assert [line.split(":")[0] for line in lost] == ["user/u1", "user/u2"]


def test_a_member_added_then_its_user_deleted_is_no_member() -> None:
    ledger = Ledger()
    ledger.created_user("u1", "ann@example.com", "A", True, 0.0, 1.0)
    ledger.created_group("g1", "G", ["u1"], 0.0, 1.0)
    ledger.add(Write(("user", "u1"), False, 2.0, 3.0))
    group = {"displayName": "G", "members": [{"value": "u1"}]}

    lost = check(ledger, {}, {"g1": group}).lost

    assert [line.split(":")[0] for line in lost] == ["member/g1/u1"]
    assert check(ledger, {}, {"g1": {"displayName": "G"}}).lost == []

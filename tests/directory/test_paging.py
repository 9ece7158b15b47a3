"""directory.paging: totals without a count query where the page shows them, exact otherwise."""

from __future__ import annotations

from sqlalchemy import event

from directory import tables, users
from directory.paging import PageRequest


def _counts(engine, work):
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with engine.begin() as conn:
            result = work(conn)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return result, sum("count(*)" in statement.lower() for statement in seen)


def test_short_first_page_needs_no_count_and_full_or_far_pages_do(engine, tenant):
    with engine.begin() as conn:
        for i in range(5):
            users.create_user(conn, tenant.id, {"userName": f"p{i}"})
    cases = [
        (PageRequest(limit=10), 5, 0),  # short first page: the rows are the total
        (PageRequest(offset=3, limit=10), 5, 0),  # short page from an offset
        (PageRequest(limit=5), 5, 1),  # a full page: more may follow
        (PageRequest(offset=50, limit=10), 5, 1),  # past the end: nothing to infer from
        (PageRequest(where=tables.User.user_name_key == "nobody", limit=10), 0, 0),
    ]
    for request, total, counts in cases:
        (found, _), queried = _counts(
            engine, lambda c, request=request: users.query_users(c, tenant.id, request)
        )
        assert (found.total, queried) == (total, counts), request

"""Monthly partitions of analytics_learningevent (docs/decisions/0004-event-store.md).

Partitions are created ahead of time by a beat job and, for months that job did not foresee (imports of old data,
clock-skewed clients), on demand before a batch is written. Retention drops whole months.
"""

from collections.abc import Iterable
from datetime import date

from django.db import connection, transaction
from psycopg import sql

PARENT = "analytics_learningevent"
_known: set[date] = set()


def month_start(moment: date) -> date:
    return date(moment.year, moment.month, 1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"{PARENT}_y{month.year:04d}m{month.month:02d}"


def existing_months() -> set[date]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [PARENT],
        )
        names = [row[0] for row in cursor.fetchall()]
    return {date(int(name[-7:-3]), int(name[-2:]), 1) for name in names}


def partitions_ensure(months: Iterable[date]) -> None:
    """Create the monthly partitions that hold `months` (first days of months) if they do not exist yet.

    Runs in its own transaction, before the caller's: creating a partition briefly locks the parent table, which
    must not be held for the length of an ingestion transaction.
    """
    wanted = {month_start(m) for m in months} - _known
    if not wanted:
        return
    _known.update(existing_months())
    missing = sorted(wanted - _known)
    if not missing:
        return
    with transaction.atomic(), connection.cursor() as cursor:
        # Serialise creators across processes; the second one finds the partition there.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [PARENT])
        for month in missing:
            cursor.execute(
                sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                    sql.Identifier(partition_name(month)),
                    sql.Identifier(PARENT),
                    sql.Literal(f"{month.isoformat()} 00:00:00+00"),
                    sql.Literal(f"{next_month(month).isoformat()} 00:00:00+00"),
                )
            )
    _known.update(missing)


def partitions_drop_before(month: date) -> list[str]:
    """Drop every partition wholly before `month` (retention); returns the dropped table names."""
    dropped = []
    for existing in sorted(existing_months()):
        if existing < month_start(month):
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(partition_name(existing))))
            dropped.append(partition_name(existing))
            _known.discard(existing)
    return dropped


def forget_known_partitions() -> None:
    """For tests that drop and recreate the database under a running process."""
    _known.clear()

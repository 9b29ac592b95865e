"""Counters for the admins' numbers, so that the digest and /thongke cost the same at
5 million citizens as at 5: per commune and group, per campaign year, what the digest
shows (tables tally_*, storage.models).

They are kept by database triggers, in the transaction of every change that affects them,
whichever code makes it (a registration, a submission, a change of group or commune, a
recognition, a return, a paper form, a deletion, a family and its members): nothing can
write the facts and forget the counters. Each trigger takes the old row's contribution
away and adds the new row's, with upserts (INSERT ... ON CONFLICT DO UPDATE) that read the
same on SQLite and PostgreSQL; only the wrapping differs (a trigger body on SQLite, a
PL/pgSQL function on PostgreSQL). A row deleted with its parent (a person's
self-assessments, family memberships and family) is deleted by the parent's trigger first,
while the parent is still there to say where it was counted.

`rebuild()` (`cdht stats rebuild`) counts everything again from the facts; `recount()`
gives those counts without writing, for tests that compare.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, func, select, text
from sqlalchemy.engine import Connection

from flows.digest import OFFICIALS_GROUP, Counts, Summary
from flows.places import Area
from storage.db import in_area
from storage.models import (
    TallyAssessments,
    TallyFamilies,
    TallyFamilyYears,
    TallyNew,
    TallyPeople,
)

TABLES = ("tally_people", "tally_new", "tally_assessments", "tally_families", "tally_family_years")


# --- SQL shared by the triggers and the recount ----------------------------------------


def _day(dialect: str, column: str) -> str:
    """The Vietnamese day (UTC+7, no summer time) of a UTC timestamp, as YYYYMMDD."""
    if dialect == "postgresql":
        return (
            f"CAST(to_char(({column} AT TIME ZONE 'UTC') + interval '7 hours', 'YYYYMMDD') "
            "AS integer)"
        )
    return f"CAST(strftime('%Y%m%d', {column}, '+7 hours') AS integer)"


def _greatest(dialect: str, a: str, b: str) -> str:
    return f"GREATEST({a}, {b})" if dialect == "postgresql" else f"max({a}, {b})"


def _if(condition: str, sign: str = "1") -> str:
    return f"CASE WHEN {condition} THEN {sign} ELSE 0 END"


def _titled(a: str) -> str:
    """A self-assessment whose person holds or reached the title (families count them)."""
    return f"({a}.recognised_at IS NOT NULL OR ({a}.status = 'submitted' AND {a}.title_reached))"


def _upsert(
    table: str, keys: dict[str, str], values: dict[str, str], rest: str = "WHERE true"
) -> str:
    """INSERT ... SELECT <keys>, <values> <rest> ON CONFLICT (keys) DO UPDATE adding the
    values to what is there. `rest` holds FROM/WHERE/GROUP BY (a WHERE is needed: SQLite
    would read ON CONFLICT as a join's ON otherwise)."""
    columns = [*keys, *values]
    select_ = ", ".join([*keys.values(), *values.values()])
    adds = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in values)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select_} {rest} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {adds}"
    )


def _person(dialect: str, row: str, sign: str) -> list[str]:
    """A person counted (sign 1) or not any more (-1) where `row` says."""
    area = {
        "province_code": f"{row}.province_code",
        "commune_code": f"{row}.commune_code",
        "group_code": f"{row}.group_code",
    }
    return [
        _upsert(
            "tally_people",
            area,
            {"people": sign, "paper": _if(f"{row}.entered_at IS NOT NULL", sign)},
        ),
        _upsert(
            "tally_new",
            {"reg_day": _day(dialect, f"{row}.registered_at"), **area},
            {"people": sign},
        ),
    ]


def _assessment_values(a: str, sign: str, aggregate: bool) -> dict[str, str]:
    def n(condition: str | None) -> str:
        one = sign if condition is None else _if(condition, sign)
        return f"sum({one})" if aggregate else one

    submitted = f"{a}.status = 'submitted'"
    return {
        "assessments": n(None),
        "in_progress": n(f"{a}.status = 'in_progress'"),
        "submitted": n(submitted),
        "reached": n(f"{submitted} AND {a}.title_reached"),
        "recognised": n(f"{submitted} AND {a}.recognised_at IS NOT NULL"),
    }


def _assessment(row: str, sign: str) -> list[str]:
    """A self-assessment counted or not any more: under its person's commune, and for the
    families its person is an adult member of, if it holds the title."""
    return [
        _upsert(
            "tally_assessments",
            {
                "campaign_year": f"{row}.campaign_year",
                "province_code": "p.province_code",
                "commune_code": "p.commune_code",
                "group_code": f"{row}.group_code",
                "person_group": "p.group_code",
            },
            _assessment_values(row, sign, aggregate=False),
            f"FROM people p WHERE p.id = {row}.person_id",
        ),
        _upsert(
            "tally_family_years",
            {
                "year": f"{row}.campaign_year",
                "province_code": "f.province_code",
                "commune_code": "f.commune_code",
            },
            {"in_progress": "0", "submitted": "0", "reached": "0", "titled": f"{sign} * count(*)"},
            f"FROM family_members m JOIN families f ON f.id = m.family_id WHERE m.person_id = "
            f"{row}.person_id AND m.adult AND {_titled(row)} "
            "GROUP BY f.province_code, f.commune_code",
        ),
    ]


def _person_moves(row: str, sign: str) -> list[str]:
    """A person's self-assessments counted or not any more under `row`'s commune and group
    (the person moved, or changed group)."""
    return [
        _upsert(
            "tally_assessments",
            {
                "campaign_year": "a.campaign_year",
                "province_code": f"{row}.province_code",
                "commune_code": f"{row}.commune_code",
                "group_code": "a.group_code",
                "person_group": f"{row}.group_code",
            },
            _assessment_values("a", sign, aggregate=True),
            f"FROM assessments a WHERE a.person_id = {row}.id "
            "GROUP BY a.campaign_year, a.group_code",
        )
    ]


def _family(dialect: str, row: str, sign: str) -> list[str]:
    return [
        _upsert(
            "tally_families",
            {"province_code": f"{row}.province_code", "commune_code": f"{row}.commune_code"},
            {
                "families": sign,
                "adults": f"{sign} * {_greatest(dialect, f'{row}.adults', f'{row}.adult_members')}",
            },
        )
    ]


def _family_moves(row: str, sign: str) -> list[str]:
    """A family's self-assessments and its titled adult members counted or not any more
    under `row`'s commune (the family moved with its head)."""
    area = {"province_code": f"{row}.province_code", "commune_code": f"{row}.commune_code"}
    return [
        _upsert(
            "tally_family_years",
            {"year": "fa.year", **area},
            {
                "in_progress": "sum(" + _if("fa.status = 'in_progress'", sign) + ")",
                "submitted": "sum(" + _if("fa.status = 'submitted'", sign) + ")",
                "reached": "sum(" + _if("fa.status = 'submitted' AND fa.reached", sign) + ")",
                "titled": "0",
            },
            f"FROM family_assessments fa WHERE fa.family_id = {row}.id GROUP BY fa.year",
        ),
        _upsert(
            "tally_family_years",
            {"year": "a.campaign_year", **area},
            {"in_progress": "0", "submitted": "0", "reached": "0", "titled": f"{sign} * count(*)"},
            f"FROM family_members m JOIN assessments a ON a.person_id = m.person_id "
            f"WHERE m.family_id = {row}.id AND m.adult AND {_titled('a')} "
            "GROUP BY a.campaign_year",
        ),
    ]


def _family_assessment(row: str, sign: str) -> list[str]:
    return [
        _upsert(
            "tally_family_years",
            {
                "year": f"{row}.year",
                "province_code": "f.province_code",
                "commune_code": "f.commune_code",
            },
            {
                "in_progress": _if(f"{row}.status = 'in_progress'", sign),
                "submitted": _if(f"{row}.status = 'submitted'", sign),
                "reached": _if(f"{row}.status = 'submitted' AND {row}.reached", sign),
                "titled": "0",
            },
            f"FROM families f WHERE f.id = {row}.family_id",
        )
    ]


def _member(row: str, sign: str) -> list[str]:
    return [
        _upsert(
            "tally_family_years",
            {
                "year": "a.campaign_year",
                "province_code": "f.province_code",
                "commune_code": "f.commune_code",
            },
            {"in_progress": "0", "submitted": "0", "reached": "0", "titled": f"{sign} * count(*)"},
            f"FROM assessments a JOIN families f ON f.id = {row}.family_id "
            f"WHERE a.person_id = {row}.person_id AND {row}.adult AND {_titled('a')} "
            "GROUP BY a.campaign_year, f.province_code, f.commune_code",
        )
    ]


@dataclass(frozen=True)
class _Trigger:
    table: str
    timing: str  # AFTER | BEFORE
    event: str  # INSERT | UPDATE | DELETE
    statements: tuple[str, ...]
    columns: tuple[str, ...] = ()  # UPDATE OF these, when one of them changed

    @property
    def name(self) -> str:
        return f"tally_{self.table}_{self.timing[0].lower()}{self.event[0].lower()}"

    @property
    def rows(self) -> tuple[str, ...]:
        return {"INSERT": ("NEW",), "UPDATE": ("OLD", "NEW"), "DELETE": ("OLD",)}[self.event]


# PostgreSQL runs transactions side by side: a trigger that reads another table (where a
# person lives, which families they are an adult member of, a family's commune) first
# locks the rows it reads by, so that a change to those rows (a move, a member joining)
# waits for it, or it for them, and each sees the other's outcome. (SQLite writes one
# transaction at a time.)
_LOCKS = {
    "assessments": (
        "PERFORM 1 FROM people WHERE id = {row}.person_id FOR SHARE",
        "PERFORM 1 FROM families f JOIN family_members m ON m.family_id = f.id "
        "WHERE m.person_id = {row}.person_id FOR SHARE OF f",
    ),
    "family_assessments": ("PERFORM 1 FROM families WHERE id = {row}.family_id FOR SHARE",),
    "family_members": (
        "PERFORM 1 FROM families WHERE id = {row}.family_id FOR SHARE",
        "PERFORM 1 FROM people WHERE id = {row}.person_id FOR NO KEY UPDATE",
    ),
}


def _triggers(dialect: str) -> list[_Trigger]:
    Rows = Callable[[str, str], list[str]]

    def pair(
        table: str, columns: tuple[str, ...], counted: Rows, moves: Rows | None = None
    ) -> list[_Trigger]:
        """The INSERT and UPDATE triggers of a table whose rows are `counted(row, sign)`
        (and whose dependants are `moves(row, sign)` when one changes)."""

        def both(row: str, sign: str) -> list[str]:
            return [*counted(row, sign), *(moves(row, sign) if moves else [])]

        return [
            _Trigger(table, "AFTER", "INSERT", tuple(counted("NEW", "1"))),
            _Trigger(table, "AFTER", "UPDATE", (*both("OLD", "-1"), *both("NEW", "1")), columns),
        ]

    def person(row: str, sign: str) -> list[str]:
        return _person(dialect, row, sign)

    def family(row: str, sign: str) -> list[str]:
        return _family(dialect, row, sign)

    return [
        *pair(
            "people",
            ("province_code", "commune_code", "group_code", "entered_at", "registered_at"),
            person,
            _person_moves,
        ),
        _Trigger(
            "people",
            "BEFORE",
            "DELETE",
            (
                "DELETE FROM assessments WHERE person_id = OLD.id",
                "DELETE FROM family_members WHERE person_id = OLD.id",
                "DELETE FROM families WHERE head_id = OLD.id",
                *person("OLD", "-1"),
            ),
        ),
        *pair(
            "assessments",
            (
                "status",
                "group_code",
                "title_reached",
                "recognised_at",
                "person_id",
                "campaign_year",
            ),
            _assessment,
        ),
        _Trigger("assessments", "AFTER", "DELETE", tuple(_assessment("OLD", "-1"))),
        *pair(
            "families",
            ("province_code", "commune_code", "adults", "adult_members"),
            family,
            _family_moves,
        ),
        _Trigger(
            "families",
            "BEFORE",
            "DELETE",
            (
                "DELETE FROM family_members WHERE family_id = OLD.id",
                "DELETE FROM family_assessments WHERE family_id = OLD.id",
                *family("OLD", "-1"),
            ),
        ),
        *pair("family_assessments", ("status", "reached", "year", "family_id"), _family_assessment),
        _Trigger("family_assessments", "AFTER", "DELETE", tuple(_family_assessment("OLD", "-1"))),
        *pair("family_members", ("adult", "family_id", "person_id"), _member),
        _Trigger("family_members", "AFTER", "DELETE", tuple(_member("OLD", "-1"))),
    ]


def _changed(dialect: str, columns: Iterable[str]) -> str:
    differs = "IS DISTINCT FROM" if dialect == "postgresql" else "IS NOT"
    return " OR ".join(f"OLD.{c} {differs} NEW.{c}" for c in columns)


def trigger_ddl(dialect: str) -> list[str]:
    """The statements that create the counting triggers on this dialect."""
    out = []
    for t in _triggers(dialect):
        on = f"UPDATE OF {', '.join(t.columns)}" if t.event == "UPDATE" else t.event
        when = _changed(dialect, t.columns) if t.event == "UPDATE" else None
        if dialect == "postgresql":
            done = "RETURN OLD;" if t.timing == "BEFORE" else "RETURN NULL;"
            locks = [lock.format(row=row) for row in t.rows for lock in _LOCKS.get(t.table, ())]
            body = "".join(f"{s};\n" for s in (*locks, *t.statements))
            out.append(
                f"CREATE OR REPLACE FUNCTION {t.name}() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$\nBEGIN\n{body}{done}\nEND\n$$"
            )
            out.append(
                f"CREATE TRIGGER {t.name} {t.timing} {on} ON {t.table} FOR EACH ROW "
                + (f"WHEN ({when}) " if when else "")
                + f"EXECUTE FUNCTION {t.name}()"
            )
        else:
            body = "".join(f"{s};\n" for s in t.statements)
            out.append(
                f"CREATE TRIGGER {t.name} {t.timing} {on} ON {t.table} FOR EACH ROW "
                + (f"WHEN {when} " if when else "")
                + f"BEGIN\n{body}END"
            )
    return out


def drop_triggers_ddl(dialect: str) -> list[str]:
    out = []
    for t in _triggers(dialect):
        out.append(
            f"DROP TRIGGER IF EXISTS {t.name}"
            + (f" ON {t.table}" if dialect == "postgresql" else "")
        )
        if dialect == "postgresql":
            out.append(f"DROP FUNCTION IF EXISTS {t.name}()")
    return out


# --- counting again from the facts -----------------------------------------------------


def _recount_sql(dialect: str) -> dict[str, str]:
    """Per table, a SELECT of its rows counted from the facts (the tables' column order)."""
    paper = _if("p.entered_at IS NOT NULL")
    a = _assessment_values("a", "1", aggregate=True)
    return {
        "tally_people": (
            f"SELECT p.province_code, p.commune_code, p.group_code, count(*), sum({paper}) "
            "FROM people p GROUP BY p.province_code, p.commune_code, p.group_code"
        ),
        "tally_new": (
            f"SELECT {_day(dialect, 'p.registered_at')} AS d, p.province_code, p.commune_code, "
            "p.group_code, count(*) FROM people p "
            "GROUP BY d, p.province_code, p.commune_code, p.group_code"
        ),
        "tally_assessments": (
            "SELECT a.campaign_year, p.province_code, p.commune_code, a.group_code, "
            f"p.group_code, {', '.join(a.values())} FROM assessments a "
            "JOIN people p ON p.id = a.person_id GROUP BY a.campaign_year, p.province_code, "
            "p.commune_code, a.group_code, p.group_code"
        ),
        "tally_families": (
            "SELECT f.province_code, f.commune_code, count(*), "
            f"sum({_greatest(dialect, 'f.adults', 'f.adult_members')}) FROM families f "
            "GROUP BY f.province_code, f.commune_code"
        ),
        "tally_family_years": (
            "SELECT y, pc, cc, sum(ip), sum(sb), sum(rc), sum(tt) FROM ("
            "SELECT fa.year AS y, f.province_code AS pc, f.commune_code AS cc, "
            + _if("fa.status = 'in_progress'")
            + " AS ip, "
            + _if("fa.status = 'submitted'")
            + " AS sb, "
            + _if("fa.status = 'submitted' AND fa.reached")
            + " AS rc, 0 AS tt "
            "FROM family_assessments fa JOIN families f ON f.id = fa.family_id "
            "UNION ALL SELECT a.campaign_year, f.province_code, f.commune_code, 0, 0, 0, 1 "
            "FROM family_members m JOIN families f ON f.id = m.family_id "
            f"JOIN assessments a ON a.person_id = m.person_id WHERE m.adult AND {_titled('a')}"
            ") x GROUP BY y, pc, cc"
        ),
    }


def _columns(table: str) -> list[str]:
    model = {
        "tally_people": TallyPeople,
        "tally_new": TallyNew,
        "tally_assessments": TallyAssessments,
        "tally_families": TallyFamilies,
        "tally_family_years": TallyFamilyYears,
    }[table]
    return [c.name for c in model.__table__.columns]


def rebuild(conn: Connection) -> dict[str, int]:
    """Count everything again from the facts (in one transaction); rows per table. On
    PostgreSQL the counters are locked first: changes made meanwhile wait (their triggers
    add to the counters once this is committed), none is lost or counted twice."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"LOCK TABLE {', '.join(TABLES)} IN EXCLUSIVE MODE"))
    written = {}
    for table, query in _recount_sql(conn.dialect.name).items():
        conn.execute(text(f"DELETE FROM {table}"))
        columns = ", ".join(_columns(table))
        written[table] = conn.execute(text(f"INSERT INTO {table} ({columns}) {query}")).rowcount
    return written


def recount(conn: Connection) -> dict[str, set[tuple[Any, ...]]]:
    """What `rebuild` would write, without writing: rows counted from the facts (rows of
    nothing but zeros left out)."""
    return {
        table: {_row(r) for r in conn.execute(text(query)) if any(r[-_values(table) :])}
        for table, query in _recount_sql(conn.dialect.name).items()
    }


def counters(conn: Connection) -> dict[str, set[tuple[Any, ...]]]:
    """The counters as they stand (rows of nothing but zeros left out)."""
    return {
        table: {
            _row(r)
            for r in conn.execute(text(f"SELECT {', '.join(_columns(table))} FROM {table}"))
            if any(r[-_values(table) :])
        }
        for table in TABLES
    }


def _values(table: str) -> int:
    keys = {"tally_people": 3, "tally_new": 4, "tally_assessments": 5}.get(table, 3)
    return len(_columns(table)) - keys


def _row(row: Any) -> tuple[Any, ...]:
    return tuple(v if isinstance(v, str) else int(v) for v in row)


# --- what the digest reads -------------------------------------------------------------


def lines(conn: Connection, area: Area, year: int, since: date, until: date) -> list[Any]:
    """Per commune and group (province, commune, group, then seven numbers): registered,
    new on the days [since, until), and the `year` self-assessments in progress,
    submitted, reached, recognised; and on paper. Read from the counters: the people,
    joined by primary key to the self-assessments answered under their own group and to
    the new people of those days. A self-assessment answered under another group than the
    person's own (few) counts its person under that group: a second, small query."""
    p, a, n = TallyPeople, TallyAssessments, TallyNew
    new = (
        select(
            n.province_code,
            n.commune_code,
            n.group_code,
            func.sum(n.people).label("people"),
        )
        .where(
            n.reg_day >= int(since.strftime("%Y%m%d")),
            n.reg_day < int(until.strftime("%Y%m%d")),
            *in_area(area, n.province_code, n.commune_code),
        )
        .group_by(n.province_code, n.commune_code, n.group_code)
        .subquery()
    )
    rows = conn.execute(
        select(
            p.province_code,
            p.commune_code,
            p.group_code,
            p.people,
            func.coalesce(new.c.people, 0),
            func.coalesce(a.in_progress, 0),
            func.coalesce(a.submitted, 0),
            func.coalesce(a.reached, 0),
            func.coalesce(a.recognised, 0),
            p.paper,
        )
        .select_from(p)
        .outerjoin(
            a,
            and_(
                a.campaign_year == year,
                a.province_code == p.province_code,
                a.commune_code == p.commune_code,
                a.group_code == p.group_code,
                a.person_group == p.group_code,
            ),
        )
        .outerjoin(
            new,
            and_(
                new.c.province_code == p.province_code,
                new.c.commune_code == p.commune_code,
                new.c.group_code == p.group_code,
            ),
        )
        .where(*in_area(area, p.province_code, p.commune_code))
        .order_by(p.province_code, p.commune_code, p.group_code)
    ).all()
    moved = conn.execute(
        select(
            a.province_code,
            a.commune_code,
            a.group_code,
            a.person_group,
            a.assessments,
            a.in_progress,
            a.submitted,
            a.reached,
            a.recognised,
        ).where(
            a.campaign_year == year,
            a.group_code != a.person_group,
            *in_area(area, a.province_code, a.commune_code),
        )
    ).all()
    if not moved:
        return [row for row in rows if any(row[3:])]
    counted = {(r[0], r[1], r[2]): list(r[3:]) for r in rows}
    for province, commune, group, own, assessments, *standing in moved:
        here = counted.setdefault((province, commune, group), [0] * 7)
        here[0] += assessments
        for k, value in enumerate(standing, start=2):
            here[k] += value
        counted.setdefault((province, commune, own), [0] * 7)[0] -= assessments
    return [(*key, *numbers) for key, numbers in counted.items() if any(numbers)]


def summary(conn: Connection, area: Area, year: int, since: date, until: date) -> Summary:
    """What `lines` says, summed per commune (with its officials apart) and per group by
    the database: the digest's words and chart need no more (a few thousand rows for the
    whole country instead of ten thousand lines, and no adding up here)."""
    p, a, n = TallyPeople, TallyAssessments, TallyNew
    officials = p.group_code == OFFICIALS_GROUP

    def commune_rows(query: Any) -> dict[tuple[int, int], Any]:
        return {(r[0], r[1]): r[2:] for r in conn.execute(query)}

    def group_rows(query: Any) -> dict[str, Any]:
        return {r[0]: r[1:] for r in conn.execute(query)}

    def sums(*columns: Any, where: Any = None) -> list[Any]:
        return [
            func.coalesce(func.sum(c) if where is None else func.sum(c).filter(where), 0)
            for c in columns
        ]

    people_area = in_area(area, p.province_code, p.commune_code)
    done_area = (a.campaign_year == year, *in_area(area, a.province_code, a.commune_code))
    days = (
        n.reg_day >= int(since.strftime("%Y%m%d")),
        n.reg_day < int(until.strftime("%Y%m%d")),
        *in_area(area, n.province_code, n.commune_code),
    )
    standing = (a.in_progress, a.submitted, a.reached, a.recognised)
    by_commune = (p.province_code, p.commune_code)
    people = commune_rows(
        select(*by_commune, *sums(p.people, p.paper), *sums(p.people, p.paper, where=officials))
        .where(*people_area)
        .group_by(*by_commune)
    )
    done = commune_rows(
        select(
            a.province_code,
            a.commune_code,
            *sums(*standing),
            *sums(*standing, where=a.group_code == OFFICIALS_GROUP),
        )
        .where(*done_area)
        .group_by(a.province_code, a.commune_code)
    )
    new = commune_rows(
        select(
            n.province_code,
            n.commune_code,
            *sums(n.people),
            *sums(n.people, where=n.group_code == OFFICIALS_GROUP),
        )
        .where(*days)
        .group_by(n.province_code, n.commune_code)
    )
    communes: dict[int, Counts] = {}
    provinces: dict[int, int] = {}
    officials_of: dict[int, list[int]] = {}
    for key in people.keys() | done.keys() | new.keys():
        registered, paper, of_registered, of_paper = people.get(key, (0,) * 4)
        ip, sub, rch, rec, of_ip, of_sub, of_rch, of_rec = done.get(key, (0,) * 8)
        fresh, of_fresh = new.get(key, (0,) * 2)
        counts = Counts(registered, fresh, ip, sub, rch, rec, paper)
        if any(counts):
            communes[key[1]] = counts
            provinces[key[1]] = key[0]
        officials_of[key[1]] = [of_registered, of_fresh, of_ip, of_sub, of_rch, of_rec, of_paper]
    groups_people = group_rows(
        select(p.group_code, *sums(p.people, p.paper)).where(*people_area).group_by(p.group_code)
    )
    groups_done = group_rows(
        select(a.group_code, *sums(*standing)).where(*done_area).group_by(a.group_code)
    )
    groups_new = group_rows(
        select(n.group_code, *sums(n.people)).where(*days).group_by(n.group_code)
    )
    groups_of: dict[str, list[int]] = {}
    for group in groups_people.keys() | groups_done.keys() | groups_new.keys():
        registered, paper = groups_people.get(group, (0, 0))
        groups_of[group] = [
            registered,
            *groups_new.get(group, (0,)),
            *groups_done.get(group, (0, 0, 0, 0)),
            paper,
        ]
    # Self-assessments answered under another group than the person's own: the person
    # counts under that group (few; the commune's total is the same).
    for commune, group, own, moved in conn.execute(
        select(a.commune_code, a.group_code, a.person_group, func.sum(a.assessments))
        .where(*done_area, a.group_code != a.person_group)
        .group_by(a.commune_code, a.group_code, a.person_group)
    ):
        groups_of.setdefault(group, [0] * 7)[0] += moved
        groups_of.setdefault(own, [0] * 7)[0] -= moved
        if OFFICIALS_GROUP in (group, own):
            sign = 1 if group == OFFICIALS_GROUP else -1
            officials_of.setdefault(commune, [0] * 7)[0] += sign * moved
    return Summary(
        communes,
        {g: Counts(*v) for g, v in sorted(groups_of.items()) if any(v)},
        provinces,
        {c: Counts(*v) for c, v in officials_of.items() if any(v)},
    )


def families(conn: Connection, area: Area, year: int) -> Sequence[Any]:
    """Per commune (province, commune, then as flows.digest.FamilyLine): families, the
    year's self-assessments in progress, submitted and reached, adults, titled adults."""
    f, y = TallyFamilies, TallyFamilyYears
    return conn.execute(
        select(
            f.province_code,
            f.commune_code,
            f.families,
            func.coalesce(y.in_progress, 0).label("in_progress"),
            func.coalesce(y.submitted, 0).label("submitted"),
            func.coalesce(y.reached, 0).label("reached"),
            f.adults,
            func.coalesce(y.titled, 0).label("titled"),
        )
        .select_from(f)
        .outerjoin(
            y,
            and_(
                y.year == year,
                y.province_code == f.province_code,
                y.commune_code == f.commune_code,
            ),
        )
        .where(f.families > 0, *in_area(area, f.province_code, f.commune_code))
        .order_by(f.province_code, f.commune_code)
    ).all()

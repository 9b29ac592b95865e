"""Paper forms entered by commune staff (flows.paper reads and checks them): people who
have no phone are written as any other person, marked with when and by whom they were
entered, with their self-assessment when the form has the answers.

A form matches a person already in the commune with the same name (any case or accents)
and year of birth, and the same phone when both have one: importing a file twice adds
nobody twice. A match entered from paper is updated; one who registered themselves in
chat, or took their paper form over there, is left as they keep it. Writes go in
batches (COPY on PostgreSQL, executemany on SQLite), so ten thousand rows take seconds.

Plain functions of a Connection, run in a transaction by storage.db.Database.run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, insert, select, update
from sqlalchemy.engine import Connection

from flows.criteria import CriteriaSet
from flows.model import AssessmentView, PaperMatch
from flows.paper import PaperForm
from flows.places import Area
from flows.scoring import AreaFlags, ScoreResult, score
from flows.text import fold
from storage.models import Answer, Assessment, ChannelAccount, CommuneFlag, Person
from storage.scores import result_json
from storage.views import profile_of


@dataclass(frozen=True)
class Imported:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    own: int = 0  # registered themselves in chat: not changed


def _scored(form: PaperForm, criteria: CriteriaSet, flags: AreaFlags) -> ScoreResult | None:
    return score(criteria, form.group, form.answers, flags) if form.answers else None


def import_forms(
    conn: Connection,
    forms: Sequence[PaperForm],
    commune: Area,
    year: int,
    criteria: CriteriaSet,
    entered_by: int | None,
    now: datetime,
) -> Imported:
    """Write the forms of one commune for the campaign `year`; `entered_by`: the staff
    member's chat account (None: the command line)."""
    assert commune.commune is not None and commune.province is not None
    difficult = conn.execute(
        select(CommuneFlag.difficult).where(CommuneFlag.commune_code == commune.commune)
    ).scalar_one_or_none()
    flags = AreaFlags(difficult=bool(difficult))
    known: dict[tuple[str, int], list[Any]] = {}
    for row in conn.execute(
        select(
            Person.id,
            Person.entered_at,
            exists().where(ChannelAccount.person_id == Person.id).label("claimed"),
            *_PERSON,
        )
        .where(Person.commune_code == commune.commune)
        .order_by(Person.id)
    ):
        known.setdefault((fold(row.full_name), row.birth_year), []).append(row)
    new: list[PaperForm] = []
    matched: list[tuple[PaperForm, Any]] = []
    own = 0
    taken: set[int] = set()  # each person matches one form of a file at most
    for form in forms:
        same = [p for p in known.get((fold(form.name), form.birth_year), []) if p.id not in taken]
        match = _match(form, same)
        if match is not None:
            taken.add(match.id)
        if match is None:
            new.append(form)
        elif match.entered_at is None or match.claimed:
            own += 1  # their own registration, or taken over in chat: it is theirs now
        else:
            matched.append((form, match))
    updated = _update(conn, matched, commune, year, criteria, flags, now)
    _add(conn, new, commune, year, criteria, flags, entered_by, now)
    return Imported(len(new), updated, len(matched) - updated, own)


_PERSON = (
    Person.full_name,
    Person.birth_year,
    Person.gender,
    Person.group_code,
    Person.village,
    Person.phone,
)


def _match(form: PaperForm, same: list[Any]) -> Any:
    """Of the people with the form's name and year of birth, the one it is: the same
    phone and village where both have one (two namesakes of one age in two villages are
    two people), the closest first (both given and equal, then one missing)."""

    def fits(mine: str | None, theirs: str | None) -> int | None:
        if mine is None or theirs is None:
            return 1
        return 0 if fold(mine) == fold(theirs) else None

    ranked = []
    for person in same:
        phone, village = fits(form.phone, person.phone), fits(form.village, person.village)
        if phone is not None and village is not None:
            ranked.append((phone + village, person.id, person))
    return min(ranked, key=lambda r: (r[0], r[1]))[2] if ranked else None


def _person_values(form: PaperForm) -> dict[str, Any]:
    return {
        "full_name": form.name,
        "birth_year": form.birth_year,
        "gender": form.gender,
        "group_code": form.group,
        "village": form.village,
        "phone": form.phone,
    }


def _assessment_values(
    form: PaperForm, result: ScoreResult, criteria: CriteriaSet, year: int, now: datetime
) -> dict[str, Any]:
    return {
        "campaign_year": year,
        "criteria": criteria.code,
        "group_code": form.group,
        "status": "submitted",
        "started_at": now,
        "submitted_at": now,
        "total": result.total,
        "title_reached": result.title,
        "band": result.band.code if result.band else None,
        "result": result_json(result),
    }


def _answers(
    form: PaperForm, assessment_id: int, criteria: CriteriaSet, now: datetime
) -> list[dict[str, Any]]:
    group = criteria.group(form.group)
    assert group is not None
    return [
        {
            "assessment_id": assessment_id,
            "indicator": indicator,
            "option_index": option,
            "points": group.question(indicator).options[option].points,
            "answered_at": now,
        }
        for indicator, option in form.answers.items()
    ]


def _insert(conn: Connection, table: Any, rows: Sequence[dict[str, Any]]) -> Sequence[int]:
    """Insert rows; their new ids, in order. On PostgreSQL the ids are drawn from the
    table's sequence first and the rows sent with COPY (a tenth of the time of a
    multi-row INSERT ... RETURNING for ten thousand forms); elsewhere executemany."""
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
        return (
            conn.execute(insert(table).returning(table.id, sort_by_parameter_order=True), rows)
            .scalars()
            .all()
        )
    name = table.__tablename__
    ids = (
        conn.execute(
            select(func.nextval(func.pg_get_serial_sequence(name, "id"))).select_from(
                func.generate_series(1, len(rows))
            )
        )
        .scalars()
        .all()
    )
    _copy(conn, name, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids


def _copy(conn: Connection, name: str, rows: Sequence[dict[str, Any]]) -> None:
    """COPY rows (of the same keys) into a table, inside the connection's transaction."""
    columns = list(rows[0])
    raw = conn.connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(
                [json.dumps(v) if isinstance(v, dict) else v for v in (row[c] for c in columns)]
            )


def _add(
    conn: Connection,
    forms: Sequence[PaperForm],
    commune: Area,
    year: int,
    criteria: CriteriaSet,
    flags: AreaFlags,
    entered_by: int | None,
    now: datetime,
) -> None:
    if not forms:
        return
    people = _insert(
        conn,
        Person,
        [
            {
                **_person_values(form),
                "province_code": commune.province,
                "commune_code": commune.commune,
                "language": "vi",
                "registered_at": now,
                "updated_at": now,
                "entered_at": now,
                "entered_by": entered_by,
            }
            for form in forms
        ],
    )
    scored = [
        (form, person_id, result)
        for form, person_id in zip(forms, people, strict=True)
        if (result := _scored(form, criteria, flags)) is not None
    ]
    assessments = _insert(
        conn,
        Assessment,
        [
            {"person_id": person_id, **_assessment_values(form, result, criteria, year, now)}
            for form, person_id, result in scored
        ],
    )
    answers = [
        answer
        for (form, _, _), assessment_id in zip(scored, assessments, strict=True)
        for answer in _answers(form, assessment_id, criteria, now)
    ]
    if not answers:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, "answers", answers)
    else:
        conn.execute(insert(Answer), answers)


def _update(
    conn: Connection,
    matched: Sequence[tuple[PaperForm, Any]],
    commune: Area,
    year: int,
    criteria: CriteriaSet,
    flags: AreaFlags,
    now: datetime,
) -> int:
    """Bring people entered from paper up to their forms (read in a few queries for the
    whole commune, written only where something changed); how many changed. A
    self-assessment the commune has recognised is kept as it was decided."""
    if not matched:
        return 0
    current: dict[int, Any] = {
        row.person_id: row
        for row in conn.execute(
            select(
                Assessment.id,
                Assessment.person_id,
                Assessment.group_code,
                Assessment.recognised_at,
            )
            .join(Person, Person.id == Assessment.person_id)
            .where(Person.commune_code == commune.commune, Assessment.campaign_year == year)
        )
    }
    given: dict[int, dict[str, int]] = {}
    for assessment_id, indicator, option in conn.execute(
        select(Answer.assessment_id, Answer.indicator, Answer.option_index)
        .join(Assessment, Assessment.id == Answer.assessment_id)
        .join(Person, Person.id == Assessment.person_id)
        .where(Person.commune_code == commune.commune, Assessment.campaign_year == year)
    ):
        given.setdefault(assessment_id, {})[indicator] = option
    people, redo, fresh = [], [], []
    changed: set[int] = set()
    for form, person in matched:
        values = _person_values(form)
        if tuple(values.values()) != tuple(getattr(person, c.key) for c in _PERSON):
            people.append({"b_id": person.id, "updated_at": now, **values})
            changed.add(person.id)
        result = _scored(form, criteria, flags)
        if result is None:
            continue
        assessment = current.get(person.id)
        if assessment is None:
            fresh.append((form, person.id, result))
        elif assessment.recognised_at is None and (
            assessment.group_code != form.group or given.get(assessment.id) != dict(form.answers)
        ):
            redo.append((form, assessment.id, result))
        else:
            continue
        changed.add(person.id)
    if people:
        keys = ("updated_at", *_person_values(matched[0][0]))
        conn.execute(
            update(Person)
            .where(Person.id == bindparam("b_id"))
            .values({k: bindparam(f"v_{k}") for k in keys}),
            [{"b_id": row["b_id"], **{f"v_{k}": row[k] for k in keys}} for row in people],
        )
    if redo:
        conn.execute(delete(Answer).where(Answer.assessment_id.in_([a for _, a, _ in redo])))
        for form, assessment_id, result in redo:
            conn.execute(
                update(Assessment)
                .where(Assessment.id == assessment_id)
                .values(
                    returned_at=None,
                    return_reason=None,
                    **_assessment_values(form, result, criteria, year, now),
                )
            )
    ids: Sequence[int] = []
    if fresh:
        ids = (
            conn.execute(
                insert(Assessment).returning(Assessment.id, sort_by_parameter_order=True),
                [
                    {
                        "person_id": person_id,
                        **_assessment_values(form, result, criteria, year, now),
                    }
                    for form, person_id, result in fresh
                ],
            )
            .scalars()
            .all()
        )
    answers = [
        answer
        for form, assessment_id in [(f, a) for f, a, _ in redo]
        + [(f, a) for (f, _, _), a in zip(fresh, ids, strict=True)]
        for answer in _answers(form, assessment_id, criteria, now)
    ]
    if answers:
        conn.execute(insert(Answer), answers)
    return len(changed)


def unclaimed(
    conn: Connection, phone: str, name: str, birth_year: int, commune: int, year: int
) -> PaperMatch | None:
    """The paper form, not taken over by any chat yet, with this phone and the name (any
    accents), year of birth and commune typed (a family may share one phone), with its
    `year` self-assessment."""
    rows = conn.execute(
        select(Person.id, Person.province_code, Person.commune_code, *_PERSON)
        .where(
            Person.phone == phone,
            Person.birth_year == birth_year,
            Person.commune_code == commune,
            Person.entered_at.is_not(None),
            ~exists().where(ChannelAccount.person_id == Person.id),
        )
        .order_by(Person.id)
    ).all()
    row = next((r for r in rows if fold(r.full_name) == fold(name)), None)
    if row is None:
        return None
    profile = profile_of(row)
    found = conn.execute(
        select(
            Assessment.id,
            Assessment.group_code,
            Assessment.status,
            Assessment.submitted_at,
            Assessment.recognised_at,
            Assessment.returned_at,
            Assessment.return_reason,
        ).where(Assessment.person_id == row.id, Assessment.campaign_year == year)
    ).first()
    assessment = None
    if found is not None:
        answers = conn.execute(
            select(Answer.indicator, Answer.option_index).where(Answer.assessment_id == found.id)
        ).all()
        assessment = AssessmentView(
            year=year,
            group=found.group_code,
            status=found.status,
            answers={str(i): int(o) for i, o in answers},
            submitted_at=found.submitted_at,
            recognised_at=found.recognised_at,
            returned_at=found.returned_at,
            return_reason=found.return_reason,
        )
    return PaperMatch(row.id, profile, assessment)


class ClaimLost(Exception):
    """Another chat took the paper form first: the step is rolled back (the person is
    told to try again, and the form is not offered any more)."""


def claim(conn: Connection, account_id: int, person_id: int) -> None:
    """Give a paper form's person to a chat account. The person's row is locked first
    (PostgreSQL; SQLite writes one transaction at a time), so two chats claiming at once
    cannot both have it; raises ClaimLost if another account has it."""
    lock = select(Person.id).where(Person.id == person_id)
    if conn.dialect.name == "postgresql":
        lock = lock.with_for_update()
    if conn.execute(lock).first() is None:
        raise ClaimLost("the paper form is gone")
    taken = conn.execute(
        select(ChannelAccount.id).where(ChannelAccount.person_id == person_id).limit(1)
    ).first()
    if taken is not None:
        raise ClaimLost("another chat took the paper form")
    conn.execute(
        update(ChannelAccount).where(ChannelAccount.id == account_id).values(person_id=person_id)
    )


def registered_themselves(
    conn: Connection,
    commune: int,
    name: str,
    birth_year: int,
    village: str | None = None,
    phone: str | None = None,
) -> bool:
    """Whether the person of a form being entered registered in chat (or took their paper
    form over there): someone of the commune with this name (any accents) and year, and
    the same village and phone where both have one, as an import matches."""
    rows = conn.execute(
        select(Person.id, Person.full_name, Person.village, Person.phone).where(
            Person.commune_code == commune,
            Person.birth_year == birth_year,
            (Person.entered_at.is_(None)) | exists().where(ChannelAccount.person_id == Person.id),
        )
    ).all()
    form = PaperForm(0, name, birth_year, "", "", village, phone)
    return _match(form, [r for r in rows if fold(r.full_name) == fold(name)]) is not None

"""Queries for admins: who is an admin of what, the counts behind the digest, average
points per indicator, targets, and recognising titles (công nhận danh hiệu).

Plain functions of a Connection, run in a transaction by storage.db.Database.run (the
heavy reads by Database.read, which does not block the writers).

An area is applied as a condition on people's province or commune code, both indexed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from flows.admin.recognition import decision_reply
from flows.digest import Counts, Line, Target
from flows.model import (
    ADMIN,
    AddDeadline,
    AdminEffect,
    AdminView,
    BecomeAdmin,
    CancelDeadline,
    Candidate,
    DecideUnit,
    EnterPaperForms,
    FollowInside,
    NewInvite,
    Recognise,
    Reply,
    ReturnAssessment,
    RevokeAdmin,
    SetMonthly,
    SetTarget,
    World,
)
from flows.places import Area
from flows.text import fold
from storage import deadlines, downloads, invites, outbox, paper, recipients, tallies, units
from storage.db import in_area
from storage.models import (
    Answer,
    Assessment,
    ChannelAccount,
    CommuneTarget,
    Person,
    ProcessedEvent,
    Recipient,
)
from storage.outbox import Claimed

log = logging.getLogger(__name__)


# --- who is an admin -------------------------------------------------------------------


def _admin_view(row: Any) -> AdminView:
    return AdminView(
        id=row.id,
        area=Area(row.province_code, row.commune_code),
        monthly=row.monthly,
        channel=row.channel,
        follows_inside=row.follows_inside,
        name=row.full_name,
        since=row.created_at,
        invited_by=row.invited_by,
        language=row.language,
    )


def _admins() -> Any:
    return (
        select(
            Recipient.id,
            Recipient.province_code,
            Recipient.commune_code,
            Recipient.monthly,
            Recipient.follows_inside,
            Recipient.created_at,
            Recipient.invited_by,
            Recipient.language,
            ChannelAccount.channel,
            Person.full_name,
        )
        .join(ChannelAccount, ChannelAccount.id == Recipient.account_id)
        .outerjoin(Person, Person.id == ChannelAccount.person_id)
        .where(Recipient.role == ADMIN)
    )


def admin_of(conn: Connection, account_id: int) -> AdminView | None:
    row = conn.execute(_admins().where(Recipient.account_id == account_id)).first()
    return None if row is None else _admin_view(row)


def admin_by_external(conn: Connection, channel: str, external_id: str) -> AdminView | None:
    row = conn.execute(
        _admins().where(
            ChannelAccount.channel == channel, ChannelAccount.external_id == external_id
        )
    ).first()
    return None if row is None else _admin_view(row)


def admins(conn: Connection, area: Area) -> list[AdminView]:
    """Admins whose scope lies inside `area`, oldest first."""
    rows = conn.execute(_admins().order_by(Recipient.id))
    return [a for a in map(_admin_view, rows) if area.contains(a.area)]


def accounts_covering(conn: Connection, area: Area) -> list[int]:
    """The chat accounts of the admins whose scope contains `area` (a commune)."""
    rows = conn.execute(
        select(Recipient.account_id, Recipient.province_code, Recipient.commune_code).where(
            Recipient.role == ADMIN
        )
    )
    return [a for a, p, c in rows if Area(p, c).contains(area)]


def revoke_admin(conn: Connection, recipient_id: int) -> bool:
    """Remove an admin; the export links they were given stop working."""
    account_id = conn.execute(
        delete(Recipient)
        .where(Recipient.id == recipient_id, Recipient.role == ADMIN)
        .returning(Recipient.account_id)
    ).scalar_one_or_none()
    if account_id is None:
        return False
    downloads.forget_account(conn, account_id)
    outbox.forget_unsent(conn, account_id)  # an export not sent yet is not sent after this
    return True


def set_monthly(conn: Connection, account_id: int, on: bool) -> None:
    conn.execute(
        update(Recipient)
        .where(Recipient.account_id == account_id, Recipient.role == ADMIN)
        .values(monthly=on)
    )


def apply(conn: Connection, account_id: int, effect: AdminEffect, now: datetime) -> None:
    """Write an admin's effect, checking again what the flow checked on a snapshot (the
    scope, a code still unused): a race loses with an error, nothing half-done."""
    if isinstance(effect, BecomeAdmin):
        invite = invites.created_by(conn, effect.code)
        if not invites.use_admin_invite(conn, effect.code):
            raise AdminRefused("the admin code was used meanwhile")
        recipients.save_recipient(
            conn, account_id, ADMIN, effect.area, None, effect.language, None, now
        )
        conn.execute(
            update(Recipient)
            .where(Recipient.account_id == account_id, Recipient.role == ADMIN)
            .values(invited_by=invite, created_at=now)
        )
        return
    admin = admin_of(conn, account_id)
    if admin is None:
        raise AdminRefused("not an admin")
    if isinstance(effect, NewInvite):
        _check(admin, effect.area)
        invites.new_invite(
            conn, effect.code, effect.role, effect.area, now, effect.expires_at, account_id
        )
    elif isinstance(effect, RevokeAdmin):
        other = conn.execute(_admins().where(Recipient.id == effect.admin_id)).first()
        if other is None or other.id == admin.id:
            raise AdminRefused("no such admin")
        _check(admin, Area(other.province_code, other.commune_code))
        revoke_admin(conn, effect.admin_id)
    elif isinstance(effect, SetMonthly):
        set_monthly(conn, account_id, effect.on)
    elif isinstance(effect, EnterPaperForms):
        _check(admin, effect.commune)
        paper.import_forms(
            conn, effect.forms, effect.commune, effect.year, effect.criteria, account_id, now
        )
    elif isinstance(effect, FollowInside):
        conn.execute(
            update(Recipient)
            .where(Recipient.account_id == account_id, Recipient.role == ADMIN)
            .values(follows_inside=effect.on)
        )
    elif isinstance(effect, SetTarget):
        _check(admin, effect.area)
        set_target(conn, effect.area, dict(effect.changes), now)
    elif isinstance(effect, Recognise):
        _check(admin, _commune_area(conn, effect.commune))
        recognise(
            conn, effect.commune, effect.year, account_id, now, effect.assessment_id, effect.until
        )
    elif isinstance(effect, ReturnAssessment):
        _check(admin, _commune_area(conn, effect.commune))
        return_assessment(
            conn, effect.commune, effect.year, effect.assessment_id, effect.reason, now
        )
    elif isinstance(effect, DecideUnit):
        _check(admin, effect.scope)
        if not units.decide(
            conn,
            effect.assessment_id,
            effect.submitted_at,
            admin.area,
            account_id,
            now,
            effect.reason,
        ):  # another admin decided meanwhile: theirs stands (told as with citizens)
            log.info("a decision on a unit was made meanwhile by another admin")
    elif isinstance(effect, AddDeadline):
        _check(admin, effect.deadline.area)
        deadlines.add(conn, effect.deadline, now)
    elif isinstance(effect, CancelDeadline):
        found = next((d for d in deadlines.active(conn) if d.id == effect.deadline_id), None)
        if found is None:
            raise AdminRefused("no such deadline")
        _check(admin, found.area)
        deadlines.cancel(conn, effect.deadline_id, now)


class AdminRefused(Exception):
    """An admin's change that the scope (or a used code) does not allow."""


def _check(admin: AdminView, area: Area) -> None:
    if not admin.area.contains(area):
        raise AdminRefused("outside the admin's scope")


def _commune_area(conn: Connection, commune: int) -> Area:
    province = conn.execute(
        select(Person.province_code).where(Person.commune_code == commune).limit(1)
    ).scalar_one_or_none()
    return Area(province, commune)


# --- the counts ------------------------------------------------------------------------


def digest_lines(conn: Connection, area: Area, year: int, since: date, until: date) -> list[Line]:
    """People per commune and group: registered (and new in [since, until), Vietnamese
    days), and their `year` assessment: in progress, submitted, title reached, recognised.
    Read from the counters (storage.tallies.lines), so it costs the same whatever the
    number of people. A person is counted under the group of this year's assessment when
    there is one (what they answered and submitted under: a later change of group does not
    relabel it, as the indicator sheet does not), else under the group they registered in;
    new people under their own group."""
    make_line, make_counts = Line._make, Counts._make  # the quickest way to ten thousand
    return [
        make_line((row[0], row[1], row[2], make_counts(row[3:])))
        for row in tallies.lines(conn, area, year, since, until)
    ]


def indicator_points(conn: Connection, area: Area, year: int) -> list[tuple[str, str, int, int]]:
    """Per group and indicator, over submitted self-assessments: (group, indicator, how
    many answered, the sum of their points)."""
    query = (
        select(Assessment.group_code, Answer.indicator, func.count(), func.sum(Answer.points))
        .select_from(Answer)
        .join(Assessment, Assessment.id == Answer.assessment_id)
        .join(Person, Person.id == Assessment.person_id)
        .where(
            Assessment.campaign_year == year,
            Assessment.status == "submitted",
            *in_area(area, Person.province_code, Person.commune_code),
        )
        .group_by(Assessment.group_code, Answer.indicator)
        .order_by(Assessment.group_code, Answer.indicator)
    )
    return [(g, i, int(n), int(s or 0)) for g, i, n, s in conn.execute(query)]


def targets(conn: Connection, area: Area) -> list[Target]:
    t = CommuneTarget
    rows = conn.execute(
        select(t.commune_code, t.adults, t.officials, t.adults_pct, t.officials_pct, t.households)
        .where(*in_area(area, t.province_code, t.commune_code))
        .order_by(t.commune_code)
    )
    return [Target(*row) for row in rows]


def set_target(conn: Connection, area: Area, changes: dict[str, int], now: datetime) -> None:
    """Set some of a commune's adults, officials, adults_pct, officials_pct."""
    assert area.commune is not None and area.province is not None
    existing = conn.execute(
        select(CommuneTarget.commune_code).where(CommuneTarget.commune_code == area.commune)
    ).first()
    if existing is None:
        conn.execute(
            insert(CommuneTarget).values(
                commune_code=area.commune, province_code=area.province, updated_at=now, **changes
            )
        )
    else:
        conn.execute(
            update(CommuneTarget)
            .where(CommuneTarget.commune_code == area.commune)
            .values(updated_at=now, **changes)
        )


# --- recognition -----------------------------------------------------------------------


def _candidate_ids(
    commune: int, year: int, assessment_id: int | None = None, until: datetime | None = None
) -> Select[Any]:
    """The assessments of a commune whose submitted self-score reaches the title and that
    are not recognised yet (one of them, or those submitted until `until`)."""
    ids = (
        select(Assessment.id)
        .join(Person, Person.id == Assessment.person_id)
        .where(
            Person.commune_code == commune,
            Assessment.campaign_year == year,
            Assessment.status == "submitted",
            Assessment.title_reached.is_(True),
            Assessment.recognised_at.is_(None),
        )
    )
    if assessment_id is not None:
        ids = ids.where(Assessment.id == assessment_id)
    if until is not None:
        ids = ids.where(Assessment.submitted_at <= until)
    return ids


def candidates(
    conn: Connection, commune: int, year: int, limit: int, until: datetime | None = None
) -> tuple[int, list[Candidate]]:
    """People of a commune whose submitted self-score reaches the title and who are not
    recognised yet (submitted before `until`, if given): how many, and the first `limit`
    in the order they submitted."""
    ids = _candidate_ids(commune, year, until=until)
    count = conn.execute(select(func.count()).select_from(ids.subquery())).scalar_one()
    rows = conn.execute(
        ids.with_only_columns(
            Assessment.id,
            Person.full_name,
            Person.village,
            Assessment.group_code,
            Assessment.total,
            Assessment.submitted_at,
            Person.phone,
            Person.birth_year,
            Assessment.result,
        )
        .order_by(Assessment.submitted_at, Assessment.id)
        .limit(limit)
    )
    return count, [
        Candidate(
            a_id,
            name,
            village,
            group,
            total or 0,
            submitted,
            phone,
            birth_year,
            {str(k): int(v) for k, v in ((result or {}).get("indicators") or {}).items()},
        )
        for a_id, name, village, group, total, submitted, phone, birth_year, result in rows
        if submitted is not None
    ]


@dataclass(frozen=True)
class Listed:
    """One person of a commune's named list for the recognition decision."""

    name: str
    birth_year: int | None
    village: str | None
    phone: str | None
    group: str
    points: dict[str, int]  # indicator → points
    total: int | None
    reached: bool | None  # the self-score reaches the title
    submitted: bool  # False: returned, waiting to be submitted again
    recognised_at: datetime | None
    returned_at: datetime | None
    return_reason: str | None
    paper: bool = False  # entered from a paper form by commune staff


def named_list(conn: Connection, commune: int, year: int) -> list[Listed]:
    """Everyone of a commune who submitted a self-assessment for `year`, or had it
    returned, in the order of the commune's decision."""
    rows = conn.execute(
        select(
            Person.full_name,
            Person.birth_year,
            Person.village,
            Person.phone,
            Assessment.group_code,
            Assessment.result,
            Assessment.total,
            Assessment.title_reached,
            Assessment.status,
            Assessment.recognised_at,
            Assessment.returned_at,
            Assessment.return_reason,
            Person.entered_at,
        )
        .join(Person, Person.id == Assessment.person_id)
        .where(
            Person.commune_code == commune,
            Assessment.campaign_year == year,
            (Assessment.status == "submitted") | Assessment.returned_at.is_not(None),
        )
    )
    found = [
        Listed(
            r.full_name or "",
            r.birth_year,
            r.village,
            r.phone,
            r.group_code,
            {str(k): int(v) for k, v in ((r.result or {}).get("indicators") or {}).items()},
            r.total,
            r.title_reached,
            r.status == "submitted",
            r.recognised_at,
            r.returned_at,
            r.return_reason,
            r.entered_at is not None,
        )
        for r in rows
    ]
    # As Vietnamese lists go: by village (those without one last), then by given name (the
    # last word), then the whole name.
    return sorted(
        found,
        key=lambda x: (
            x.village is None,
            fold(x.village or ""),
            fold(x.name.split()[-1] if x.name.split() else ""),
            fold(x.name),
        ),
    )


def recognise(
    conn: Connection,
    commune: int,
    year: int,
    by: int,
    now: datetime,
    assessment_id: int | None = None,
    until: datetime | None = None,
) -> int:
    """Recognise one candidate, or all submitted until `until`; returns how many."""
    ids = _candidate_ids(commune, year, assessment_id, until)
    return conn.execute(
        update(Assessment)
        .where(Assessment.id.in_(ids.scalar_subquery()))
        .values(recognised_at=now, recognised_by=by, decision_pending=True)
    ).rowcount


def return_assessment(
    conn: Connection, commune: int, year: int, assessment_id: int, reason: str, now: datetime
) -> bool:
    """Send a candidate's self-assessment back with a reason: in progress again, answers
    kept, so the citizen can change them and submit again."""
    ids = _candidate_ids(commune, year, assessment_id)
    return (
        conn.execute(
            update(Assessment)
            .where(Assessment.id.in_(ids.scalar_subquery()))
            .values(
                status="in_progress",
                submitted_at=None,
                total=None,
                title_reached=None,
                band=None,
                result=None,
                returned_at=now,
                return_reason=reason,
                decision_pending=True,
            )
        ).rowcount
        == 1
    )


def claim_decisions(
    conn: Connection, now: datetime, limit: int, world: World
) -> tuple[list[tuple[str, Claimed]], int]:
    """Put the next `limit` decisions not told yet in the outbox, for each reachable chat
    account of the citizen (channel, claimed), and mark them told: each once. An account
    on a channel that is not running gets it when that channel starts. The words are the
    pure core's (`flows.admin.recognition.decision_reply`)."""
    a = Assessment
    rows = conn.execute(
        select(
            a.id,
            a.recognised_at,
            a.returned_at,
            a.return_reason,
            Person.language,
            ChannelAccount.id.label("account_id"),
            ChannelAccount.external_id,
            ChannelAccount.channel,
            ChannelAccount.unreachable,
        )
        .join(Person, Person.id == a.person_id)
        .outerjoin(ChannelAccount, ChannelAccount.person_id == Person.id)
        .where(a.decision_pending.is_not(None))
        .order_by(a.id)
        .limit(limit)
    ).all()
    if not rows:
        return [], 0

    def reply_of(row: Any, recognised: bool, at: datetime) -> Reply:
        t = world.langs.get(row.language) or world.langs[world.default_lang]
        return decision_reply(recognised, at, row.return_reason, t)

    claimed = outbox.record_decisions(conn, now, rows, reply_of, "decision")
    told = sorted({row.id for row in rows})
    conn.execute(update(a).where(a.id.in_(told)).values(decision_pending=None))
    return claimed, len(rows)


# --- the daily digest's bookkeeping ----------------------------------------------------


@dataclass(frozen=True)
class DigestAddressee:
    account_id: int
    external_id: str
    language: str
    area: Area
    monthly: bool


def digest_addressees(conn: Connection, channel: str, stamp: str) -> list[DigestAddressee]:
    """Admins on this channel who can be reached and have not had the digest whose event
    ids are `stamp:<account>` ("digest:2026-11-23"). Admins are few: two small queries."""
    rows = conn.execute(
        select(
            ChannelAccount.id,
            ChannelAccount.external_id,
            Recipient.language,
            Recipient.province_code,
            Recipient.commune_code,
            Recipient.monthly,
        )
        .join(ChannelAccount, ChannelAccount.id == Recipient.account_id)
        .where(
            Recipient.role == ADMIN,
            ChannelAccount.channel == channel,
            ChannelAccount.unreachable.is_(False),
        )
        .order_by(ChannelAccount.id)
    ).all()
    wanted = {f"{stamp}:{r.id}": r for r in rows}
    if not wanted:
        return []
    done = set(
        conn.execute(
            select(ProcessedEvent.event_id).where(
                ProcessedEvent.channel == channel, ProcessedEvent.event_id.in_(list(wanted))
            )
        ).scalars()
    )
    return [
        DigestAddressee(
            r.id, r.external_id, r.language, Area(r.province_code, r.commune_code), r.monthly
        )
        for event_id, r in wanted.items()
        if event_id not in done
    ]

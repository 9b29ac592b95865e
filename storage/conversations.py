"""Conversations: load one with everything stored about it (state, person, this year's
assessment and answers), and write a step's outcome (state, effects, its outbox row) in the
same transaction. What a step reads beyond that is looked up by bot.preload.

Plain functions of a Connection, run in a transaction by storage.db.Database.run.

Statements are built once per dialect (see _Statements) and the hot path passes only
values: one joined SELECT loads the conversation with this year's answers (preceded on
PostgreSQL by a row lock), and each change is one statement.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from flows.model import (
    FOCAL_POINT,
    AdminEffect,
    AssessmentView,
    ClaimPaperForm,
    ConversationState,
    DeletePerson,
    Effect,
    JoinFamily,
    LeaveFamily,
    NewFamilyCode,
    Outcome,
    RemoveFamilyMember,
    RemoveRecipient,
    ResetAssessment,
    SaveAnswer,
    SaveFamilyAnswer,
    SavePerson,
    SaveRecipient,
    SaveUnitAnswer,
    SetFamily,
    SetFocalName,
    SetLanguage,
    Snapshot,
    StartAssessment,
    StartUnitAssessment,
    SubmitAssessment,
    SubmitFamilyAssessment,
    SubmitUnitAssessment,
    WrongCode,
)
from flows.places import Area
from flows.reminders import reminders_on
from flows.scoring import AreaFlags
from storage import admin, downloads, families, invites, outbox, paper, recipients, units
from storage.db import PerDialect
from storage.models import (
    Answer,
    Assessment,
    ChannelAccount,
    CommuneFlag,
    Conversation,
    MessagingWindow,
    Person,
    ProcessedEvent,
)
from storage.scores import result_json
from storage.views import profile_of

log = logging.getLogger(__name__)


class DuplicateEvent(Exception):
    """This event id was processed before; the transaction must roll back."""


@dataclass
class Loaded:
    """A conversation as stored, with the ids the effects need."""

    account_id: int
    person_id: int | None
    assessment_id: int | None
    snapshot: Snapshot
    unreachable: bool = False
    erased: bool = False  # the account is gone with the person's data (/delete)


class _Statements:
    """Statements built once per dialect with bind parameters: building a SQLAlchemy
    statement costs more than running it on SQLite, so the hot path only passes values."""

    def __init__(self, dialect: str) -> None:
        ins = postgresql.insert if dialect == "postgresql" else sqlite.insert
        this_account = (
            ChannelAccount.channel == bindparam("channel"),
            ChannelAccount.external_id == bindparam("external_id"),
        )
        # This year's answers come with the conversation, as one JSON object, to save a
        # round trip on every answer.
        to_object = func.json_object_agg if dialect == "postgresql" else func.json_group_object
        answers = (
            select(to_object(Answer.indicator, Answer.option_index))
            .where(Answer.assessment_id == Assessment.id)
            .correlate(Assessment)
            .scalar_subquery()
        )
        load = (
            select(
                ChannelAccount.id,
                ChannelAccount.person_id,
                ChannelAccount.unreachable,
                Conversation.state,
                Person.full_name,
                Person.birth_year,
                Person.gender,
                Person.group_code,
                Person.province_code,
                Person.commune_code,
                Person.village,
                Person.phone,
                Assessment.id.label("assessment_id"),
                Assessment.group_code.label("assessment_group"),
                Assessment.status,
                Assessment.submitted_at,
                Assessment.recognised_at,
                Assessment.returned_at,
                Assessment.return_reason,
                CommuneFlag.difficult,
                answers.label("answers"),
            )
            .select_from(ChannelAccount)
            .outerjoin(Conversation, Conversation.account_id == ChannelAccount.id)
            .outerjoin(Person, Person.id == ChannelAccount.person_id)
            .outerjoin(
                Assessment,
                and_(
                    Assessment.person_id == Person.id,
                    Assessment.campaign_year == bindparam("year"),
                ),
            )
            .outerjoin(CommuneFlag, CommuneFlag.commune_code == Person.commune_code)
            .where(*this_account)
        )
        self.load = load
        # PostgreSQL: serialises one person's events across bot processes. It must be a
        # statement of its own: under READ COMMITTED, a FOR UPDATE that waited re-reads
        # only the locked row, and the joined state would come from before the wait. The
        # load after it takes a fresh snapshot that includes the other process's commit.
        # (SQLite: BEGIN IMMEDIATE already serialises whole transactions.)
        self.lock = (
            select(ChannelAccount.id).where(*this_account).with_for_update()
            if dialect == "postgresql"
            else None
        )
        self.new_account = ins(ChannelAccount).on_conflict_do_nothing(
            index_elements=["channel", "external_id"]
        )
        self.new_conversation = ins(Conversation).on_conflict_do_nothing(
            index_elements=["account_id"]
        )
        self.save_state = (
            update(Conversation)
            .where(Conversation.account_id == bindparam("b_account_id"))
            .values(
                state=bindparam("state"),
                updated_at=bindparam("now"),
                nudge_at=bindparam("nudge_at"),
                nudge_round=0,
                reminders_off=bindparam("reminders_off"),
            )
        )
        self.outbox = (
            ins(ProcessedEvent)
            .on_conflict_do_nothing(index_elements=["channel", "event_id"])
            .returning(ProcessedEvent.id)
        )
        answer = ins(Answer)
        self.save_answer = answer.on_conflict_do_update(
            index_elements=["assessment_id", "indicator"],
            set_={
                "option_index": answer.excluded.option_index,
                "points": answer.excluded.points,
                "answered_at": answer.excluded.answered_at,
            },
        )


_sql = PerDialect(_Statements)


def load_conversation(
    conn: Connection,
    channel: str,
    external_id: str,
    year: int,
    now: datetime,
    event_id: str | None = None,
) -> Loaded:
    """Load (creating on first contact) an account's conversation, person and this year's
    assessment with its answers. An event of an account erased by /delete (delivered
    again) raises DuplicateEvent instead of bringing the account back."""
    sql = _sql(conn)
    key = {"channel": channel, "external_id": external_id, "year": year}
    if sql.lock is not None:
        conn.execute(sql.lock, key)
    row = conn.execute(sql.load, key).first()
    if row is None:
        if event_id is not None and outbox.forgotten(conn, channel, event_id):
            raise DuplicateEvent(event_id)
        # First contact. If another process is creating the same account, this waits
        # for it to commit; then the lock and a fresh load see what it saved.
        conn.execute(
            sql.new_account,
            {
                "channel": channel,
                "external_id": external_id,
                "created_at": now,
                "unreachable": False,
            },
        )
        if sql.lock is not None:
            conn.execute(sql.lock, key)
        row = conn.execute(sql.load, key).one()
        conn.execute(
            sql.new_conversation,
            {"account_id": row.id, "state": {}, "updated_at": now, "nudge_round": 0},
        )
    person = None
    if row.person_id is not None:
        person = profile_of(row)
    assessment = None
    if row.assessment_id is not None:
        answers = json.loads(row.answers) if isinstance(row.answers, str) else row.answers
        assessment = AssessmentView(
            year=year,
            group=row.assessment_group,
            status=row.status,
            answers={str(k): int(v) for k, v in (answers or {}).items()},
            submitted_at=row.submitted_at,
            recognised_at=row.recognised_at,
            returned_at=row.returned_at,
            return_reason=row.return_reason,
        )
    state = cast(ConversationState, row.state or {})  # the JSON a step saved
    snapshot = Snapshot(
        state=state,
        person=person,
        assessment=assessment,
        area=AreaFlags(difficult=bool(row.difficult)),
    )
    return Loaded(row.id, row.person_id, row.assessment_id, snapshot, bool(row.unreachable))


FamilyEffect = (
    SetFamily
    | JoinFamily
    | RemoveFamilyMember
    | NewFamilyCode
    | LeaveFamily
    | SaveFamilyAnswer
    | SubmitFamilyAssessment
)


def _apply_effect(conn: Connection, loaded: Loaded, effect: Effect, now: datetime) -> None:
    if isinstance(effect, SavePerson):
        p = effect.profile
        values = {
            "full_name": p.full_name,
            "birth_year": p.birth_year,
            "gender": p.gender,
            "group_code": p.group,
            "province_code": p.province_code,
            "commune_code": p.commune_code,
            "village": p.village,
            "phone": p.phone,
            "language": effect.language,
            "updated_at": now,
        }
        if loaded.person_id is None:
            loaded.person_id = (
                conn.execute(
                    insert(Person).values(registered_at=now, **values).returning(Person.id)
                )
            ).scalar_one()
            conn.execute(
                update(ChannelAccount)
                .where(ChannelAccount.id == loaded.account_id)
                .values(person_id=loaded.person_id)
            )
        else:
            conn.execute(update(Person).where(Person.id == loaded.person_id).values(**values))
            families.move_with_head(conn, loaded.person_id, p.province_code, p.commune_code)
    elif isinstance(effect, SetLanguage):
        if loaded.person_id is not None:
            conn.execute(
                update(Person).where(Person.id == loaded.person_id).values(language=effect.language)
            )
        recipients.set_language(conn, loaded.account_id, effect.language)
    elif isinstance(effect, SaveRecipient):
        recipients.save_recipient(
            conn,
            loaded.account_id,
            effect.role,
            effect.area,
            effect.unit,
            effect.language,
            effect.code,
            now,
            effect.invite_key,
        )
        if effect.role == FOCAL_POINT:
            units.link_unit(conn, loaded.account_id, now)
    elif isinstance(effect, SetFocalName):
        units.set_name(conn, loaded.account_id, effect.name)
    elif isinstance(effect, StartUnitAssessment):
        units.start(conn, loaded.account_id, effect.year, now, effect.criteria)
    elif isinstance(effect, SaveUnitAnswer):
        units.save_answer(
            conn,
            loaded.account_id,
            effect.year,
            effect.indicator,
            effect.option,
            effect.points,
            now,
        )
    elif isinstance(effect, SubmitUnitAssessment):
        units.submit(conn, loaded.account_id, effect.year, effect.result, now)
    elif isinstance(effect, FamilyEffect):
        _apply_family(conn, loaded, effect, now)
    elif isinstance(effect, WrongCode):
        # Logged without the code: the count is what matters (see flows.codes).
        log.warning("a wrong %s code was tried (account %d)", effect.role, loaded.account_id)
        kind = "family" if effect.role == "family" else "invite"
        invites.wrong_code(conn, loaded.account_id, now, kind)
    elif isinstance(effect, RemoveRecipient):
        recipients.remove_recipient(conn, loaded.account_id, effect.role)
    elif isinstance(effect, StartAssessment):
        loaded.assessment_id = (
            conn.execute(
                insert(Assessment)
                .values(
                    person_id=loaded.person_id,
                    campaign_year=effect.year,
                    criteria=effect.criteria,
                    group_code=effect.group,
                    status="in_progress",
                    started_at=now,
                )
                .returning(Assessment.id)
            )
        ).scalar_one()
    elif isinstance(effect, SaveAnswer):
        conn.execute(
            _sql(conn).save_answer,
            {
                "assessment_id": loaded.assessment_id,
                "indicator": effect.indicator,
                "option_index": effect.option,
                "points": effect.points,
                "answered_at": now,
            },
        )
    elif isinstance(effect, ResetAssessment):
        conn.execute(delete(Answer).where(Answer.assessment_id == loaded.assessment_id))
        conn.execute(
            update(Assessment)
            .where(Assessment.id == loaded.assessment_id)
            .values(group_code=effect.group, status="in_progress", started_at=now)
        )
    elif isinstance(effect, SubmitAssessment):
        r = effect.result
        conn.execute(
            update(Assessment)
            .where(Assessment.id == loaded.assessment_id, Assessment.status == "in_progress")
            .values(
                status="submitted",
                submitted_at=now,
                total=r.total,
                title_reached=r.title,
                band=r.band.code if r.band else None,
                result=result_json(r),
                returned_at=None,  # a returned one, submitted again: the note is answered
                return_reason=None,
                decision_pending=None,  # (and a return not told yet need not be)
            )
        )
    elif isinstance(effect, ClaimPaperForm):
        paper.claim(conn, loaded.account_id, effect.person_id)  # (ClaimLost: rolled back)
        loaded.person_id = effect.person_id
    elif isinstance(effect, DeletePerson):
        erase(conn, loaded, now)
    elif isinstance(effect, AdminEffect):
        admin.apply(conn, loaded.account_id, effect, now)
    else:  # pragma: no cover - a new Effect type without storage is a programming error
        raise TypeError(f"no storage for effect {effect!r}")


def _apply_family(conn: Connection, loaded: Loaded, effect: FamilyEffect, now: datetime) -> None:
    person = loaded.person_id
    if person is None:  # (families are of registered people)
        return
    if isinstance(effect, SetFamily):
        families.set_family(conn, person, effect.adults, effect.code, now)
    elif isinstance(effect, JoinFamily):
        families.join(conn, person, effect.family_id, now)
    elif isinstance(effect, RemoveFamilyMember):
        families.remove_member(conn, person, effect.member, now)
    elif isinstance(effect, NewFamilyCode):
        families.new_code(conn, person, effect.code)
    elif isinstance(effect, LeaveFamily):
        families.leave(conn, person, now)
    elif isinstance(effect, SaveFamilyAnswer):
        families.save_answer(
            conn, person, effect.year, effect.criteria, effect.indicator, effect.option, now
        )
    else:
        families.submit(
            conn, person, effect.year, effect.result, effect.answers, effect.titled, now
        )


def erase(conn: Connection, loaded: Loaded, now: datetime) -> None:
    """/delete (Decree 13/2023): nothing identifying the person is left. The person, their
    assessments and answers; every chat account of theirs (this one, and on the other
    channels) with its conversation, outbox, roles and attempts; their messaging windows;
    and, in other people's stored replies (an admin's list of candidates), any that quote
    their name or phone number, and the named lists (files) made for the admins of their
    commune that are not sent yet or still offered by link."""
    quoted: list[str] = []
    accounts = [loaded.account_id]
    admins: list[int] = []
    if loaded.person_id is not None:
        person = conn.execute(
            select(Person.full_name, Person.phone, Person.province_code, Person.commune_code).where(
                Person.id == loaded.person_id
            )
        ).one()
        quoted = [text for text in (person.full_name, person.phone) if text]
        admins = admin.accounts_covering(conn, Area(person.province_code, person.commune_code))
        accounts += conn.execute(
            select(ChannelAccount.id).where(ChannelAccount.person_id == loaded.person_id)
        ).scalars()
        # Their family (as its head) or their place in one, counted again.
        families.leave(conn, loaded.person_id, now)
        # Assessments and answers go with the person (ON DELETE CASCADE).
        conn.execute(delete(Person).where(Person.id == loaded.person_id))
    identities = conn.execute(
        select(ChannelAccount.channel, ChannelAccount.external_id).where(
            ChannelAccount.id.in_(accounts)
        )
    ).all()
    for channel, external_id in identities:
        conn.execute(
            delete(MessagingWindow).where(
                MessagingWindow.channel == channel, MessagingWindow.external_id == external_id
            )
        )
    # Their events are remembered by id only, so a retry of one is not taken for news.
    outbox.forget_events(conn, accounts, now)
    units.forget(conn, accounts)  # a focal point's name beside their unit's answers
    # Conversations, outbox rows, roles, code attempts and links go with the accounts.
    conn.execute(delete(ChannelAccount).where(ChannelAccount.id.in_(accounts)))
    outbox.forget_quotes(conn, quoted, admins)
    # A named list made for those admins may name them: not sent, and no link to it.
    outbox.forget_personal_files(conn, admins)
    downloads.forget_personal(conn, admins)
    loaded.person_id = loaded.assessment_id = None
    loaded.erased = True


def save_outcome(
    conn: Connection,
    loaded: Loaded,
    outcome: Outcome,
    channel: str,
    event_id: str,
    now: datetime,
    nudge_at: datetime | None = None,
) -> int | None:
    """Write the step's effects, the new state and the outbox row. Raises DuplicateEvent if
    the event id was already processed (the caller rolls back). Returns the outbox row id;
    None when the step erased the account (/delete): nothing of it is written again, its
    last replies are only sent. `nudge_at`: when the first reminder of the quiet period
    starting now is due (None: no reminders, e.g. nothing is left half-way)."""
    for effect in outcome.effects:
        _apply_effect(conn, loaded, effect, now)
    if loaded.erased:
        outbox.forget_event(conn, channel, event_id, now)
        return None
    sql = _sql(conn)
    if loaded.unreachable:  # they wrote to us, so messages reach them again
        conn.execute(
            update(ChannelAccount)
            .where(ChannelAccount.id == loaded.account_id)
            .values(unreachable=False)
        )
    conn.execute(
        sql.save_state,
        {
            "b_account_id": loaded.account_id,
            "state": outcome.state,
            "now": now,
            "nudge_at": nudge_at,
            "reminders_off": not reminders_on(outcome.state),
        },
    )
    outbox_id = conn.execute(
        sql.outbox,
        {
            "account_id": loaded.account_id,
            "channel": channel,
            "event_id": event_id,
            "replies": [r.to_dict() for r in outcome.replies],
            "created_at": now,
        },
    ).scalar_one_or_none()
    if outbox_id is None:
        raise DuplicateEvent(event_id)
    return outbox_id


def set_unreachable(conn: Connection, channel: str, external_id: str) -> None:
    """The channel refuses to deliver to this account (bot blocked, OA unfollowed): nothing
    more is sent to it until the person writes again, reminders included."""
    account = conn.execute(
        update(ChannelAccount)
        .where(ChannelAccount.channel == channel, ChannelAccount.external_id == external_id)
        .values(unreachable=True)
        .returning(ChannelAccount.id)
    ).scalar_one_or_none()
    if account is not None:
        conn.execute(
            update(Conversation).where(Conversation.account_id == account).values(nudge_at=None)
        )


def is_unreachable(conn: Connection, channel: str, external_id: str) -> bool:
    return bool(
        conn.execute(
            select(ChannelAccount.unreachable).where(
                ChannelAccount.channel == channel, ChannelAccount.external_id == external_id
            )
        ).scalar()
    )

"""The schema (SQLAlchemy 2 declarative). Every change goes with an Alembic migration in
storage/migrations/versions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite stores them without a zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Person(Base):
    """Người đăng ký: someone who completed registration."""

    __tablename__ = "people"
    __table_args__ = (
        # Paper forms only (few): counted for the digest, found by phone for a takeover.
        Index(
            "ix_people_paper",
            "province_code",
            "commune_code",
            "group_code",
            sqlite_where=text("entered_at IS NOT NULL"),
            postgresql_where=text("entered_at IS NOT NULL"),
        ),
        Index(
            "ix_people_paper_phone",
            "phone",
            sqlite_where=text("entered_at IS NOT NULL"),
            postgresql_where=text("entered_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    full_name: Mapped[str] = mapped_column(String(80))
    birth_year: Mapped[int] = mapped_column(Integer)
    gender: Mapped[str] = mapped_column(String(8))
    group_code: Mapped[str] = mapped_column(String(16))
    province_code: Mapped[int] = mapped_column(Integer, index=True)
    commune_code: Mapped[int] = mapped_column(Integer, index=True)
    village: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(5), default="vi")
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A paper form entered by commune staff (flows.paper): when, and by whose chat account
    # (None with entered_at set: the command line). None: they registered themselves.
    entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    entered_by: Mapped[int | None] = mapped_column(Integer)


class ChannelAccount(Base):
    """One chat identity (Telegram user, Zalo follower, terminal user) → a person."""

    __tablename__ = "channel_accounts"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_channel_accounts_external"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))  # 64-bit ids are kept as strings
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)


class Conversation(Base):
    """Where a chat stands (screen, draft answers): survives restarts, shared by processes."""

    __tablename__ = "conversations"
    __table_args__ = (
        # The scheduler's question "whom to nudge now?": only conversations waiting for a
        # nudge are in it.
        Index(
            "ix_conversations_nudge_at",
            "nudge_at",
            sqlite_where=text("nudge_at IS NOT NULL"),
            postgresql_where=text("nudge_at IS NOT NULL"),
        ),
    )

    account_id: Mapped[int] = mapped_column(
        ForeignKey("channel_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Not indexed: every event rewrites this row, and without an index on a changed column
    # PostgreSQL can update it in place (HOT). Queries that need one add it with them.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # When the next reminder may go to someone who stopped half-way (None: no reminder),
    # and which of the schedule's reminders that is; the quiet period began at updated_at.
    nudge_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    nudge_round: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # The person said /reminders off: no nudges and no deadline reminders. Mirrors the
    # state's "reminders", as a column so the scheduler can select on it.
    reminders_off: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )


class Assessment(Base):
    """Bản tự đánh giá: one per person per campaign year."""

    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint("person_id", "campaign_year", name="uq_assessments_person_year"),
        Index("ix_assessments_year_status", "campaign_year", "status"),
        Index(
            "ix_assessments_decision_pending",
            "id",
            sqlite_where=text("decision_pending IS NOT NULL"),
            postgresql_where=text("decision_pending IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    campaign_year: Mapped[int] = mapped_column(Integer)
    criteria: Mapped[str] = mapped_column(String(32))
    group_code: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # in_progress | submitted
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    total: Mapped[int | None] = mapped_column(Integer)
    title_reached: Mapped[bool | None] = mapped_column(Boolean)
    band: Mapped[str | None] = mapped_column(String(16))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # The commune's decision on a submitted self-assessment (công nhận): recognised, or
    # returned to the citizen with a reason (then it is in progress again). The account of
    # the admin who recognised it. decision_pending: the citizen has not been told yet.
    recognised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recognised_by: Mapped[int | None] = mapped_column(Integer)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    return_reason: Mapped[str | None] = mapped_column(String(300))
    decision_pending: Mapped[bool | None] = mapped_column(Boolean)


class Answer(Base):
    __tablename__ = "answers"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True
    )
    indicator: Mapped[str] = mapped_column(String(16), primary_key=True)
    option_index: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcessedEvent(Base):
    """Each incoming event once: its id (for de-duplication) and the replies it produced,
    saved in the same transaction as the state (the outbox)."""

    __tablename__ = "processed_events"
    __table_args__ = (
        UniqueConstraint("channel", "event_id", name="uq_processed_events_event"),
        # Replies not (yet) known to be sent: a channel re-sends recent ones when it starts.
        # Partial, so it holds only the few rows in flight, not every event ever.
        Index(
            "ix_processed_events_undelivered",
            "channel",
            "created_at",
            sqlite_where=text("delivered_at IS NULL"),
            postgresql_where=text("delivered_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("channel_accounts.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(128))
    # Rows are emptied once sent and forgotten after a few days (pruning reads by age).
    replies: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Not sent yet: how often a channel tried again, and not before when it tries next
    # (a channel that kept failing hands the row back; any process may take it then).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SendTurn(Base):
    """Whose turn it is to send a chat's replies: the process (`holder`) that sends them
    now, until `until` unless it renews; no holder while nobody sends (see
    storage.outbox). `view` is what the chat shows that whoever sends next must know
    (on Telegram: the message whose buttons are live, the share-phone keyboard)."""

    __tablename__ = "send_turns"
    __table_args__ = (Index("ix_send_turns_holder", "holder"),)  # a process's, at its stop

    account_id: Mapped[int] = mapped_column(
        ForeignKey("channel_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    holder: Mapped[str | None] = mapped_column(String(80))
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    view: Mapped[dict[str, Any]] = mapped_column(JSONType)


class CommuneFlag(Base):
    """Communes an admin marked as remote, especially difficult or ethnic-minority areas."""

    __tablename__ = "commune_flags"

    commune_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    difficult: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InboundEvent(Base):
    """The inbox: a webhook delivery accepted (answered 200) and not yet handled. Written
    before the answer, so a crash after it loses nothing; removed once the dispatcher has
    committed the event (which de-duplicates from then on). The key de-duplicates
    deliveries that arrive again meanwhile (Zalo retries when an answer is late)."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("channel", "event_key", name="uq_inbound_events_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    event_key: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChannelToken(Base):
    """A channel's API credentials that change over time (Zalo's access token and its
    single-use refresh token), shared by every bot process."""

    __tablename__ = "channel_tokens"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    access_token: Mapped[str] = mapped_column(String(2048))
    refresh_token: Mapped[str] = mapped_column(String(2048))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # sha256 of the refresh token configured when this row was seeded: a different one in
    # the settings means the operator authorised the app again, and it replaces ours.
    seed: Mapped[str] = mapped_column(String(64))
    # A process refreshing holds this lease; others wait for its result instead of spending
    # the single-use refresh token a second time.
    refreshing_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(300))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MessagingWindow(Base):
    """When a person last wrote to us on a channel with messaging windows (Zalo: replies are
    free for 48 hours after it, at most 8), and how many messages went out since."""

    __tablename__ = "messaging_windows"
    __table_args__ = (PrimaryKeyConstraint("channel", "external_id"),)

    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_in_window: Mapped[int] = mapped_column(Integer, default=0)


class ProactiveQuota(Base):
    """Messages sent outside the free window, per channel and month (Vietnam time)."""

    __tablename__ = "proactive_quota"
    __table_args__ = (PrimaryKeyConstraint("channel", "month"),)

    channel: Mapped[str] = mapped_column(String(16))
    month: Mapped[str] = mapped_column(String(7))  # "2026-11"
    used: Mapped[int] = mapped_column(Integer, default=0)


class Deadline(Base):
    """A date by which something must be done or filed, and whom to remind of it (see
    flows/deadlines.py)."""

    __tablename__ = "deadlines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str | None] = mapped_column(String(64), unique=True)  # defaults file's name
    title: Mapped[dict[str, str]] = mapped_column(JSONType)  # language → title
    day: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    year: Mapped[int | None] = mapped_column(Integer)  # None: every year
    province_code: Mapped[int | None] = mapped_column(Integer)  # both None: everywhere
    commune_code: Mapped[int | None] = mapped_column(Integer)
    audience: Mapped[str] = mapped_column(String(16))  # citizens | focal_points | admins
    offsets: Mapped[list[int]] = mapped_column(JSONType)  # days before, 0 = on the day
    at: Mapped[str] = mapped_column(String(5))  # "08:00", Vietnam time
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeadlineCursor(Base):
    """How far one reminder of a deadline (due date, days before) has gone through its
    audience on a channel: the key of the last recipient claimed. New people get larger
    keys, so they are reached too; the outbox event id keeps each reminder once."""

    __tablename__ = "deadline_cursors"
    __table_args__ = (PrimaryKeyConstraint("deadline_id", "due", "days_before", "channel"),)

    deadline_id: Mapped[int] = mapped_column(ForeignKey("deadlines.id", ondelete="CASCADE"))
    due: Mapped[str] = mapped_column(String(10))  # "2026-10-31"
    days_before: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    last_key: Mapped[int] = mapped_column(Integer, default=0)
    last_account: Mapped[int] = mapped_column(Integer, default=0)


class Invite(Base):
    """A code an admin hands out: focal points of units register with it (reusable), or
    one person becomes an admin (single use). Valid until it expires or is revoked. Only
    the code's sha256 is kept (like a password), with a hint to tell codes apart."""

    __tablename__ = "invites"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    hint: Mapped[str] = mapped_column(String(16))  # "K7…PA": the first and last characters
    role: Mapped[str] = mapped_column(String(16))  # focal_point | admin
    province_code: Mapped[int | None] = mapped_column(Integer)
    commune_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(Integer)  # admin's account; None: the CLI


class CodeAttempt(Base):
    """A code typed that was not valid, kept an hour: wrong attempts are limited per chat
    and overall, so guessing codes is hopeless. The chat is kept as a hash of its channel
    and id, so that deleting one's data (and the account) does not reset the count."""

    __tablename__ = "code_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    who: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # "invite" (admins' and units' codes) or "family": each kind has its own overall
    # limit, so citizens mistyping family codes never hold up an admin's code.
    kind: Mapped[str] = mapped_column(String(16), default="invite", server_default=text("'invite'"))


class Recipient(Base):
    """A chat account in a role for an area: the focal point of a unit (with the unit's
    name), or an admin (whose scope the area is). Both receive deadline reminders."""

    __tablename__ = "recipients"
    __table_args__ = (UniqueConstraint("account_id", "role", name="uq_recipients_account_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("channel_accounts.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    province_code: Mapped[int | None] = mapped_column(Integer)
    commune_code: Mapped[int | None] = mapped_column(Integer)
    unit_name: Mapped[str | None] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    invited_by: Mapped[int | None] = mapped_column(Integer)  # the inviting admin's account
    # Admins: also a summary of the past month on the 1st (provinces that report monthly).
    monthly: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Admins: also the reminders of deadlines set for areas inside their scope (a national
    # admin, those of the provinces).
    follows_inside: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    # Focal points: their unit (found or made from the area and the unit's name, so two
    # focal points of one unit share its self-assessment), and their own name, shown to
    # the unit's other focal points beside the answers they gave.
    unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("units.id", ondelete="SET NULL"), index=True
    )
    person_name: Mapped[str | None] = mapped_column(String(80))


class Unit(Base):
    """Đơn vị học tập: a school, office or enterprise whose focal points registered with
    a code of its commune or province. One per area and name (accents and case aside)."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("area_key", "name_key", name="uq_units_area_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    province_code: Mapped[int | None] = mapped_column(Integer, index=True)
    commune_code: Mapped[int | None] = mapped_column(Integer, index=True)
    area_key: Mapped[str] = mapped_column(String(24))  # "12:0" (a province), "12:70"
    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120))  # folded: "truong thcs kim lien"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class UnitAssessment(Base):
    """A unit's self-assessment (tự đánh giá Đơn vị học tập) of one year: one per unit and
    year, whichever of its focal points answers. Decided on like a citizen's."""

    __tablename__ = "unit_assessments"
    __table_args__ = (
        UniqueConstraint("unit_id", "year", name="uq_unit_assessments_unit_year"),
        Index("ix_unit_assessments_year_status", "year", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    criteria: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # in_progress | submitted
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by: Mapped[str | None] = mapped_column(String(80))  # the focal point's name
    total: Mapped[int | None] = mapped_column(Integer)
    reached: Mapped[bool | None] = mapped_column(Boolean)  # a band above "not achieved"
    band: Mapped[str | None] = mapped_column(String(16))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    recognised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recognised_by: Mapped[int | None] = mapped_column(Integer)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    return_reason: Mapped[str | None] = mapped_column(String(300))
    decision_pending: Mapped[bool | None] = mapped_column(Boolean)


class UnitAnswer(Base):
    """One answer of a unit's self-assessment, and which focal point gave it."""

    __tablename__ = "unit_answers"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("unit_assessments.id", ondelete="CASCADE"), primary_key=True
    )
    indicator: Mapped[str] = mapped_column(String(16), primary_key=True)
    option_index: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_by: Mapped[int | None] = mapped_column(Integer)  # the focal point's account
    answered_name: Mapped[str | None] = mapped_column(String(80))


class Family(Base):
    """Gia đình học tập: a household registered by its head (a registered citizen), with
    the code its other members join with. Ends with the head's registration."""

    __tablename__ = "families"
    __table_args__ = (
        # A province's families, grouped by commune, in one range of the index, with
        # their adults (the digest reads no family row); a commune's by the second.
        Index("ix_families_area", "province_code", "commune_code", "adults", "adult_members"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    head_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), unique=True)
    province_code: Mapped[int] = mapped_column(Integer)
    commune_code: Mapped[int] = mapped_column(Integer, index=True)
    # Kept as it is, not hashed: the head and members see it again to share it. It only
    # lets someone join (and see the members' names and titles), guessing is limited.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    adults: Mapped[int] = mapped_column(Integer)  # people aged 18 or more, as the head said
    # Members aged 18 or more (when they joined), kept by storage.families on every change
    # of members: the share of titled adults is taken of max(adults, adult_members).
    adult_members: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class FamilyMember(Base):
    """Who belongs to a family (its head too): a person belongs to one at most."""

    __tablename__ = "family_members"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    family_id: Mapped[int] = mapped_column(
        ForeignKey("families.id", ondelete="CASCADE"), index=True
    )
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # 18 or older, as of the family's last change of members (storage.families._recount):
    # counted among its adults, and in the digest without reading the people table.
    adult: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class FamilyAssessment(Base):
    """A family's self-assessment of one campaign year, answered by its head. `titled`:
    the members holding the Learning Citizen title counted into it when submitted."""

    __tablename__ = "family_assessments"
    __table_args__ = (
        UniqueConstraint("family_id", "year", name="uq_family_assessments_family_year"),
        Index("ix_family_assessments_year_status", "year", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    criteria: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # in_progress | submitted
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType)  # indicator → option index
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    total: Mapped[int | None] = mapped_column(Integer)
    reached: Mapped[bool | None] = mapped_column(Boolean)
    titled: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class CommuneTarget(Base):
    """A commune's population and targets, set by an admin: how many adults and officials
    live or work there, and the share of each that should hold the title (None: the
    national target, flows.digest.TARGETS)."""

    __tablename__ = "commune_targets"

    commune_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    province_code: Mapped[int] = mapped_column(Integer)
    adults: Mapped[int | None] = mapped_column(Integer)
    officials: Mapped[int | None] = mapped_column(Integer)
    adults_pct: Mapped[int | None] = mapped_column(Integer)
    officials_pct: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    households: Mapped[int | None] = mapped_column(Integer)  # for the families' target


class Download(Base):
    """A file offered by link for a while, on channels that cannot send it (an export on
    Zalo, whose OA upload takes images, PDF and Word only). Only the link's token's sha256
    is kept, so the table does not give away working links."""

    __tablename__ = "downloads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Whose it is (an admin's export): the link ends when the account does or the admin
    # is revoked.
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_accounts.id", ondelete="CASCADE"), index=True
    )
    file_name: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    # It names people (a commune's named list): gone when one of them is deleted.
    personal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class HealthCheck(Base):
    """Each bot process writes here when /healthz is asked: a database that answers a
    SELECT but cannot commit a write (a full disk, a read-only file) is not healthy."""

    __tablename__ = "health_checks"

    process: Mapped[str] = mapped_column(String(64), primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ForgottenEvent(Base):
    """The ids of events of people who deleted their data (/delete), kept a week without
    anything else: the same update delivered again (a retry) is recognised as seen, and
    does not bring the deleted chat account back."""

    __tablename__ = "forgotten_events"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)  # its sha256
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


# --- counters (storage.tallies): kept by triggers in the transaction of every change ---


class TallyPeople(Base):
    """People per commune and group (their own group), and how many came on paper."""

    __tablename__ = "tally_people"

    province_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    people: Mapped[int] = mapped_column(Integer, default=0)
    paper: Mapped[int] = mapped_column(Integer, default=0)


class TallyNew(Base):
    """People per day of registration (Vietnam's day, as YYYYMMDD), commune and group."""

    __tablename__ = "tally_new"

    reg_day: Mapped[int] = mapped_column(Integer, primary_key=True)
    province_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    people: Mapped[int] = mapped_column(Integer, default=0)


class TallyAssessments(Base):
    """Self-assessments per campaign year, commune (their person's), the group they were
    answered under and the person's own group, by where they stand."""

    __tablename__ = "tally_assessments"

    campaign_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    province_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    person_group: Mapped[str] = mapped_column(String(16), primary_key=True)
    assessments: Mapped[int] = mapped_column(Integer, default=0)
    in_progress: Mapped[int] = mapped_column(Integer, default=0)
    submitted: Mapped[int] = mapped_column(Integer, default=0)
    reached: Mapped[int] = mapped_column(Integer, default=0)
    recognised: Mapped[int] = mapped_column(Integer, default=0)


class TallyFamilies(Base):
    """Learning families per commune, and the adults in them (the larger of what the head
    said and the adult members)."""

    __tablename__ = "tally_families"

    province_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    families: Mapped[int] = mapped_column(Integer, default=0)
    adults: Mapped[int] = mapped_column(Integer, default=0)


class TallyFamilyYears(Base):
    """Per year and commune: the families' self-assessments by where they stand, and the
    adult members who hold or reached the title that year."""

    __tablename__ = "tally_family_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    province_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    commune_code: Mapped[int] = mapped_column(Integer, primary_key=True)
    in_progress: Mapped[int] = mapped_column(Integer, default=0)
    submitted: Mapped[int] = mapped_column(Integer, default=0)
    reached: Mapped[int] = mapped_column(Integer, default=0)
    titled: Mapped[int] = mapped_column(Integer, default=0)

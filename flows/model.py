"""What goes into and out of a flow step.

In: the `Snapshot` of the conversation (as stored), one `Event`, and the `World` (static
data, the clock reading, and what the shell looked up because the step said it `Needs`
it). Out: an `Outcome`: the new state, `Reply`s to show and domain `Effect`s to store.

Channels translate their updates into `Event`s and `Reply`s into API calls; storage turns
`Effect`s into rows and fills `Needs`. Nothing here knows about Telegram, Zalo, SQL or
clocks.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, TypedDict

from flows.commands import command_named
from flows.criteria import CriteriaSet
from flows.digest import Digest
from flows.lang import Lang
from flows.places import Area, Gazetteer
from flows.scoring import AreaFlags, ScoreResult
from flows.text import clean

if TYPE_CHECKING:  # flows.deadlines and flows.paper read this module
    from flows.deadlines import Deadline
    from flows.paper import PaperForm

EventKind = Literal["text", "option", "contact", "command", "file", "unsupported"]
ReplyKind = Literal["text", "options", "ask_phone", "file", "notice"]
Status = Literal["in_progress", "submitted"]  # of an assessment
ReportKind = Literal["stats", "xlsx", "csv", "names", "poster", "template"]

# Roles an account can hold besides being a citizen; both receive deadline reminders.
Role = Literal["admin", "focal_point"]
ADMIN: Final = "admin"  # quản trị viên: sees and acts on the data of their scope
FOCAL_POINT: Final = "focal_point"  # đầu mối đơn vị: the focal point of a unit


@dataclass(frozen=True)
class Event:
    """One thing a person did. "unsupported": a picture, sticker, voice message... that
    the bot cannot read."""

    kind: EventKind
    text: str = ""
    option: str | None = None  # the option id, for kind "option"
    prompt: int | None = None  # which question the option belonged to
    phone: str | None = None  # for kind "contact"
    contact_is_own: bool = True
    command: str | None = None  # canonical command name, for kind "command"
    args: str = ""  # e.g. the deep-link payload of /start
    event_id: str | None = None  # the channel's id, for de-duplication
    # When the person sent it, by the channel's clock (None: not known). A message held up
    # by an outage must not answer a question asked after it was sent.
    sent_at: datetime | None = None
    # kind "file": a spreadsheet sent in chat (its caption is `text`)
    file_name: str | None = None
    file_data: bytes | None = field(default=None, repr=False)

    @staticmethod
    def from_text(text: str, event_id: str | None = None, sent_at: datetime | None = None) -> Event:
        """Typed text, cleaned (`flows.text.clean`: no control or invisible characters);
        "/start c70" or "/start@SomeBot c70" becomes a command event."""
        text = clean(text)
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            head, _, rest = stripped[1:].partition(" ")
            name = command_named(head.split("@", 1)[0])
            if name:
                return Event(
                    "command",
                    text=text,
                    command=name,
                    args=rest.strip(),
                    event_id=event_id,
                    sent_at=sent_at,
                )
            return Event(
                "command",
                text=text,
                command="unknown",
                args=stripped,
                event_id=event_id,
                sent_at=sent_at,
            )
        return Event("text", text=text, event_id=event_id, sent_at=sent_at)


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class Reply:
    """Something to show. A "notice" says why the last input was not taken (an old
    button, a wrong answer); a channel may show it lightly, e.g. Telegram as the answer
    to a tapped button. Its absence after a tap means the tap was accepted."""

    kind: ReplyKind
    text: str
    options: tuple[Option, ...] = ()
    prompt: int | None = None
    file_name: str | None = None
    file_data: bytes | None = None
    # The file names people (a commune's named list): sent only to whom it was made for,
    # never kept by link longer than needed, and dropped when one of them is deleted.
    personal: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "text": self.text}
        if self.options:
            data["options"] = [[o.id, o.label] for o in self.options]
        if self.prompt is not None:
            data["prompt"] = self.prompt
        if self.file_name is not None:
            data["file_name"] = self.file_name
            data["file_data"] = base64.b64encode(self.file_data or b"").decode()
        if self.personal:
            data["personal"] = True
        return data

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Reply:
        return Reply(
            kind=data["kind"],
            text=data["text"],
            options=tuple(Option(i, label) for i, label in data.get("options", ())),
            prompt=data.get("prompt"),
            file_name=data.get("file_name"),
            file_data=base64.b64decode(data["file_data"]) if "file_data" in data else None,
            personal=bool(data.get("personal", False)),
        )


@dataclass(frozen=True)
class Profile:
    """What a person registered (thông tin đăng ký)."""

    full_name: str
    birth_year: int
    gender: str  # "male" | "female" | "other"
    group: str  # criteria group code, "1".."4"
    province_code: int
    commune_code: int
    village: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class AssessmentView:
    """This campaign year's assessment of the person, as stored."""

    year: int
    group: str
    status: Status
    answers: Mapping[str, int] = field(default_factory=dict)  # indicator → option index
    submitted_at: datetime | None = None
    # The commune's decision: recognised (on a date), or returned with a reason (then the
    # assessment is in progress again, until submitted anew).
    recognised_at: datetime | None = None
    returned_at: datetime | None = None
    return_reason: str | None = None


@dataclass(frozen=True)
class InviteView:
    """A code an admin handed out (e.g. to the focal points of units in a commune). Only
    its hash is stored: `code` is the code as typed when looked up, else its hint."""

    code: str
    role: Role
    area: Area
    expires_at: datetime
    revoked: bool = False
    uses: int = 0
    key: str = ""  # how storage knows it (not the code), to count its uses


@dataclass(frozen=True)
class AdminView:
    """An admin (quản trị viên) and their scope: they see only data inside `area`."""

    id: int  # how /admins lists them and /revoke names them
    area: Area
    monthly: bool = False  # also a summary of the past month on the 1st
    channel: str = ""
    # Also reminded of the deadlines set for areas inside their scope (a national admin,
    # those of the provinces), if they chose to (/deadlines follow on).
    follows_inside: bool = False
    name: str | None = None  # their registered name, if they registered as a citizen
    since: datetime | None = None
    invited_by: int | None = None  # the inviting admin's account (None: the CLI)
    language: str = "vi"


@dataclass(frozen=True)
class Candidate:
    """Someone whose submitted self-score reaches the title, not yet recognised."""

    assessment_id: int
    name: str
    village: str | None
    group: str
    total: int
    submitted_at: datetime
    phone: str | None = None
    birth_year: int | None = None
    points: Mapping[str, int] = field(default_factory=dict)  # indicator → points


@dataclass(frozen=True)
class PaperMatch:
    """A paper form that commune staff entered with the phone number someone gives while
    registering in chat: theirs to take over, once they say it is them."""

    person_id: int
    profile: Profile
    assessment: AssessmentView | None = None  # this campaign year's, if the form had one


@dataclass(frozen=True)
class CodeAttempts:
    """Wrong codes tried lately (flows.codes.ATTEMPTS_WINDOW): by this account, and by
    everyone."""

    mine: int = 0
    overall: int = 0


@dataclass(frozen=True)
class Candidates:
    """The people of a commune waiting for recognition: how many, and the first few."""

    commune: int
    count: int
    listed: tuple[Candidate, ...] = ()


@dataclass(frozen=True)
class UnitAnswerView:
    """One answer of a unit's self-assessment: the option chosen, and by whom."""

    option: int
    by: str | None = None  # the focal point's name (None: not given)
    mine: bool = False  # given by the focal point at hand


@dataclass(frozen=True)
class UnitView:
    """A focal point's unit (Đơn vị học tập) and its self-assessment of `year`, which
    every focal point of the unit shares (status None: not begun)."""

    name: str
    area: Area
    year: int
    criteria: str  # the code of the unit's criteria set
    me: str | None = None  # the focal point's own name, once given
    status: Status | None = None
    answers: Mapping[str, UnitAnswerView] = field(default_factory=dict)
    submitted_at: datetime | None = None
    submitted_by: str | None = None
    recognised_at: datetime | None = None
    returned_at: datetime | None = None
    return_reason: str | None = None


@dataclass(frozen=True)
class UnitRow:
    """A unit in an admin's scope and where its self-assessment of a year stands."""

    unit_id: int
    name: str
    area: Area
    criteria: str
    assessment_id: int | None = None
    status: Status | None = None
    answered: int = 0
    total: int | None = None
    band: str | None = None
    reached: bool | None = None
    points: Mapping[str, int] = field(default_factory=dict)  # indicator → points
    submitted_at: datetime | None = None
    submitted_by: str | None = None
    recognised_at: datetime | None = None
    returned_at: datetime | None = None
    return_reason: str | None = None


@dataclass(frozen=True)
class FamilyMember:
    """A member of a learning family, and where their Learning Citizen self-assessment of
    the year stands: "recognised", "reached" (submitted, reaching the title), "submitted"
    (not reaching it), "in_progress" or None (not begun)."""

    name: str
    head: bool = False
    me: bool = False
    standing: str | None = None
    key: int = 0  # how storage knows them (the head removes a member by it)
    # 18 or older (as of the family's last change of members): counted among its adults
    adult: bool = True

    @property
    def titled(self) -> bool:
        """An adult who holds the title this year, or reached it by self-assessment."""
        return self.adult and self.standing in ("recognised", "reached")


@dataclass(frozen=True)
class FamilyView:
    """The learning family (Gia đình học tập) the person belongs to, its members and its
    self-assessment of `year` (status None: not begun), as stored."""

    family_id: int
    code: str  # what members join with
    area: Area
    adults: int  # people aged 18 or more in the household, as the head said it
    members: tuple[FamilyMember, ...]
    year: int
    criteria: str
    status: Status | None = None
    answers: Mapping[str, int] = field(default_factory=dict)  # indicator → option index
    submitted_at: datetime | None = None
    total: int | None = None
    reached: bool | None = None  # the submitted result reaches the criteria
    titled_then: int | None = None  # members holding the title when it was submitted

    @property
    def head(self) -> FamilyMember:
        return next((m for m in self.members if m.head), self.members[0])

    @property
    def mine(self) -> bool:
        """The person at hand is the household head."""
        return self.head.me

    @property
    def titled(self) -> int:
        """Adult members who hold the title or reached it by self-assessment."""
        return sum(1 for m in self.members if m.titled)

    @property
    def adults_counted(self) -> int:
        """Whom the adults' share is taken of: the adults the head said, or the adult
        members who joined if they are more."""
        return max(self.adults, sum(1 for m in self.members if m.adult))


@dataclass(frozen=True)
class FamilyFound:
    """The family a code names (for someone about to join it)."""

    family_id: int
    head_name: str
    area: Area
    members: int


@dataclass(frozen=True)
class Report:
    """An admin's numbers for an area, and the files made from them (the chart, an
    export): read and made by the shell before the step."""

    request: ReportRequest
    area: Area
    digest: Digest | None  # None for the named list and the posters
    files: tuple[tuple[str, bytes], ...] = ()
    missing: tuple[str, ...] = ()  # settings a poster lacks (TELEGRAM_BOT_USERNAME...)


# --- the conversation state (stored as JSON) -------------------------------------------


class Draft(TypedDict, total=False):
    """Registration answers so far; None: asked again (being changed)."""

    name: str | None
    birth_year: int | None
    gender: str | None
    group: str | None
    province: int | None
    commune: int | None
    village: str | None
    phone: str | None


class UnitState(TypedDict):
    name: str
    province: int | None
    commune: int | None


class UnitInvite(TypedDict, total=False):
    key: str  # the invite's key in storage: the code itself is not kept
    code: str  # (conversations begun before keys)
    province: int | None
    commune: int | None


class RecognitionState(TypedDict, total=False):
    commune: int
    done: list[int]  # decided on in this session: not listed again
    pick: int  # the assessment on screen
    until: str  # "recognise all": those submitted until then (ISO time)
    count: int
    year: int  # the campaign year being recognised (/congnhan 2026 in January)


class PaperEntry(TypedDict, total=False):
    """A paper form being entered in chat by commune staff (flows.admin.paperform)."""

    commune: int
    name: str
    birth_year: int
    gender: str
    group: str
    village: str | None
    phone: str | None
    answers: dict[str, int]  # indicator → option index
    no_answers: bool  # the form has no self-assessment


class ConversationState(TypedDict, total=False):
    """Where the person is and what they typed so far. The profile, the answers and the
    roles are stored in tables of their own."""

    lang: str
    prompt: int  # the current question's number: buttons of earlier ones are stale
    screen: str | None
    back: str | None  # where a side screen (language, delete...) returns to
    input_at: str  # when the newest message taken was sent (ISO): older ones are late
    reminders: bool  # False after /reminders off
    # registering
    draft: Draft
    editing: bool
    edit_before: dict[str, Any]  # the fields being changed, as they were (for "quay lại")
    year_guess: int  # a year of birth typed with two digits, to check
    group_guess: list[str]  # the group someone's words placed them in, and the words
    matches: list[int]
    match_total: int
    formers: list[list[Any]]  # old names that matched: [name, district, [2025 codes]]
    # self-scoring
    idx: int
    review_return: bool
    # a unit's focal point
    unit: UnitState
    unit_invite: UnitInvite
    unit_idx: int  # the unit's question on screen
    unit_review: bool  # back to the unit's review after changing an answer
    unit_back: str | None  # where the unit's self-assessment returns to
    unit_pick: int  # an admin: the unit assessment on screen
    unit_seen: str  # ... as submitted then (ISO time): a newer submission is looked at anew
    unit_answers_seen: str  # a focal point: the unit's answers on their review screen
    unit_reason_for: int  # an admin: the unit assessment being returned
    # a learning family
    family_back: str | None  # where the family's screens return to
    family_idx: int  # the family's question on screen
    family_review: bool  # back to the family's review after changing an answer
    family_join: dict[str, Any]  # the family about to be joined: id, code (no names)
    family_remove: int  # the member the head is about to take off
    family_new: bool  # the adults asked for a family being registered
    units_back: str | None  # where an admin's /units returns to
    # an admin recognising titles
    rec: RecognitionState
    rec_back: str | None
    # an admin entering a paper form
    paper: PaperEntry
    paper_back: str | None


@dataclass(frozen=True)
class Snapshot:
    """Everything stored about one conversation, loaded by the dispatcher before a step."""

    state: ConversationState
    person: Profile | None = None
    assessment: AssessmentView | None = None
    area: AreaFlags = field(default_factory=AreaFlags)


# --- Needs: what a step reads beyond its conversation, and the World it gets ----------


@dataclass(frozen=True)
class Listing:
    """The first `limit` candidates for recognition in `commune` (None: the admin's own
    commune)."""

    commune: int | None
    limit: int
    # A commune asked for by name: what the name can mean (the one in the admin's scope,
    # if only one is, is listed; see flows.admin.common.in_scope).
    options: tuple[tuple[Area, ...], ...] = ()
    year: int | None = None  # None: the current campaign year


@dataclass(frozen=True)
class ReportRequest:
    """An admin's numbers of `area` (None: their own scope): "stats" (the digest and its
    chart), an export as "xlsx" or "csv", "names": a commune's named list for its
    recognition decision, or "poster": the posters of a commune or of a province's
    communes. Heavy: read before the transaction."""

    kind: ReportKind
    area: Area | None = None
    options: tuple[tuple[Area, ...], ...] = ()  # an area asked for by name: what it can mean
    year: int | None = None  # None: the current campaign year


@dataclass(frozen=True)
class Needs:
    """What one step will read, declared by the flows (`flows.conversation.needs`) and
    looked up by the shell (`bot.preload`). Whatever is scoped (candidates, a report, the
    admins) is looked up only for an admin, and only inside their scope."""

    invite: str | None = None  # the code an event quotes (/donvi CODE, /admin CODE)
    admin: bool = False  # whether the account is an admin, and of what
    candidates: Listing | None = None
    report: ReportRequest | None = None
    admins: bool = False  # the admins in the admin's scope
    fresh_code: bool = False  # a new random code, should the step hand one out
    deadlines: bool = False  # the deadlines of the admin's scope and above it
    # A paper form not yet taken with this (phone, name, year of birth, commune).
    paper_phone: tuple[str, str, int, int] | None = None
    upload: bytes | None = None  # a spreadsheet sent in chat, to be read (heavy)
    # (commune, name, year of birth, village, phone) of a paper form being entered: did
    # that person register themselves in chat?
    paper_own: tuple[int, str, int, str | None, str | None] | None = None
    unit: bool = False  # the focal point's unit and its self-assessment
    unit_sheet: str | None = None  # its summary sheet, in this language
    units: int | None = None  # an admin: the units of their scope, for this year
    family: bool = False  # the person's learning family and its self-assessment
    family_code: str | None = None  # the code a member quotes to join a family

    def __or__(self, other: Needs) -> Needs:
        """Both: what `other` asks for, and what this asks for that `other` does not."""
        merged = {f.name: getattr(other, f.name) or getattr(self, f.name) for f in fields(self)}
        return Needs(**merged)


@dataclass(frozen=True)
class World:
    """What a flow may know beyond the conversation: static data, the clock reading, and
    what the shell looked up because the step `Needs` it (else the defaults below)."""

    criteria: CriteriaSet
    places: Gazetteer
    langs: Mapping[str, Lang]
    now: datetime
    campaign_year: int
    default_lang: str = "vi"
    # Looked up when needed:
    invite: InviteView | None = None  # the code the event quotes; None if there is none
    code_attempts: CodeAttempts = field(default_factory=CodeAttempts)
    admin: AdminView | None = None  # this account is an admin
    candidates: Candidates | None = None
    report: Report | None = None
    admins: tuple[AdminView, ...] = ()
    # A fresh random code (an admin's /invite): randomness comes from the shell, like
    # the clock reading.
    fresh_code: str = ""
    # The active deadlines an admin sees: those of their scope and of the areas above it.
    deadlines: tuple[Deadline, ...] = ()
    paper_match: PaperMatch | None = None  # a paper form with the phone being registered
    paper_own: bool = False  # the paper form's person registered themselves in chat
    # The rows of the spreadsheet sent in chat (None: not one the bot can read).
    sheet: tuple[tuple[Any, ...], ...] | None = None
    # The criteria sets of learning units, by code (flows.criteria.UNIT_SETS).
    unit_sets: Mapping[str, CriteriaSet] = field(default_factory=dict)
    unit: UnitView | None = None  # this focal point's unit (None: not a focal point)
    unit_sheet: tuple[str, bytes] | None = None  # its summary sheet (file name, xlsx)
    units: tuple[UnitRow, ...] = ()  # an admin: the units of their scope
    # The criteria set of learning families (flows.criteria.FAMILY_SET).
    family_set: CriteriaSet | None = None
    family: FamilyView | None = None  # the person's learning family (None: in none)
    family_found: FamilyFound | None = None  # the family the quoted code names


# --- Effects: domain changes the dispatcher writes in the same transaction as the state ---


@dataclass(frozen=True)
class SavePerson:
    profile: Profile
    language: str


@dataclass(frozen=True)
class SetLanguage:
    language: str


@dataclass(frozen=True)
class StartAssessment:
    year: int
    group: str
    criteria: str


@dataclass(frozen=True)
class SaveAnswer:
    indicator: str
    option: int
    points: int


@dataclass(frozen=True)
class ResetAssessment:
    group: str


@dataclass(frozen=True)
class SubmitAssessment:
    result: ScoreResult


@dataclass(frozen=True)
class ClaimPaperForm:
    """Someone registering in chat is the person of a paper form: the chat account takes
    over that registration (and its self-assessment) instead of making a new one."""

    person_id: int


@dataclass(frozen=True)
class DeletePerson:
    """/delete: the person's registration, answers and chat accounts go (Decree 13/2023)."""

    erases: ClassVar[bool] = True  # the shell also makes the database forget what it held


@dataclass(frozen=True)
class SaveRecipient:
    """This account receives deadline reminders as `role` for `area` (a unit's focal
    point, with the unit's name), registered with the invite whose stored key is
    `invite_key` (`code`: the code itself, from conversations begun before keys)."""

    role: Role
    area: Area
    unit: str | None
    language: str
    code: str | None = None
    invite_key: str | None = None


@dataclass(frozen=True)
class SetFocalName:
    """A focal point gives their name, shown to the unit's other focal points."""

    name: str


@dataclass(frozen=True)
class StartUnitAssessment:
    """The unit's self-assessment of `year` begins (if no focal point began it yet)."""

    year: int
    criteria: str


@dataclass(frozen=True)
class SaveUnitAnswer:
    year: int
    indicator: str
    option: int
    points: int


@dataclass(frozen=True)
class SubmitUnitAssessment:
    year: int
    result: ScoreResult


@dataclass(frozen=True)
class SetFamily:
    """The household head registers their family as a learning family (with the code its
    members join with), or changes how many adults live in it."""

    adults: int
    code: str = ""  # a new family's code (unused when the family exists)


@dataclass(frozen=True)
class JoinFamily:
    family_id: int


@dataclass(frozen=True)
class RemoveFamilyMember:
    """The household head takes someone off the family's members (storage checks the
    member is in the head's family)."""

    member: int  # FamilyMember.key


@dataclass(frozen=True)
class NewFamilyCode:
    """The household head replaces the family's code: the old one no longer works."""

    code: str


@dataclass(frozen=True)
class LeaveFamily:
    """A member leaves the family; the household head leaving ends it (members stay
    citizens, only the family and its self-assessment go)."""


@dataclass(frozen=True)
class SaveFamilyAnswer:
    year: int
    criteria: str
    indicator: str
    option: int


@dataclass(frozen=True)
class SubmitFamilyAssessment:
    year: int
    result: ScoreResult
    answers: Mapping[str, int]  # the counted indicators' options included, as scored
    titled: int  # members holding the title, counted into the result


@dataclass(frozen=True)
class WrongCode:
    """A code was typed that is not valid (counted: wrong attempts are limited)."""

    role: Role | Literal["family"]


@dataclass(frozen=True)
class RemoveRecipient:
    role: Role


# Admins' effects: the storage checks the scope again (and that a single-use code is
# still unused) in the same transaction.


@dataclass(frozen=True)
class BecomeAdmin:
    code: str
    area: Area
    language: str


@dataclass(frozen=True)
class NewInvite:
    code: str
    role: Role
    area: Area
    expires_at: datetime


@dataclass(frozen=True)
class RevokeAdmin:
    admin_id: int
    scope: Area  # the revoking admin's: the revoked must lie inside it


@dataclass(frozen=True)
class SetMonthly:
    on: bool


@dataclass(frozen=True)
class FollowInside:
    """An admin chooses whether to be reminded of the deadlines set inside their scope."""

    on: bool


@dataclass(frozen=True)
class SetTarget:
    area: Area  # a commune
    changes: Mapping[str, int]  # adults, officials, adults_pct, officials_pct


@dataclass(frozen=True)
class Recognise:
    """Recognise one candidate's title, or all submitted until `until`; each is told."""

    tells_others: ClassVar[bool] = True  # the scheduler is woken to tell them
    commune: int
    year: int
    assessment_id: int | None = None  # None: all candidates submitted until `until`
    until: datetime | None = None


@dataclass(frozen=True)
class ReturnAssessment:
    """Send a candidate's self-assessment back with a reason; they are told."""

    tells_others: ClassVar[bool] = True
    commune: int
    year: int
    assessment_id: int
    reason: str


@dataclass(frozen=True)
class AddDeadline:
    """An admin's deadline for their scope (checked against it when stored)."""

    deadline: Deadline


@dataclass(frozen=True)
class CancelDeadline:
    deadline_id: int


@dataclass(frozen=True)
class EnterPaperForms:
    """Paper forms entered in chat by commune staff (one typed in, or a spreadsheet sent),
    for a commune of their scope (checked again when stored); scored with `criteria` as
    any self-assessment."""

    forms: tuple[PaperForm, ...]
    commune: Area
    year: int
    criteria: CriteriaSet = field(repr=False, compare=False)


@dataclass(frozen=True)
class DecideUnit:
    """An admin recognises a unit's submitted self-assessment (reason None) or returns it
    with a reason; the storage checks the unit lies in `scope`; its focal points are told."""

    tells_others: ClassVar[bool] = True
    assessment_id: int
    submitted_at: datetime | None  # the version the admin saw
    scope: Area
    reason: str | None = None


AdminEffect = (
    BecomeAdmin
    | NewInvite
    | RevokeAdmin
    | SetMonthly
    | FollowInside
    | SetTarget
    | Recognise
    | ReturnAssessment
    | AddDeadline
    | CancelDeadline
    | EnterPaperForms
    | DecideUnit
)

Effect = (
    SavePerson
    | SetLanguage
    | StartAssessment
    | SaveAnswer
    | ResetAssessment
    | SubmitAssessment
    | ClaimPaperForm
    | DeletePerson
    | SaveRecipient
    | RemoveRecipient
    | SetFocalName
    | StartUnitAssessment
    | SaveUnitAnswer
    | SubmitUnitAssessment
    | SetFamily
    | JoinFamily
    | RemoveFamilyMember
    | NewFamilyCode
    | LeaveFamily
    | SaveFamilyAnswer
    | SubmitFamilyAssessment
    | WrongCode
    | AdminEffect
)


@dataclass(frozen=True)
class Outcome:
    state: ConversationState
    replies: tuple[Reply, ...]
    effects: tuple[Effect, ...]
    # The person stopped half-way through something (registration, self-scoring) and has
    # not turned reminders off: a quiet period starting now may be nudged.
    nudge: bool = False

    @property
    def tells_others(self) -> bool:
        """An effect has news for other people (a citizen whose title was decided on)."""
        return any(getattr(e, "tells_others", False) for e in self.effects)

    @property
    def erases(self) -> bool:
        """An effect erases personal data (/delete)."""
        return any(getattr(e, "erases", False) for e in self.effects)

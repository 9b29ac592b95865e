"""What goes into and out of a flow step: Event and snapshot in; state, Replies and Effects out.

Channels translate their updates into `Event`s and `Reply`s into API calls; storage turns
`Effect`s into rows. Nothing here knows about Telegram, Zalo, SQL or clocks.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flows.criteria import CriteriaSet
from flows.lang import Lang
from flows.places import Area, Gazetteer
from flows.scoring import AreaFlags, ScoreResult

# Slash commands; the second column lists aliases people may type in Vietnamese, unaccented.
COMMANDS: dict[str, tuple[str, ...]] = {
    "start": ("batdau", "tieptuc", "continue"),
    "help": ("huongdan", "trogiup"),
    "language": ("lang", "ngonngu"),
    "result": ("ketqua", "myresult"),
    "restart": ("lamlai",),
    "delete": ("xoa", "xoadulieu", "deletemydata"),
    "reminders": ("nhacnho", "remind"),
    "unit": ("donvi", "daumoi", "focalpoint"),
    # Admins (quản trị): refused with an explanation to anyone else.
    "admin": ("quantri",),
    "stats": ("thongke", "sotlieu", "solieu"),
    "export": ("baocao", "xuat", "xuatbaocao"),
    "invite": ("moi", "moiquantri"),
    "admins": ("dsquantri", "danhsachquantri"),
    "revoke": ("thuhoi", "huyquyen"),
    "recognise": ("congnhan", "recognize"),
    "target": ("chitieu", "danso"),
}
_ALIASES = {alias: name for name, aliases in COMMANDS.items() for alias in (name, *aliases)}


@dataclass(frozen=True)
class Event:
    """One thing a person did. kind: "text" | "option" | "contact" | "command" |
    "unsupported" (a picture, sticker, voice message... that the bot cannot read)."""

    kind: str
    text: str = ""
    option: str | None = None  # the option id, for kind "option"
    prompt: int | None = None  # which question the option belonged to
    phone: str | None = None  # for kind "contact"
    contact_is_own: bool = True
    command: str | None = None  # canonical command name, for kind "command"
    args: str = ""  # e.g. the deep-link payload of /start
    event_id: str | None = None  # the channel's id, for de-duplication

    @staticmethod
    def from_text(text: str, event_id: str | None = None) -> Event:
        """Typed text; "/start c70" or "/start@SomeBot c70" becomes a command event."""
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            head, _, rest = stripped[1:].partition(" ")
            name = _ALIASES.get(head.split("@", 1)[0].lower())
            if name:
                return Event(
                    "command", text=text, command=name, args=rest.strip(), event_id=event_id
                )
            return Event("command", text=text, command="unknown", args=stripped, event_id=event_id)
        return Event("text", text=text, event_id=event_id)


@dataclass(frozen=True)
class Option:
    id: str
    label: str


@dataclass(frozen=True)
class Reply:
    """Something to show. kind: "text" | "options" | "ask_phone" | "file" | "notice".

    A "notice" says why the last input was not taken (an old button, a wrong answer); a
    channel may show it lightly, e.g. Telegram as the answer to a tapped button. Its
    absence after a tap means the tap was accepted."""

    kind: str
    text: str
    options: tuple[Option, ...] = ()
    prompt: int | None = None
    file_name: str | None = None
    file_data: bytes | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "text": self.text}
        if self.options:
            data["options"] = [[o.id, o.label] for o in self.options]
        if self.prompt is not None:
            data["prompt"] = self.prompt
        if self.file_name is not None:
            data["file_name"] = self.file_name
            data["file_data"] = base64.b64encode(self.file_data or b"").decode()
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
    status: str  # "in_progress" | "submitted"
    answers: Mapping[str, int] = field(default_factory=dict)  # indicator → option index
    submitted_at: datetime | None = None


@dataclass(frozen=True)
class InviteView:
    """A code an admin handed out (e.g. to the focal points of units in a commune)."""

    code: str
    role: str  # "focal_point"
    area: Area
    expires_at: datetime
    revoked: bool = False
    uses: int = 0


@dataclass(frozen=True)
class AdminView:
    """An admin (quản trị viên) and their scope: they see only data inside `area`."""

    id: int  # how /admins lists them and /revoke names them
    area: Area
    monthly: bool = False  # also a summary of the past month on the 1st
    channel: str = ""
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


@dataclass(frozen=True)
class AdminData:
    """What the shell loaded or made for an admin's command before the step: the digest
    numbers (/stats), files (the chart, an export), the candidates for recognition in
    the commune being decided on (how many, the first few), the admins in scope."""

    digest: Any = None  # flows.digest.Digest
    files: tuple[tuple[str, bytes], ...] = ()
    candidates: tuple[int, tuple[Candidate, ...]] | None = None
    admins: tuple[AdminView, ...] = ()


@dataclass(frozen=True)
class Snapshot:
    """Everything stored about one conversation, loaded by the dispatcher before a step."""

    state: Mapping[str, Any]
    person: Profile | None = None
    assessment: AssessmentView | None = None
    area: AreaFlags = field(default_factory=AreaFlags)
    # The code the event quotes (/donvi CODE, /start dv-CODE), looked up; None if it
    # quotes none or the code does not exist.
    invite: InviteView | None = None
    admin: AdminView | None = None  # this account is an admin
    admin_data: AdminData | None = None


@dataclass(frozen=True)
class World:
    """What a flow may know beyond the conversation: static data and the clock reading."""

    criteria: CriteriaSet
    places: Gazetteer
    langs: Mapping[str, Lang]
    now: datetime
    campaign_year: int
    default_lang: str = "vi"
    # A fresh random code, should the step hand one out (an admin's /invite): randomness
    # comes from the shell, like the clock reading.
    fresh_code: str = ""


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
class DeletePerson:
    pass


@dataclass(frozen=True)
class SaveRecipient:
    """This account receives deadline reminders as `role` for `area` (a unit's focal
    point, with the unit's name), registered with invite `code`."""

    role: str
    area: Area
    unit: str | None
    language: str
    code: str | None = None


@dataclass(frozen=True)
class RemoveRecipient:
    role: str


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
    role: str
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
class SetTarget:
    area: Area  # a commune
    changes: Mapping[str, int]  # adults, officials, adults_pct, officials_pct


@dataclass(frozen=True)
class Recognise:
    commune: int
    year: int
    assessment_id: int | None = None  # None: all candidates submitted until `until`
    until: datetime | None = None


@dataclass(frozen=True)
class ReturnAssessment:
    commune: int
    year: int
    assessment_id: int
    reason: str


AdminEffect = (
    BecomeAdmin | NewInvite | RevokeAdmin | SetMonthly | SetTarget | Recognise | ReturnAssessment
)

Effect = (
    SavePerson
    | SetLanguage
    | StartAssessment
    | SaveAnswer
    | ResetAssessment
    | SubmitAssessment
    | DeletePerson
    | SaveRecipient
    | RemoveRecipient
    | AdminEffect
)


@dataclass(frozen=True)
class Outcome:
    state: dict[str, Any]
    replies: tuple[Reply, ...]
    effects: tuple[Effect, ...]
    # The person stopped half-way through something (registration, self-scoring) and has
    # not turned reminders off: a quiet period starting now may be nudged.
    nudge: bool = False

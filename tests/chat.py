"""Test helpers that talk to the bot as a person would: type text, tap a button by its
label, share a contact, and read what came back.

`FlowChat` drives the pure core alone: it plays the shell's part in memory (the effects
kept the way storage keeps them, and what a step `Needs` looked up in the data the test
gives it: an admin, candidates for recognition, invite codes, other admins).
`DispatchChat` goes through the real dispatcher and database."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from bot.scheduler import Scheduler
from flows.conversation import needs, step
from flows.model import (
    AdminView,
    AssessmentView,
    BecomeAdmin,
    Candidate,
    Candidates,
    CodeAttempts,
    DeletePerson,
    Event,
    InviteView,
    Outcome,
    Recognise,
    Reply,
    ResetAssessment,
    ReturnAssessment,
    RevokeAdmin,
    SaveAnswer,
    SavePerson,
    Snapshot,
    StartAssessment,
    SubmitAssessment,
    World,
    WrongCode,
)
from flows.places import Area
from flows.scoring import AreaFlags


class Conversation:
    """Common reading helpers over the replies of the last step."""

    replies: Sequence[Reply] = ()

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    @property
    def question(self) -> Reply:
        """The last reply that asks something (has options or is the last one)."""
        asking = [r for r in self.replies if r.prompt is not None]
        return asking[-1] if asking else self.replies[-1]

    @property
    def labels(self) -> list[str]:
        return [o.label for o in self.question.options]

    def option_event(self, label_part: str) -> Event:
        matches = [o for o in self.question.options if label_part.lower() in o.label.lower()]
        assert matches, f"no option with {label_part!r} in {self.labels}"
        return Event("option", option=matches[0].id, prompt=self.question.prompt)


class FlowChat(Conversation):
    """Drives the pure flow; effects are kept in memory the way storage would keep them,
    and what a step needs is looked up in the data given here (see the module docstring).
    Change `admin`, `candidates`... between steps to play what happens meanwhile."""

    def __init__(
        self,
        world: World,
        area: AreaFlags = AreaFlags(),  # noqa: B008
        admin: AdminView | None = None,
        candidates: Mapping[int, Iterable[Candidate]] | None = None,
        invites: Iterable[InviteView] = (),
        admins: Iterable[AdminView] = (),
    ) -> None:
        self.world = world
        self.snapshot = Snapshot({}, area=area)
        self.outcome: Outcome | None = None
        self.effects: list = []
        self.admin = admin
        self.candidates = {c: list(people) for c, people in (candidates or {}).items()}
        self.invites = {i.code: i for i in invites}
        self.admins = [*([admin] if admin else []), *admins]
        self.needs = None  # what the last step asked for
        self.wrong_codes = 0  # counted as storage counts them (within the hour)
        self.overall_wrong_codes = 0

    def looked_up(self, event: Event) -> World:
        """The world with what the step needs, as the shell (bot.preload) would fill it."""
        wanted = self.needs = needs(self.snapshot, event, self.world)
        found: dict = {}
        if wanted.invite:
            found["invite"] = self.invites.get(wanted.invite)
            found["code_attempts"] = CodeAttempts(
                self.wrong_codes, self.wrong_codes + self.overall_wrong_codes
            )
        if wanted.admin or wanted.candidates or wanted.admins or wanted.report:
            found["admin"] = self.admin
        admin = self.admin
        if admin is not None and wanted.candidates is not None:
            code = wanted.candidates.commune or admin.area.commune
            commune = self.world.places.commune(code)
            if commune and admin.area.contains(Area(commune.province_code, commune.code)):
                people = self.candidates.get(commune.code, [])
                listed = tuple(people[: wanted.candidates.limit])
                found["candidates"] = Candidates(commune.code, len(people), listed)
        if admin is not None and wanted.admins:
            found["admins"] = tuple(a for a in self.admins if admin.area.contains(a.area))
        if wanted.fresh_code:
            found["fresh_code"] = "NEWCODE2ABCD"
        return dataclasses.replace(self.world, **found)

    def _keep_admin_effect(self, e) -> None:
        if isinstance(e, BecomeAdmin):
            self.admin = AdminView(id=len(self.admins) + 1, area=e.area, language=e.language)
            self.admins.append(self.admin)
            self.invites.pop(e.code, None)
        elif isinstance(e, Recognise | ReturnAssessment):
            decided = getattr(e, "assessment_id", None)
            people = self.candidates.get(e.commune, [])
            self.candidates[e.commune] = [
                c for c in people if decided is not None and c.assessment_id != decided
            ]
        elif isinstance(e, RevokeAdmin):
            self.admins = [a for a in self.admins if a.id != e.admin_id]
        elif isinstance(e, WrongCode):
            self.wrong_codes += 1

    def send(self, event: Event) -> FlowChat:
        out = step(self.snapshot, event, self.looked_up(event))
        person, a = self.snapshot.person, self.snapshot.assessment
        for e in out.effects:
            if isinstance(e, SavePerson):
                person = e.profile
            elif isinstance(e, StartAssessment):
                a = AssessmentView(e.year, e.group, "in_progress", {})
            elif isinstance(e, SaveAnswer):
                a = dataclasses.replace(a, answers={**a.answers, e.indicator: e.option})
            elif isinstance(e, ResetAssessment):
                a = dataclasses.replace(a, answers={}, group=e.group)
            elif isinstance(e, SubmitAssessment):
                a = dataclasses.replace(a, status="submitted", submitted_at=self.world.now)
            elif isinstance(e, DeletePerson):
                person = a = None
            else:
                self._keep_admin_effect(e)
        self.snapshot = Snapshot(out.state, person, a, self.snapshot.area)
        self.outcome, self.replies = out, out.replies
        self.effects = list(out.effects)
        return self

    def type(self, text: str) -> FlowChat:
        return self.send(Event.from_text(text))

    def tap(self, label_part: str) -> FlowChat:
        return self.send(self.option_event(label_part))

    def type_all(self, *texts: str) -> FlowChat:
        for text in texts:
            self.type(text)
        return self

    @property
    def state(self) -> dict:
        return dict(self.snapshot.state)


# Registration typed up to the commune question (Hà Nội).
TO_COMMUNE = ("/start", "Trần An", "2000", "1", "1", "ha noi")


def register(
    chat, name: str = "Nguyễn Thị Hoa", group: str = "Nông dân", commune: str = "hoan kiem"
):
    """Complete registration in Vietnamese with typical answers."""
    chat.type("/start")
    chat.type(name)
    chat.type("1984")
    chat.tap("Nữ")
    chat.tap(group)
    chat.type("ha noi")
    chat.type(commune)
    chat.type("Tổ dân phố 5")
    chat.type("0912 345 678")
    chat.tap("Đúng rồi")
    return chat


class DispatchChat(Conversation):
    """One person talking through the real dispatcher and database."""

    def __init__(self, dispatcher, user: str = "u1", channel: str = "test") -> None:
        self.dispatcher, self.user, self.channel = dispatcher, user, channel
        self.delivery = None

    async def send(self, event: Event):
        self.delivery = await self.dispatcher.handle(self.channel, self.user, event)
        self.replies = self.delivery.replies
        return self

    async def type(self, text: str, event_id: str | None = None):
        return await self.send(Event.from_text(text, event_id=event_id))

    async def tap(self, label_part: str):
        return await self.send(self.option_event(label_part))


async def register_async(
    chat: DispatchChat, commune: str = "hoan kiem", province: str = "ha noi"
) -> DispatchChat:
    for text in (
        "/start",
        "Nguyễn Thị Hoa",
        "1984",
        "2",
        "1",
        province,
        commune,
        "Tổ 5",
        "Bỏ qua",
        "1",
    ):
        await chat.type(text)
    return chat


def scheduler_beside(dispatcher, channels, **kwargs) -> Scheduler:
    """A scheduler on the same database, clock, core and reminder schedules as a
    dispatcher, woken by it when a step has news for others (as `cdht run` wires them)."""
    scheduler = Scheduler(
        dispatcher.db, dispatcher.clock, dispatcher.core, channels, dispatcher.schedules, **kwargs
    )
    dispatcher.on_news = scheduler.wake
    return scheduler

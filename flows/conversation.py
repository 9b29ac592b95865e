"""The entry points of the pure core:

    needs(snapshot, event, world) -> Needs     what the step will read beyond the conversation
    step(snapshot, event, world) -> Outcome    the step itself, once the shell filled the world

Commands (/start, /help, /language, /result, /restart, /delete, /reminders and those of
units and admins) work on any screen; anything unexpected gets a short explanation and
the same question again, with nothing lost.
"""

from __future__ import annotations

from datetime import datetime

# Importing the feature modules registers their screens and commands.
from flows import admin, assessment, family, registration, unit_assessment, units
from flows.admin import paperform
from flows.lang import LANGUAGES, Lang
from flows.model import (
    DeletePerson,
    Event,
    Needs,
    Option,
    Outcome,
    SetLanguage,
    Snapshot,
    World,
)
from flows.navigation import resume, with_current
from flows.reminders import FAMILY, RESUME, STOP_REMINDERS, reminders_on
from flows.screens import CONFIRM_DELETE, CONFIRM_RESTART, LANGUAGE, MENU, UNIT_NAME
from flows.text import fold
from flows.turn import COMMAND_HANDLERS, SCREENS, Turn, command, match_option, screen

MAX_TEXT = 500  # longer messages are never a valid answer here

# Each language's name in itself: shown as-is whatever the current language.
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}

__all__ = ["command_descriptions", "needs", "step"]


def needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    """What the step for `event` will read beyond the conversation: declared by the
    command it is and by the screen the person is on. Every command also reads whether
    the person is an admin (/help shows them their commands; an admin is not pushed into
    registering). Pure, like `step`."""
    found = Needs()
    # The screen the person is on, and the one a side screen (the language, /delete's
    # question) leads back to: the step may show either.
    state = snapshot.state
    for name in (
        state.get("back"),
        state.get("rec_back"),
        state.get("paper_back"),
        state.get("unit_back"),
        state.get("units_back"),
        state.get("family_back"),
        state.get("screen"),
    ):
        shown = SCREENS.get(name or "")
        if shown is not None and shown.needs is not None:
            found |= shown.needs(snapshot, event, world)
    if event.kind in ("text", "option") and not state.get("screen"):
        # An admin or a unit's focal point outside any question is not pushed into
        # registering as a citizen.
        found |= Needs(admin=True, unit=True)
    if event.kind == "option" and event.option == unit_assessment.UNIT_ASSESS:
        found |= Needs(unit=True)  # a focal point's reminder: their unit's self-assessment
    if event.kind == "option" and event.option == FAMILY:
        found |= Needs(family=True)  # the citizen's menu: their learning family
    if event.kind == "file":  # a spreadsheet of paper forms, from an admin
        found |= Needs(admin=True, upload=event.file_data or b"")
    if event.kind == "command":  # a command's own needs win over its screen's
        found |= Needs(admin=True)
        handler = COMMAND_HANDLERS.get(event.command or "")
        if handler is not None and handler.needs is not None:
            found |= handler.needs(snapshot, event, world)
    return found


def step(snapshot: Snapshot, event: Event, world: World) -> Outcome:
    """Run one event through the conversation. Pure: no I/O, no clock, no randomness."""
    turn = Turn(snapshot, world, event)
    late = _late(turn, event)
    if event.sent_at is not None and not late:
        turn.state["input_at"] = event.sent_at.isoformat()
    if late and event.kind != "command":
        # Held up (an outage, a retry) behind a message sent after it, which was taken:
        # it must not answer the question asked since.
        turn.again(
            turn.t._(
                "A message you sent earlier arrived late, after your next one, so it was "
                "not used. Here is the current question:"
            )
        )
    elif event.kind == "command":
        _command(turn, event.command or "unknown", event.args)
    elif event.kind == "option" and event.option == RESUME:  # from a reminder
        _command(turn, "start", "")
    elif event.kind == "option" and event.option == unit_assessment.UNIT_ASSESS:
        unit_assessment.open_menu(turn)
    elif event.kind == "option" and event.option == FAMILY and turn.person is not None:
        family.open_menu(turn)
    elif event.kind == "option" and event.option == STOP_REMINDERS:
        _set_reminders(turn, False)
    elif event.kind == "file":
        paperform.upload(turn, event)
    elif (
        event.kind == "text"
        and turn.person is None
        and (code := registration.poster_code(event.text)) is not None
    ):  # the short code on a commune's poster ("XA 70"), as Zalo has no deep link
        _poster_code(turn, code)
    elif turn.screen not in SCREENS:
        resume(turn)
    elif not turn.leave_if_invalid():
        # (A screen that no longer makes sense, because the admin's rights were revoked
        # or the person was decided on meanwhile, is left with a word why, and input
        # meant for it is not applied to wherever that leads.)
        _answer(turn, event)
    return turn.outcome()


def _poster_code(turn: Turn, code: int) -> None:
    """The commune chosen on a poster, then registration goes on without the place
    questions (as with the Telegram link, `/start c70`)."""
    places, t = turn.world.places, turn.t
    commune = places.commune(code)
    province = places.province(commune.province_code) if commune else None
    if commune is None or province is None:
        text = t._(
            "No commune or ward has the code {code}: please check the code on the poster, "
            "or go on answering (you will be asked for your commune)."
        ).format(code=code)
        if turn.screen in SCREENS:
            turn.again(text)
        else:
            turn.say(text)
            resume(turn)
        return
    turn.say(
        t._("Your commune or ward: {commune}, {province}.").format(
            commune=commune.name, province=province.name
        )
    )
    _command(turn, "start", f"c{code}")


def _late(turn: Turn, event: Event) -> bool:
    """The event was sent before the newest message already taken."""
    newest = turn.state.get("input_at")
    if event.sent_at is None or not newest:
        return False
    return event.sent_at < datetime.fromisoformat(newest)


def _answer(turn: Turn, event: Event) -> None:
    t = turn.t
    current = SCREENS[turn.screen or ""]
    options = turn.current_options()
    if event.kind == "option":
        chosen = next((o for o in options if o.id == event.option), None)
        if event.prompt != turn.prompt or chosen is None or current.on_option is None:
            turn.again(t._("That button belongs to an earlier question. Here is the current one:"))
        else:
            current.on_option(turn, chosen.id)
        return
    if event.kind == "unsupported":
        turn.again(
            t._("I can only read text here. Please answer with a button or a short message.")
        )
        return
    if event.kind == "contact":
        if current.on_contact is None:
            turn.again(t._("Thank you, but I don't need a phone number now."))
        elif not event.contact_is_own:
            turn.again(t._("Please share your own phone number, not someone else's."))
        else:
            current.on_contact(turn, event.phone or "")
        return
    text = event.text.strip()
    if not text:
        turn.again(t._("I received an empty message."))
    elif len(text) > MAX_TEXT:
        turn.again(t._("That message is too long for an answer here."))
    elif (
        turn.screen is not None
        and turn.screen.startswith("reg.")
        and (fold(text) in registration.BACK_WORDS)
    ):
        registration.go_back(turn)
    elif (chosen := match_option(text, options)) is not None and current.on_option is not None:
        current.on_option(turn, chosen.id)
    elif current.on_text is not None:
        current.on_text(turn, text)
    else:
        turn.again(t._("Please choose one of the answers: tap a button or type its number."))


# --- commands --------------------------------------------------------------------------


def _command(turn: Turn, name: str, args: str) -> None:
    t = turn.t
    handler = COMMAND_HANDLERS.get(name)
    if handler is None:
        with_current(
            turn,
            t._("I don't know the command “{command}”. Send /help to see what I can do.").format(
                command=args[:30]
            ),
        )
    elif handler.admin and turn.world.admin is None:
        admin.not_an_admin(turn)
    else:
        handler.run(turn, args)


def _start_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    return Needs(invite=units.quoted_code(event))


@command("start", "batdau", "tieptuc", "continue", needs=_start_needs)
def _start(turn: Turn, args: str) -> None:
    t = turn.t
    if units.quoted_code(turn.event):
        units.use_invite(turn)
        return
    linked = bool(args) and turn.person is None and registration.apply_deep_link(turn, args)
    if linked and turn.screen in SCREENS:
        registration.next_step(turn)  # the place is filled in: skip those questions
    elif (
        turn.assessment is not None
        and turn.assessment.status == "submitted"
        and turn.screen in (None, MENU)
    ):
        # Nothing to continue: say where the submitted self-assessment stands.
        turn.say(t._("Welcome back!") + " " + assessment.standing_text(turn, after_result=False))
        turn.go(MENU)
    elif turn.screen in SCREENS:
        turn.again(t._("Welcome back! Let's continue where you stopped."), kind="text")
    elif turn.person is None and turn.state.get("draft"):
        registration.next_step(turn)
    elif turn.person is None:
        registration.begin(turn)  # (an admin too: /start is asking to register)
    else:
        resume(turn)


@command("help", "huongdan", "trogiup")
def _help(turn: Turn, args: str) -> None:
    with_current(turn, _help_text(turn))


@command("language", "lang", "ngonngu")
def _language(turn: Turn, args: str) -> None:
    wanted = args.strip().lower()[:2]
    if wanted in LANGUAGES:
        _set_language(turn, wanted)
    else:
        _remember_back(turn)
        turn.go(LANGUAGE)


def _delete_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    return Needs(admin=True)  # an admin is told that the role ends too


@command("delete", "xoa", "xoadulieu", "deletemydata", needs=_delete_needs)
def _delete(turn: Turn, args: str) -> None:
    _remember_back(turn)
    turn.go(CONFIRM_DELETE)


@command("reminders", "nhacnho", "remind")
def _reminders(turn: Turn, args: str) -> None:
    t = turn.t
    wanted = fold(args).strip()
    if wanted in ("on", "bat", "yes", "co"):
        _set_reminders(turn, True)
    elif wanted in ("off", "tat", "no", "khong"):
        _set_reminders(turn, False)
    elif reminders_on(turn.state):
        with_current(turn, t._("Reminders are on. Send /reminders off to stop them."))
    else:
        with_current(turn, t._("Reminders are off. Send /reminders on to get them again."))


def _set_reminders(turn: Turn, on: bool) -> None:
    turn.state["reminders"] = on
    if on:
        text = turn.t._(
            "Reminders are on: if you stop half-way, I will remind you a day, 3 days and "
            "a week later (never at night)."
        )
    else:
        text = turn.t._(
            "I will not send you reminders any more. Send /reminders on to get them again."
        )
    with_current(turn, text)


def command_descriptions(t: Lang) -> list[tuple[str, str]]:
    """Each command with a few words on what it does: for /help and for the command menus
    that channels offer (Telegram's setMyCommands)."""
    return [
        ("start", t._("start, or continue where you stopped")),
        ("help", t._("this help")),
        ("language", t._("Tiếng Việt or English")),
        ("result", t._("my result")),
        ("restart", t._("start my self-scoring again")),
        ("delete", t._("delete my data")),
        ("reminders", t._("reminders on or off")),
        ("family", t._("my learning family: register it, join it with a code")),
        ("unit", t._("focal points of units: deadline reminders")),
    ]


# The Vietnamese names of the commands (aliases of the English ones), for /help in Vietnamese.
_VIETNAMESE_NAMES = {
    "help": "huongdan",
    "language": "ngonngu",
    "result": "ketqua",
    "restart": "lamlai",
    "delete": "xoa",
    "reminders": "nhacnho",
    "family": "giadinh",
    "unit": "donvi",
}


def _help_text(turn: Turn) -> str:
    t = turn.t
    intro = t._(
        "I help you register and score yourself as a Learning Citizen. "
        "Answer with the buttons, or type the number of an answer."
    )
    local = _VIETNAMESE_NAMES if turn.lang == "vi" else {}
    lines = [
        intro,
        *(f"/{local.get(name, name)} — {text}" for name, text in command_descriptions(t)),
    ]
    if turn.world.admin is not None:
        lines.append(t._("/admin — your commands as an admin of the campaign"))
    return "\n".join(lines)


def _remember_back(turn: Turn) -> None:
    if turn.screen not in (LANGUAGE, CONFIRM_DELETE, CONFIRM_RESTART, UNIT_NAME):
        turn.state["back"] = turn.screen


def _go_back(turn: Turn) -> None:
    back = turn.state.pop("back", None)
    turn.state["screen"] = None
    if back in SCREENS:
        turn.go(back or "")
    else:
        resume(turn)


def _set_language(turn: Turn, lang: str) -> None:
    turn.state["lang"] = lang
    # Stored for the person, if registered, and for any role the account holds: an
    # admin's digest and files, a focal point's reminders come in this language too.
    turn.effect(SetLanguage(lang))
    turn.say(turn.t._("From now on I will write in English."))
    if turn.screen == LANGUAGE:
        _go_back(turn)
    elif turn.screen in SCREENS:
        turn.go(turn.screen or "")  # shown again in the new language, with fresh buttons
    else:
        resume(turn)


@screen(LANGUAGE, on_option=_set_language)
def _ask_language(turn: Turn) -> None:
    turn.ask(
        turn.t._("Choose your language:"),
        [Option(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
    )


@command("result", "ketqua", "myresult")
def _result_command(turn: Turn, args: str) -> None:
    t = turn.t
    a = turn.assessment
    if a is not None and a.status == "submitted":
        assessment.show_result(turn)
        resume(turn)
    elif a is not None:
        progress = t._(
            "You have answered {done} of {total} questions. Finish and submit to see your result."
        ).format(done=assessment.answered(turn), total=len(turn.world.criteria.indicators))
        returned = assessment.standing_text(turn)  # returned by the commune, with its note
        with_current(turn, f"{returned}\n{progress}" if returned else progress)
    elif turn.person is None:
        with_current(turn, t._("You have no result yet: first register, then score yourself."))
    else:
        with_current(turn, t._("You have not scored yourself yet."))


@command("restart", "lamlai")
def _restart_command(turn: Turn, args: str) -> None:
    t = turn.t
    a = turn.assessment
    if turn.person is None:
        with_current(
            turn, t._("There is no self-scoring to restart yet: first finish registering.")
        )
    elif a is None:
        assessment.start_or_continue(turn)
    elif a.status == "submitted":
        with_current(
            turn,
            t._(
                "Your self-assessment for {year} is already submitted and is kept as it is; "
                "it cannot be restarted. If you need to change it, ask the learning-promotion "
                "association of your commune to return it to you: then you can change your "
                "answers and submit again."
            ).format(year=a.year),
        )
    elif not a.answers:
        assessment.start_or_continue(turn)
    else:
        _remember_back(turn)
        turn.go(CONFIRM_RESTART)


def _on_confirm_restart(turn: Turn, option: str) -> None:
    if option == "yes":
        turn.state.pop("back", None)
        assessment.restart(turn)
    else:
        _go_back(turn)


@screen(CONFIRM_RESTART, on_option=_on_confirm_restart)
def _ask_restart(turn: Turn) -> None:
    t = turn.t
    turn.ask(
        t._("Clear all {done} answers and start the self-scoring again?").format(
            done=assessment.answered(turn)
        ),
        [Option("yes", t._("Yes, start again")), Option("no", t._("No, keep my answers"))],
    )


def _on_confirm_delete(turn: Turn, option: str) -> None:
    t = turn.t
    if option != "yes":
        _go_back(turn)
        return
    turn.effect(DeletePerson())
    # Only the language stays, and the prompt number keeps counting, so buttons from
    # before the deletion stay stale.
    turn.state = {"lang": turn.lang, "prompt": turn.prompt}
    turn.person = turn.assessment = None
    turn.say(t._("All your data has been deleted. Send /start if you want to register again."))


@screen(CONFIRM_DELETE, on_option=_on_confirm_delete, needs=_delete_needs)
def _ask_delete(turn: Turn) -> None:
    t = turn.t
    lines = [t._("Delete your registration and all your answers? This cannot be undone.")]
    admin = turn.world.admin
    if admin is not None:
        lines.append(
            t._("You are also an admin for {scope}: that role ends too.").format(
                scope=admin.area.name(turn.world.places, t)
            )
        )
    if unit := turn.state.get("unit"):
        lines.append(
            t._(
                "You are also the focal point of “{unit}”: you will get no more deadline "
                "reminders for it."
            ).format(unit=unit["name"])
        )
    turn.ask(
        "\n".join(lines),
        [Option("yes", t._("Yes, delete everything")), Option("no", t._("No, keep my data"))],
    )

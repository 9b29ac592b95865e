"""Learning families (Gia đình học tập): a household registers and self-assesses in chat.

A registered citizen sends /family (or taps "Gia đình học tập" in their menu) and
registers their household as its head: they say how many adults live in it and get a code
that the others at home send (`/family CODE`) to join. The head answers the family's
criteria (flows/criteria/gdht-2016.yaml) question by question; the indicator on the
adults' Learning Citizen titles is not asked but counted from the members who joined, so
the family's result follows their titles: when one more member reaches the title after
the family submitted, the head can bring the result up to date. Counts go to the admins'
digest and export.
"""

from __future__ import annotations

import re
from dataclasses import replace

from flows.assessment import competency_lines, explain, improve_lines
from flows.codes import blocked, normalise_code, shown
from flows.criteria import CriteriaSet, Group, Question, pick
from flows.model import (
    Event,
    FamilyMember,
    FamilyView,
    JoinFamily,
    LeaveFamily,
    Needs,
    NewFamilyCode,
    Option,
    RemoveFamilyMember,
    SaveFamilyAnswer,
    SetFamily,
    Snapshot,
    SubmitFamilyAssessment,
    World,
    WrongCode,
)
from flows.navigation import leave, too_many_attempts, with_current
from flows.questionnaire import answer_options, pick_options, question_parts, review_options
from flows.scoring import ScoreResult, counted_choice, score
from flows.screens import (
    FAMILY_ADULTS,
    FAMILY_JOIN,
    FAMILY_LEAVE,
    FAMILY_MENU,
    FAMILY_PICK,
    FAMILY_QUESTION,
    FAMILY_REMOVE,
    FAMILY_REMOVE_CONFIRM,
    FAMILY_REVIEW,
    FAMILY_SCREENS,
)
from flows.text import fold, number
from flows.turn import Turn, command, screen

GROUP = "family"  # the one group of the families' criteria set
CODE_LENGTH = 8  # of a family's code: 40 bits, and wrong attempts are limited
MAX_ADULTS = 30
MAX_MEMBERS = 30  # people who may join one family: more is not a household
ADULT_AGE = 18  # members from this age (in the campaign year) count in the adults' indicator
CODE_WORDS = ("ma", "code", "magiadinh")  # "/giadinh mã K7QX-M2PA": not part of the code


# --- reading the world -------------------------------------------------------------------


def _family(turn: Turn) -> FamilyView:
    if turn.world.family is None:  # (the screens that use it are valid only with one)
        raise LookupError("a family's screen without a family")
    return turn.world.family


def _criteria(turn: Turn) -> CriteriaSet:
    if turn.world.family_set is None:
        raise LookupError("the families' criteria set was not loaded")
    return turn.world.family_set


def _group(turn: Turn) -> Group:
    criteria = _criteria(turn)
    return criteria.group(GROUP) or criteria.groups[0]


def _asked(turn: Turn) -> list[Question]:
    """The questions the head answers (the counted ones are not asked)."""
    return [q for q in _group(turn).questions if q.counted is None]


def _adults(view: FamilyView) -> int:
    return view.adults_counted


def _answers(turn: Turn) -> dict[str, int]:
    """The head's answers with the counted ones as they stand now."""
    view = _family(turn)
    answers = dict(view.answers)
    for q in _group(turn).questions:
        if q.counted is not None:
            answers[q.indicator] = counted_choice(q, view.titled, _adults(view))
    return answers


def _result(turn: Turn) -> ScoreResult:
    """The family's result with the members' titles and the adults as they are now."""
    return score(_criteria(turn), _group(turn).code, _answers(turn))


def _submitted_result(turn: Turn) -> ScoreResult:
    """The result as submitted (the counted indicators as they were then)."""
    view = _family(turn)
    if all(q.indicator in view.answers for q in _group(turn).questions):
        return score(_criteria(turn), _group(turn).code, view.answers)
    return _result(turn)  # (submitted before the counted answers were kept)


def _update(turn: Turn, **changes: object) -> None:
    """This step's view of the family, after its own changes."""
    turn.world = replace(turn.world, family=replace(_family(turn), **changes))  # type: ignore[arg-type]


# --- /family -----------------------------------------------------------------------------


def quoted_code(event: Event) -> str | None:
    """The family code an event quotes (`/family CODE`), looked up by the shell."""
    if event.kind != "command" or event.command != "family":
        return None
    words = [w for w in event.args.split() if fold(w) not in CODE_WORDS]
    return normalise_code(" ".join(words)) or None  # (spaces and dashes anywhere)


def _typed_code(snapshot: Snapshot, event: Event) -> str | None:
    """A code typed on the menu of someone in no family."""
    if event.kind != "text" or snapshot.state.get("screen") != FAMILY_MENU:
        return None
    code = normalise_code(event.text)
    return code if len(code) == CODE_LENGTH else None


def _command_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    return Needs(family=True, family_code=quoted_code(event))


def _needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    return Needs(family=True)


def _menu_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    # A code typed by someone in no family; a fresh code, should the head ask for one.
    return Needs(family=True, family_code=_typed_code(snapshot, event), fresh_code=True)


def _adults_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    return Needs(family=True, fresh_code=True)  # a new family's code


@command("family", "giadinh", "gdht", "giadinhhoctap", needs=_command_needs)
def _family_command(turn: Turn, args: str) -> None:
    """/family: the family's menu; /family CODE: join a family."""
    if turn.person is None:
        with_current(
            turn,
            turn.t._(
                "A learning family is made of registered Learning Citizens. Please register "
                "first (the questions below), then send /family again."
            ),
        )
        return
    if quoted_code(turn.event):
        _use_code(turn, quoted_code(turn.event) or "")
        return
    open_menu(turn)


def open_menu(turn: Turn) -> None:
    """The family's menu, coming back to where the person was when they close it."""
    if turn.screen not in FAMILY_SCREENS:
        turn.state["family_back"] = turn.screen
    turn.go(FAMILY_MENU)


def _leave(turn: Turn) -> None:
    for key in ("family_idx", "family_review", "family_join", "family_remove", "family_new"):
        turn.state.pop(key, None)  # type: ignore[misc]
    leave(turn, turn.state.pop("family_back", None))


def _registered(turn: Turn) -> bool:
    return turn.person is not None


def _not_registered(turn: Turn) -> None:
    turn.state["screen"] = None
    _leave(turn)


# --- joining with a code -------------------------------------------------------------------


def _use_code(turn: Turn, code: str) -> None:
    t = turn.t
    found = turn.world.family_found
    mine = turn.world.family
    if len(code) != CODE_LENGTH:  # not a family's code at all: not counted as a guess
        _aside(
            turn,
            t._(
                "A family's code has 8 letters and digits, for example K7QX-M2PA. Type it, or "
                "tap a button."
            ),
        )
    elif blocked(turn.world.code_attempts):
        _aside(turn, too_many_attempts(turn))
    elif found is None:
        turn.effect(WrongCode("family"))
        _aside(
            turn,
            t._(
                "No family was found with the code “{code}”. Please check the code with the "
                "head of your household."
            ).format(code=shown(code)),
        )
    elif mine is not None and mine.family_id == found.family_id:
        turn.say(
            t._("This is your own family's code: give it to the others at home.")
            if mine.mine
            else t._("You are already a member of this family.")
        )
        open_menu(turn)
    elif mine is not None and mine.mine and len(mine.members) > 1:
        _aside(
            turn,
            t._(
                "You are the head of a family that others have joined. To join another, "
                "first end your family's registration: /family, then “End the "
                "registration”."
            ),
        )
    elif found.members >= MAX_MEMBERS:
        _aside(
            turn,
            t._("That family has {n} members already: no one else can join it.").format(
                n=MAX_MEMBERS
            ),
        )
    else:
        if turn.screen not in FAMILY_SCREENS:
            turn.state["family_back"] = turn.screen
        # (No names in the state: the screen reads them again, so /delete leaves none.)
        turn.state["family_join"] = {"id": found.family_id, "code": code}
        turn.go(FAMILY_JOIN)


def _aside(turn: Turn, text: str) -> None:
    if turn.screen == FAMILY_MENU:
        turn.again(text, kind="text")
    else:
        with_current(turn, text)


def _on_join(turn: Turn, option: str) -> None:
    t = turn.t
    join = turn.state.pop("family_join", None)
    if option != "join" or join is None:
        turn.say(t._("Cancelled: you did not join the family."))
        _leave(turn)
        return
    found = turn.world.family_found
    if found is None:  # (checked before: the screen is valid only with it)
        raise LookupError("joining a family that was not looked up")
    turn.effect(JoinFamily(found.family_id))
    turn.say(
        t._(
            "Done: you have joined the family of {head}. Your Learning Citizen "
            "self-assessment counts for the family."
        ).format(head=found.head_name)
    )
    turn.world = replace(turn.world, family=None)  # read again at the next step
    _leave(turn)


def _joining(turn: Turn) -> bool:
    """About to join a family that can still be joined: its code still names it (the
    head may have ended it or changed the code), it is not full, and the person does not
    head a family others joined meanwhile."""
    join = turn.state.get("family_join") or {}
    found, mine = turn.world.family_found, turn.world.family
    return (
        turn.person is not None
        and found is not None
        and found.family_id == join.get("id")
        and (
            found.members < MAX_MEMBERS or (mine is not None and mine.family_id == found.family_id)
        )
        and not (mine is not None and mine.mine and len(mine.members) > 1)
    )


def _join_gone(turn: Turn) -> None:
    t = turn.t
    if turn.person is None:
        _not_registered(turn)
        return
    join = turn.state.pop("family_join", None) or {}
    found, mine = turn.world.family_found, turn.world.family
    if found is None or found.family_id != join.get("id"):
        turn.say(
            t._(
                "That code no longer works (the family ended its registration or changed its "
                "code): you did not join. Please ask the head of the household for the code."
            )
        )
    elif mine is not None and mine.mine and len(mine.members) > 1:
        turn.say(
            t._(
                "Someone has joined your own family meanwhile: you did not join the other. "
                "To join it, first end your family's registration."
            )
        )
    else:
        turn.say(
            t._("That family has {n} members already: no one else can join it.").format(
                n=MAX_MEMBERS
            )
        )
    _leave(turn)


def _join_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    # The family about to be joined, looked up again: it may have ended meanwhile.
    join = snapshot.state.get("family_join") or {}
    return Needs(family=True, family_code=join.get("code"))


@screen(
    FAMILY_JOIN,
    on_option=_on_join,
    needs=_join_needs,
    valid=_joining,
    on_invalid=_join_gone,
)
def _ask_join(turn: Turn) -> None:
    t = turn.t
    found, mine = turn.world.family_found, turn.world.family
    lines = [
        t._(
            "Join the family of {head}, registered as a learning family? Its members will "
            "see your name and your Learning Citizen self-assessment of this year."
        ).format(head=found.head_name if found else "")
    ]
    if mine is not None and mine.mine:
        lines.append(t._("Your own family's registration ends."))
    elif mine is not None:
        lines.append(
            t._("You will no longer be a member of the family of {head}.").format(
                head=mine.head.name
            )
        )
    turn.ask(
        "\n".join(lines),
        [Option("join", t._("Join")), Option("cancel", t._("Do not join"))],
    )


# --- the menu -------------------------------------------------------------------------------


def _standing(turn: Turn, standing: str | None) -> str:
    t = turn.t
    if standing == "recognised":
        return "✅ " + t._("recognised as a Learning Citizen")
    if standing == "reached":
        return "✅ " + t._("reached the Learning Citizen title by self-score")
    if standing == "submitted":
        return t._("self-assessed, title not reached this year")
    if standing == "in_progress":
        return t._("self-scoring")
    return t._("not self-assessed yet")


def status_text(turn: Turn) -> str:
    t, f = turn.t, _family(turn)
    if f.status == "submitted" and f.submitted_at is not None:
        text = (
            t._("submitted at {when}: {total}/{max} points, meets the criteria.")
            if f.reached
            else t._("submitted at {when}: {total}/{max} points, does not meet the criteria yet.")
        ).format(when=t.datetime(f.submitted_at), total=f.total, max=_criteria(turn).max_total)
        if _outdated(turn):
            now = _result(turn)
            text += "\n" + t._(
                "The members' results or the number of adults have changed since: with them "
                "the family would now have {total} points. Tap “Update the result”."
            ).format(total=now.total)
        return text
    if f.status == "in_progress":
        asked = _asked(turn)
        done = sum(1 for q in asked if q.indicator in f.answers)
        return t._("{done} of {total} questions answered.").format(done=done, total=len(asked))
    return t._("not started yet.")


def _outdated(turn: Turn) -> bool:
    """Submitted, and the result would differ now (the members' titles, the members or
    the number of adults changed): the head may bring it up to date."""
    f = _family(turn)
    if f.status != "submitted":
        return False
    now = _result(turn)
    return (now.total, now.title) != (f.total, f.reached)


def _on_menu(turn: Turn, option: str) -> None:
    t = turn.t
    if option == "new":
        turn.state["family_new"] = True  # (not a family ended while on the screen)
        turn.go(FAMILY_ADULTS)
    elif option == "newcode":
        _new_code(turn)
    elif option == "code":
        turn.again(
            t._("Type the code the head of your household gave you, for example: K7QX-M2PA"),
            kind="text",
        )
    elif option == "remove":
        turn.go(FAMILY_REMOVE)
    elif option == "assess":
        _start_or_continue(turn)
    elif option == "result":
        turn.say(result_text(turn, _submitted_result(turn)))
        turn.show()
    elif option == "update":
        _submit(turn)
    elif option == "adults":
        turn.go(FAMILY_ADULTS)
    elif option == "leave":
        turn.go(FAMILY_LEAVE)
    else:
        _leave(turn)


def _on_menu_text(turn: Turn, text: str) -> None:
    """Someone in no family may type a family's code here."""
    t = turn.t
    if turn.world.family is None and len(normalise_code(text)) == CODE_LENGTH:
        _use_code(turn, normalise_code(text))
    elif turn.world.family is None:
        turn.again(
            t._(
                "A family's code has 8 letters and digits, for example K7QX-M2PA. Type it, or "
                "tap a button."
            )
        )
    else:
        turn.again(t._("Please choose one of the answers: tap a button or type its number."))


@screen(
    FAMILY_MENU,
    on_option=_on_menu,
    on_text=_on_menu_text,
    needs=_menu_needs,
    valid=_registered,
    on_invalid=_not_registered,
)
def _ask_menu(turn: Turn) -> None:
    t = turn.t
    f = turn.world.family
    if f is None:
        turn.ask(
            t._(
                "Learning family (Gia đình học tập): the head of the household registers the "
                "family and gives the others at home its code to join. The adults who reach "
                "the Learning Citizen title count toward the family's criteria.\n\n"
                "If you have a code, type it here."
            ),
            [
                Option("new", t._("Register my family (I am the head)")),
                Option("code", t._("I have a family's code")),
                Option("close", t._("Close")),
            ],
        )
        return
    places = turn.world.places
    lines = [
        t._("Learning family of {head} ({area}).").format(
            head=f.head.name, area=f.area.name(places, t)
        ),
        t._("Code to join it: {code} (send /family {code})").format(code=shown(f.code)),
        "",
        t._(
            "Members who joined ({n}; adults at home: {adults}), each with their own "
            "Learning Citizen self-assessment:"
        ).format(n=len(f.members), adults=f.adults),
    ]
    for m in f.members:
        who = m.name + (" (" + t._("head") + ")" if m.head else "")
        if m.me:
            who += " — " + t._("you")
        lines.append(f"• {who}: {_standing(turn, m.standing)}")
    lines += [
        "",
        t._("The family's self-assessment of {year}: {status}").format(
            year=f.year, status=status_text(turn)
        ),
    ]
    options = []
    if f.mine:
        if f.status == "submitted":
            if _outdated(turn):
                options.append(Option("update", t._("Update the result (members' titles)")))
            options.append(Option("result", t._("See the result")))
        elif f.status == "in_progress":
            options.append(Option("assess", t._("Continue the family's self-assessment")))
        else:
            options.append(Option("assess", t._("Self-assess the family")))
        options.append(Option("adults", t._("Change the number of adults")))
        if len(f.members) > 1:
            options.append(Option("remove", t._("Take a member off")))
        options.append(Option("newcode", t._("New code")))
        options.append(Option("leave", t._("End the registration")))
    else:
        if f.status == "submitted":
            options.append(Option("result", t._("See the result")))
        options.append(Option("leave", t._("Stop being a member")))
    options.append(Option("close", t._("Close")))
    turn.ask("\n".join(lines), options)


# --- registering the family: how many adults -------------------------------------------------


def _on_adults(turn: Turn, option: str) -> None:
    if turn.event.kind == "text" and _typed_number(turn.event.text) is not None:
        _on_adults_text(turn, turn.event.text)  # "7" is 7 adults, not the 7th button
    elif option == "back":
        turn.go(FAMILY_MENU)
    else:
        _set_adults(turn, int(option.removeprefix("n")))


def _typed_number(text: str) -> int | None:
    """A whole number typed alone or with words ("3 người"); None for "2.5", "-1", "1 2"."""
    found = re.findall(r"\d+", text)
    if len(found) != 1 or re.search(r"[-−]\s*\d|\d\s*[.,]\s*\d", text):
        return None
    return number(found[0], 2)


def _on_adults_text(turn: Turn, text: str) -> None:
    found = _typed_number(text)
    if found is None or not 1 <= found <= MAX_ADULTS:
        turn.again(
            turn.t._("Please type a number from 1 to {max}, or tap a button.").format(
                max=MAX_ADULTS
            )
        )
        return
    _set_adults(turn, found)


def _set_adults(turn: Turn, adults: int) -> None:
    t = turn.t
    f = turn.world.family
    if f is not None and not f.mine:  # joined another family meanwhile
        turn.go(FAMILY_MENU)
        return
    if f is None and not turn.state.get("family_new"):  # ended meanwhile, elsewhere
        turn.say(t._("You are not in a learning family any more."))
        turn.go(FAMILY_MENU)
        return
    turn.state.pop("family_new", None)
    if f is not None:
        turn.effect(SetFamily(adults))
        _update(turn, adults=adults)
        turn.say(t._("Saved: {n} adults at home.").format(n=adults))
        turn.go(FAMILY_MENU)
        return
    code = turn.world.fresh_code[:CODE_LENGTH]
    turn.effect(SetFamily(adults, code))
    turn.say(
        t._(
            "Done: your family is registered as a learning family. Its code is {code}. Give "
            "it to the others at home who are registered as Learning Citizens: each sends "
            "/family {code} to join. Send /family to self-assess the family."
        ).format(code=shown(code))
    )
    turn.world = replace(turn.world, family=None)  # read again at the next step
    _leave(turn)


def _may_set_adults(turn: Turn) -> bool:
    return turn.person is not None and (turn.world.family is None or turn.world.family.mine)


@screen(
    FAMILY_ADULTS,
    on_option=_on_adults,
    on_text=_on_adults_text,
    needs=_adults_needs,
    valid=_may_set_adults,
    on_invalid=_not_registered,
)
def _ask_adults(turn: Turn) -> None:
    t = turn.t
    options = [Option(f"n{n}", str(n)) for n in range(1, 7)]
    options.append(Option("back", "⬅ " + t._("Back")))
    turn.ask(
        t._(
            "How many adults (aged 18 or more) live in your household, you included? "
            "Tap a number or type it."
        ),
        options,
    )


# --- the head: a new code, taking a member off --------------------------------------------


def _new_code(turn: Turn) -> None:
    t = turn.t
    code = turn.world.fresh_code[:CODE_LENGTH]
    turn.effect(NewFamilyCode(code))
    _update(turn, code=code)
    turn.say(
        t._(
            "The family's new code is {code}. The old code no longer works; those who joined "
            "stay members."
        ).format(code=shown(code))
    )
    turn.show()


def _others(turn: Turn) -> list[FamilyMember]:
    return [m for m in _family(turn).members if not m.head]


def _on_remove(turn: Turn, option: str) -> None:
    if option == "back":
        turn.go(FAMILY_MENU)
        return
    turn.state["family_remove"] = int(option.removeprefix("m"))
    turn.go(FAMILY_REMOVE_CONFIRM)


def _heads_with_others(turn: Turn) -> bool:
    f = turn.world.family
    return turn.person is not None and f is not None and f.mine and len(f.members) > 1


def _to_menu(turn: Turn) -> None:
    if turn.person is None or turn.world.family is None:
        _not_in_family(turn)
    else:
        turn.go(FAMILY_MENU)


@screen(
    FAMILY_REMOVE,
    on_option=_on_remove,
    needs=_needs,
    valid=_heads_with_others,
    on_invalid=_to_menu,
)
def _ask_remove(turn: Turn) -> None:
    t = turn.t
    options = [Option(f"m{m.key}", m.name) for m in _others(turn)]
    options.append(Option("back", "⬅ " + t._("Back")))
    turn.ask(t._("Whom do you want to take off the family's members?"), options)


def _chosen(turn: Turn) -> FamilyMember | None:
    key = turn.state.get("family_remove")
    return next((m for m in _others(turn) if m.key == key), None)


def _on_remove_confirm(turn: Turn, option: str) -> None:
    member = _chosen(turn)
    turn.state.pop("family_remove", None)
    if option == "yes" and member is not None:
        turn.effect(RemoveFamilyMember(member.key))
        _update(turn, members=tuple(m for m in _family(turn).members if m.key != member.key))
        turn.say(turn.t._("{name} is no longer a member of your family.").format(name=member.name))
    turn.go(FAMILY_MENU)


def _removing(turn: Turn) -> bool:
    return _heads_with_others(turn) and _chosen(turn) is not None


@screen(
    FAMILY_REMOVE_CONFIRM,
    on_option=_on_remove_confirm,
    needs=_needs,
    valid=_removing,
    on_invalid=_to_menu,
)
def _ask_remove_confirm(turn: Turn) -> None:
    t = turn.t
    member = _chosen(turn)
    turn.ask(
        t._(
            "Take {name} off the family's members? Their own Learning Citizen self-assessment "
            "stays; they can join again with the family's code."
        ).format(name=member.name if member else ""),
        [Option("no", t._("No, keep it")), Option("yes", t._("Yes, take them off"))],
    )


# --- leaving ----------------------------------------------------------------------------------


def _on_leave(turn: Turn, option: str) -> None:
    t = turn.t
    if option != "yes":
        turn.go(FAMILY_MENU)
        return
    family = _family(turn)
    turn.effect(LeaveFamily())
    turn.say(
        t._("Your family is no longer registered as a learning family.")
        if family.mine
        else t._("You are no longer a member of the family of {head}.").format(
            head=family.head.name
        )
    )
    turn.world = replace(turn.world, family=None)
    _leave(turn)


def _in_family(turn: Turn) -> bool:
    return turn.person is not None and turn.world.family is not None


def _not_in_family(turn: Turn) -> None:
    if turn.person is None:
        _not_registered(turn)
        return
    turn.say(turn.t._("You are not in a learning family any more."))
    turn.go(FAMILY_MENU)


@screen(
    FAMILY_LEAVE,
    on_option=_on_leave,
    needs=_needs,
    valid=_in_family,
    on_invalid=_not_in_family,
)
def _ask_leave(turn: Turn) -> None:
    t = turn.t
    if _family(turn).mine:
        text = t._(
            "End your family's registration as a learning family? The list of members and "
            "the family's self-assessment are removed (each member's own Learning Citizen "
            "self-assessment stays)."
        )
        yes = t._("Yes, end the registration")
    else:
        text = t._("Stop being a member of the family of {head}?").format(
            head=_family(turn).head.name
        )
        yes = t._("Yes, stop")
    # "No" first: a number typed from habit does not end anything.
    turn.ask(text, [Option("no", t._("No, keep it")), Option("yes", yes)])


# --- the head's self-assessment ---------------------------------------------------------------


def _heading(turn: Turn) -> bool:
    f = turn.world.family
    return turn.person is not None and f is not None and f.mine and f.status != "submitted"


def _not_heading(turn: Turn) -> None:
    if turn.world.family is None or turn.person is None:
        _not_in_family(turn)
    else:
        turn.go(FAMILY_MENU)


def _start_or_continue(turn: Turn) -> None:
    t = turn.t
    f = _family(turn)
    asked = _asked(turn)
    if f.status is None:
        turn.say(
            t._(
                "There are {n} questions about your family in {year}; your answers are saved "
                "as you go. Indicator 2.1 (adults with the Learning Citizen title) needs no "
                "answer: the bot counts it from the results of those who joined with the code."
            ).format(n=len(asked), year=f.year)
        )
    turn.state.pop("family_review", None)
    unanswered = [i for i, q in enumerate(asked) if q.indicator not in f.answers]
    if not unanswered:
        turn.go(FAMILY_REVIEW)
        return
    turn.state["family_idx"] = unanswered[0]
    turn.go(FAMILY_QUESTION)


def _on_answer(turn: Turn, option: str) -> None:
    asked = _asked(turn)
    idx = min(int(turn.state.get("family_idx", 0)), len(asked) - 1)
    if option == "back":
        turn.state.pop("family_review", None)
        if idx == 0:
            turn.go(FAMILY_MENU)
        else:
            turn.state["family_idx"] = idx - 1
            turn.go(FAMILY_QUESTION)
        return
    f = _family(turn)
    question = asked[idx]
    choice = int(option.removeprefix("a"))
    turn.effect(SaveFamilyAnswer(f.year, f.criteria, question.indicator, choice))
    _update(turn, answers={**f.answers, question.indicator: choice}, status="in_progress")
    if turn.state.pop("family_review", False) or idx + 1 >= len(asked):
        turn.go(FAMILY_REVIEW)
    else:
        turn.state["family_idx"] = idx + 1
        turn.go(FAMILY_QUESTION)


@screen(
    FAMILY_QUESTION,
    on_option=_on_answer,
    needs=_needs,
    valid=_heading,
    on_invalid=_not_heading,
)
def _ask_question(turn: Turn) -> None:
    asked = _asked(turn)
    idx = min(int(turn.state.get("family_idx", 0)), len(asked) - 1)
    question = asked[idx]
    parts = question_parts(turn, _criteria(turn), question, idx + 1, len(asked))
    chosen = _family(turn).answers.get(question.indicator)
    turn.ask("\n\n".join(parts), answer_options(turn, question, chosen))


def _complete(turn: Turn) -> bool:
    return _heading(turn) and all(q.indicator in _family(turn).answers for q in _asked(turn))


def _incomplete(turn: Turn) -> None:
    if _heading(turn):
        _start_or_continue(turn)
    else:
        _not_heading(turn)


def _answer_lines(turn: Turn) -> list[str]:
    """Each indicator with its points and the answer (or, counted, how it was counted)."""
    t, f = turn.t, _family(turn)
    criteria = _criteria(turn)
    answers = _answers(turn)
    lines = []
    for q in _group(turn).questions:
        indicator = criteria.indicator(q.indicator)
        option = q.options[min(answers[q.indicator], len(q.options) - 1)]
        said = pick(option.text, turn.lang)
        if q.counted is not None:
            said = t._(
                "{titled} of {adults} adults reached the title (by self-assessment or recognised)"
            ).format(titled=f.titled, adults=_adults(f))
        lines.append(
            f"{q.indicator} {pick(indicator.name, turn.lang)}: "
            f"{option.points}/{indicator.max_points} — {said}"
        )
    return lines


def _on_review(turn: Turn, option: str) -> None:
    if option == "change":
        turn.go(FAMILY_PICK)
    elif option == "later":
        turn.go(FAMILY_MENU)
    else:
        _submit(turn)


def _submit(turn: Turn) -> None:
    t, f = turn.t, _family(turn)
    result = _result(turn)
    answers = _answers(turn)
    first = f.status != "submitted"
    turn.effect(SubmitFamilyAssessment(f.year, result, answers, f.titled))
    _update(
        turn,
        status="submitted",
        answers=answers,
        submitted_at=turn.world.now,
        total=result.total,
        reached=result.title,
        titled_then=f.titled,
    )
    turn.say(
        t._("Thank you! The family's self-assessment is saved.")
        if first
        else t._(
            "The family's result is brought up to date with the members' results and the "
            "number of adults."
        )
    )
    turn.say(result_text(turn, result))
    turn.go(FAMILY_MENU)


@screen(
    FAMILY_REVIEW,
    on_option=_on_review,
    needs=_needs,
    valid=_complete,
    on_invalid=_incomplete,
)
def _ask_review(turn: Turn) -> None:
    t = turn.t
    result = _result(turn)
    parts = [
        t._("Please check the family's answers before you submit:")
        + "\n"
        + "\n".join(_answer_lines(turn)),
        t._("Total: {total}/{max} points").format(total=result.total, max=result.max_total),
        verdict_text(turn, result),
        t._(
            "Once submitted, the answers cannot be changed; when the members' results or the "
            "number of adults change, you can update the result."
        ),
    ]
    turn.ask("\n\n".join(parts), review_options(turn))


def _on_pick(turn: Turn, option: str) -> None:
    if option == "back":
        turn.go(FAMILY_REVIEW)
        return
    turn.state["family_idx"] = int(option.removeprefix("i"))
    turn.state["family_review"] = True
    turn.go(FAMILY_QUESTION)


@screen(FAMILY_PICK, on_option=_on_pick, needs=_needs, valid=_complete, on_invalid=_incomplete)
def _ask_pick(turn: Turn) -> None:
    options = pick_options(turn, _criteria(turn), _asked(turn))
    turn.ask(turn.t._("Which answer do you want to change?"), options)


# --- the result --------------------------------------------------------------------------------


def verdict_text(turn: Turn, result: ScoreResult) -> str:
    t = turn.t
    if result.title:
        head = "✅ " + t._("By its self-assessment, the family meets the learning-family criteria.")
    else:
        head = "❌ " + t._(
            "By its self-assessment, the family does not meet the learning-family criteria yet:"
        )
    met = ("total_ok", "indicators_ok")
    reasons = [
        ("  ✓ " if r.kind in met else "  ✗ ") + explain(turn, r, _criteria(turn))
        for r in result.reasons
    ]
    return "\n".join([head, *reasons])


def result_text(turn: Turn, result: ScoreResult) -> str:
    t, f = turn.t, _family(turn)
    criteria = _criteria(turn)
    lines = [
        t._("The family's self-assessment for {year}: {total}/{max} points.").format(
            year=f.year, total=result.total, max=result.max_total
        ),
        *competency_lines(turn, result, criteria),
        verdict_text(turn, result),
        *improve_lines(turn, result, criteria),
        "",
        t._(
            "The result counts in the learning-family figures of {area}. When the members' "
            "results or the number of adults change, the head of the household can update it."
        ).format(area=f.area.name(turn.world.places, t)),
    ]
    return "\n".join(lines)

"""/paperform (/nhaphoso): commune staff enter one paper form in chat, for someone who has
no phone: the same questions as registration and self-scoring, asked of the staff member
on that person's behalf, then a summary with the result to confirm. The person is written
like anyone else, marked as entered by staff (who and when); a form for someone already
entered is updated (storage.paper matches name, year of birth and phone).

A commune admin enters forms for their commune; a province admin names the commune
(/nhaphoso Hoàn Kiếm). "huy" (or the Cancel button) leaves without saving.
"""

from __future__ import annotations

from typing import Any, cast

from flows.admin.common import scoped, the_admin
from flows.admin.files import send_report_files
from flows.criteria import pick
from flows.lang import Lang, Problem
from flows.localtime import LOCAL_TZ
from flows.model import (
    EnterPaperForms,
    Event,
    Needs,
    Option,
    PaperEntry,
    ReportRequest,
    Snapshot,
    World,
)
from flows.navigation import aside, leave, with_current
from flows.paper import PaperForm, check_name, read_forms
from flows.places import Area
from flows.registration import (
    MAX_AGE,
    MAX_VILLAGE,
    MIN_AGE,
    gender_label,
    read_birth_year,
    summary,
    typed_phone,
)
from flows.scoring import ScoreResult, score
from flows.screens import (
    PAPER,
    PAPER_ANSWER,
    PAPER_CONFIRM,
    PAPER_GENDER,
    PAPER_GROUP,
    PAPER_NAME,
    PAPER_PHONE,
    PAPER_VILLAGE,
    PAPER_YEAR,
)
from flows.text import fold, tidy
from flows.turn import Turn, command, screen

CANCEL_WORDS = frozenset(("huy", "cancel", "thoat"))


def _help(t: Lang) -> str:
    return t._("/paperform — enter a paper form for someone without a phone")


TEMPLATE_WORDS = frozenset(("mau", "template", "tepmau"))
MAX_ERRORS_SHOWN = 15


def _needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    if fold(event.args).replace(" ", "") in TEMPLATE_WORDS:
        return Needs(admin=True, report=ReportRequest("template"))
    return Needs(admin=True)


@command("paperform", "nhaphoso", "phieugiay", needs=_needs, admin=True, help=_help, help_rank=35)
def _paperform(turn: Turn, args: str) -> None:
    t = turn.t
    if fold(args).replace(" ", "") in TEMPLATE_WORDS:
        _template(turn)
        return
    area = scoped(turn, the_admin(turn), args)
    if area is None:
        return
    if area.commune is None:
        aside(
            turn,
            t._(
                "Paper forms are entered for one commune: write /paperform and its name, for "
                "example /paperform Hoàn Kiếm."
            ),
        )
        return
    if turn.screen not in PAPER:
        turn.state["paper_back"] = turn.screen
    turn.state["paper"] = {"commune": area.commune}
    commune = turn.world.places.commune(area.commune)
    turn.say(
        t._(
            "A paper form for {commune}: I ask the questions of the form one by one; answer "
            "them as the person wrote. Type hủy at any time to stop without saving."
        ).format(commune=commune.name if commune else area.commune)
    )
    _next(turn)


# --- the state -------------------------------------------------------------------------


def _entry(turn: Turn) -> PaperEntry:
    return turn.state.setdefault("paper", {})


def _area(turn: Turn) -> Area | None:
    commune = turn.world.places.commune(_entry(turn).get("commune"))
    return Area(commune.province_code, commune.code) if commune else None


def _still_admin(turn: Turn) -> bool:
    admin, area = turn.world.admin, _area(turn)
    return admin is not None and area is not None and admin.area.contains(area)


def _gone(turn: Turn) -> None:
    _leave(turn, turn.t._("You can no longer enter forms for this commune. Nothing was saved."))


def _leave(turn: Turn, text: str) -> None:
    turn.state.pop("paper", None)
    back = turn.state.pop("paper_back", None)
    turn.say(text)
    leave(turn, back)


def _cancel(turn: Turn) -> None:
    area = _area(turn)
    again = _again_command(turn, area) if area else turn.t._("/paperform")
    _leave(
        turn,
        turn.t._("Stopped: this form was not saved. Send {command} to start again.").format(
            command=again
        ),
    )


def _next(turn: Turn) -> None:
    """The first question of the form not answered yet, or the summary."""
    e = _entry(turn)
    for key, name in (
        ("name", PAPER_NAME),
        ("birth_year", PAPER_YEAR),
        ("gender", PAPER_GENDER),
        ("group", PAPER_GROUP),
        ("village", PAPER_VILLAGE),
        ("phone", PAPER_PHONE),
    ):
        if key not in e:
            turn.go(name)
            return
    group = turn.world.criteria.group(e["group"])
    answers = e.get("answers") or {}
    if not e.get("no_answers") and group is not None and len(answers) < len(group.questions):
        turn.go(PAPER_ANSWER)
        return
    turn.go(PAPER_CONFIRM)


def _screen_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    """The admin, and once the name and year are known, whether that person registered
    themselves in chat (the summary, shown from any question's answer, says so)."""
    e = snapshot.state.get("paper") or {}
    commune, name, year = e.get("commune"), e.get("name"), e.get("birth_year")
    if commune is None or name is None or year is None:
        return Needs(admin=True)
    return Needs(admin=True, paper_own=(commune, name, year, e.get("village"), e.get("phone")))


def _cancelled(turn: Turn, text: str) -> bool:
    if fold(text) in CANCEL_WORDS:
        _cancel(turn)
        return True
    return False


_SCREEN: dict[str, Any] = {
    "needs": _screen_needs,
    "valid": _still_admin,
    "on_invalid": _gone,
}


# --- the person ------------------------------------------------------------------------


def _on_name(turn: Turn, text: str) -> None:
    if _cancelled(turn, text):
        return
    name = check_name(text)
    if name is None:
        turn.again(
            turn.t._("Please type the person's full name in letters, for example: Lò Văn Pằn.")
        )
        return
    _entry(turn)["name"] = name
    _next(turn)


@screen(PAPER_NAME, on_text=_on_name, **_SCREEN)
def _ask_name(turn: Turn) -> None:
    turn.ask(turn.t._("Paper form — the person's full name:"))


def _on_year(turn: Turn, text: str) -> None:
    if _cancelled(turn, text):
        return
    this_year = turn.world.now.astimezone(LOCAL_TZ).year
    low, high = this_year - MAX_AGE, this_year - MIN_AGE
    found = read_birth_year(text, low, high)
    if found is None or found[1]:
        turn.again(
            turn.t._("Please type the year of birth with 4 digits, from {low} to {high}.").format(
                low=low, high=high
            )
        )
        return
    _entry(turn)["birth_year"] = found[0]
    _next(turn)


@screen(PAPER_YEAR, on_text=_on_year, **_SCREEN)
def _ask_year(turn: Turn) -> None:
    turn.ask(turn.t._("Year of birth:"))


def _cancel_option(t: Lang) -> Option:
    return Option("cancel", t._("Cancel this form"))


def _on_gender(turn: Turn, option: str) -> None:
    _entry(turn)["gender"] = option
    _next(turn)


def _typed(turn: Turn, text: str) -> None:
    """Text where a button is expected: "hủy" stops; anything else is asked again."""
    if not _cancelled(turn, text):
        turn.again(turn.t._("Please tap one of the answers, or type hủy to stop."))


@screen(PAPER_GENDER, on_option=_on_gender, on_text=_typed, **_SCREEN)
def _ask_gender(turn: Turn) -> None:
    options = [Option(g, gender_label(turn, g)) for g in ("male", "female", "other")]
    turn.ask(turn.t._("Gender:"), options)


def _on_group(turn: Turn, option: str) -> None:
    e = _entry(turn)
    if e.get("group") != option:
        e.pop("answers", None)  # each group has its own questions
    e["group"] = option
    _next(turn)


@screen(PAPER_GROUP, on_option=_on_group, on_text=_typed, **_SCREEN)
def _ask_group(turn: Turn) -> None:
    groups = [Option(g.code, pick(g.name, turn.lang)) for g in turn.world.criteria.groups]
    turn.ask(turn.t._("Group, as ticked on the form:"), groups)


def _on_village_option(turn: Turn, option: str) -> None:
    _entry(turn)["village"] = None
    _next(turn)


def _on_village(turn: Turn, text: str) -> None:
    if _cancelled(turn, text):
        return
    village = tidy(text)
    if len(village) > MAX_VILLAGE or not any(ch.isalnum() for ch in village):
        turn.again(
            turn.t._("Please type the village's name, at most {n} characters, or tap Skip.").format(
                n=MAX_VILLAGE
            )
        )
        return
    _entry(turn)["village"] = village
    _next(turn)


@screen(PAPER_VILLAGE, on_option=_on_village_option, on_text=_on_village, **_SCREEN)
def _ask_village(turn: Turn) -> None:
    t = turn.t
    turn.ask(t._("Village or residential group:"), [Option("skip", t._("Skip"))])


def _on_phone_option(turn: Turn, option: str) -> None:
    _entry(turn)["phone"] = None
    _next(turn)


def _on_phone(turn: Turn, text: str) -> None:
    if _cancelled(turn, text):
        return
    phone = typed_phone(turn, text)
    if phone is None:
        return
    _entry(turn)["phone"] = phone
    _next(turn)


@screen(PAPER_PHONE, on_option=_on_phone_option, on_text=_on_phone, **_SCREEN)
def _ask_phone(turn: Turn) -> None:
    t = turn.t
    turn.ask(
        t._(
            "The phone number on the form (a relative's will do). With it, the person can "
            "later take their form over on Telegram or Zalo."
        ),
        [Option("skip", t._("Skip"))],
    )


# --- the answers -----------------------------------------------------------------------


def _current_question(turn: Turn) -> tuple[int, Any] | None:
    e = _entry(turn)
    group = turn.world.criteria.group(e.get("group", ""))
    if group is None:
        return None
    answers = e.get("answers") or {}
    for n, question in enumerate(group.questions):
        if question.indicator not in answers:
            return n, question
    return None


def _on_answer(turn: Turn, option: str) -> None:
    e = _entry(turn)
    if option == "none":  # the form has no self-assessment: registration only
        e["answers"] = {}
        e["no_answers"] = True
        turn.go(PAPER_CONFIRM)
        return
    current = _current_question(turn)
    if current is None:  # pragma: no cover - the screen is shown only with one left
        _next(turn)
        return
    answers = e.setdefault("answers", {})
    answers[current[1].indicator] = int(option)
    e.pop("no_answers", None)
    _next(turn)


@screen(PAPER_ANSWER, on_option=_on_answer, on_text=_typed, **_SCREEN)
def _ask_answer(turn: Turn) -> None:
    t = turn.t
    current = _current_question(turn)
    if current is None:  # pragma: no cover - _next sends to the summary
        turn.go(PAPER_CONFIRM)
        return
    n, question = current
    group = turn.world.criteria.group(_entry(turn).get("group", ""))
    total = len(group.questions) if group else 0
    indicator = turn.world.criteria.indicator(question.indicator)
    options = [Option(str(i), pick(o.text, turn.lang)) for i, o in enumerate(question.options)]
    extra = [Option("none", t._("The form has no answers"))] if n == 0 else []
    turn.ask(
        t._("Question {n}/{total} — {code} {indicator}: the option ticked on the form.").format(
            n=n + 1, total=total, code=indicator.code, indicator=pick(indicator.name, turn.lang)
        )
        + "\n"
        + pick(question.text, turn.lang),
        [*options, *extra],
    )


# --- the summary -----------------------------------------------------------------------


def _form(turn: Turn) -> PaperForm:
    e = _entry(turn)
    return PaperForm(
        row=0,
        name=e["name"],
        birth_year=e["birth_year"],
        gender=e["gender"],
        group=e["group"],
        village=e.get("village"),
        phone=e.get("phone"),
        answers=dict(e.get("answers") or {}),
    )


def _result(turn: Turn, form: PaperForm) -> ScoreResult | None:
    if not form.answers:
        return None
    return score(turn.world.criteria, form.group, form.answers)


def _result_text(turn: Turn, result: ScoreResult | None) -> str:
    """The total (whether it reaches the title depends on the commune's own rule, applied
    when the form is saved, and is shown in the named list)."""
    t = turn.t
    if result is None:
        return t._("No self-assessment on the form: only the registration is saved.")
    return t._("Self-assessment: {total} points out of {max}.").format(
        total=result.total, max=turn.world.criteria.max_total
    )


def _on_confirm(turn: Turn, option: str) -> None:
    t = turn.t
    if option == "cancel":
        _cancel(turn)
        return
    if option == "again":
        commune = _entry(turn).get("commune")
        turn.state["paper"] = cast(PaperEntry, {"commune": commune})
        _next(turn)
        return
    area = _area(turn)
    assert area is not None  # (valid)
    form = _form(turn)
    again = _again_command(turn, area)
    if turn.world.paper_own:
        _leave(turn, _own_text(turn, form) + " " + t._("Nothing was saved."))
        return
    turn.effect(EnterPaperForms((form,), area, turn.world.campaign_year, turn.world.criteria))
    _leave(
        turn,
        t._(
            "Saved: {name}, born {year}. {result} They are counted like anyone else, marked "
            "as entered from a paper form. Send {command} for the next form."
        ).format(
            name=form.name,
            year=form.birth_year,
            result=_result_text(turn, _result(turn, form)),
            command=again,
        ),
    )


def _own_text(turn: Turn, form: PaperForm) -> str:
    return turn.t._(
        "{name}, born {year}, registered themselves on Telegram or Zalo: what they entered is kept."
    ).format(name=form.name, year=form.birth_year)


def _again_command(turn: Turn, area: Area) -> str:
    """/paperform as this admin writes it for the next form (a province admin names the
    commune)."""
    admin = turn.world.admin
    command = turn.t._("/paperform")
    if admin is not None and admin.area.commune is None:  # the code: names can be ambiguous
        return f"{command} {area.text_vi()}"
    return command


@screen(
    PAPER_CONFIRM,
    on_option=_on_confirm,
    needs=_screen_needs,
    valid=_still_admin,
    on_invalid=_gone,
)
def _ask_confirm(turn: Turn) -> None:
    t = turn.t
    area = _area(turn)
    form = _form(turn)
    draft = {
        "name": form.name,
        "birth_year": form.birth_year,
        "gender": form.gender,
        "group": form.group,
        "province": area.province if area else None,
        "commune": area.commune if area else None,
        "village": form.village,
        "phone": form.phone,
    }
    answers = ", ".join(f"{code} → {option + 1}" for code, option in sorted(form.answers.items()))
    turn.ask(
        t._("Please check the form before saving:")
        + "\n"
        + summary(turn, draft)
        + ("\n" + t._("Options ticked: {answers}").format(answers=answers) if answers else "")
        + "\n"
        + _result_text(turn, _result(turn, form))
        + ("\n\n" + _own_text(turn, form) if turn.world.paper_own else ""),
        # Nothing to save (the person registered themselves): leaving comes first, so a
        # "1" typed out of habit does not wipe what was entered.
        [_cancel_option(t), Option("again", t._("Start this form again"))]
        if turn.world.paper_own
        else [
            Option("save", t._("Save the form")),
            Option("again", t._("Start this form again")),
            _cancel_option(t),
        ],
    )


# --- a spreadsheet of forms sent in chat ----------------------------------------------------


def _template(turn: Turn) -> None:
    t, report = turn.t, turn.world.report
    if report is None or not report.files:  # pragma: no cover - made for any admin
        aside(turn, t._("The template is not available right now."))
        return
    turn.say(
        t._(
            "Here is the template: one row per person, the answers as the number of the "
            "option ticked (the sheet “{guide}” explains). Send it back filled in, with the "
            "commune's name as the file's caption if your area has several communes."
        ).format(guide=t._("Guide"))
    )
    send_report_files(turn, report)


def upload(turn: Turn, event: Event) -> None:
    """A spreadsheet of paper forms sent by an admin: every row checked, all written or
    none (with what to fix), for their commune or the one the caption names."""
    t = turn.t
    admin = turn.world.admin
    if admin is None:
        with_current(
            turn,
            t._("I can only read text here. Please answer with a button or a short message."),
        )
        return
    rows = turn.world.sheet
    if rows is None:
        aside(
            turn,
            t._(
                "I could not read that file as the paper forms' spreadsheet. Send the "
                "template filled in, as .xlsx (/paperform template gives it)."
            ),
        )
        return
    area = scoped(turn, admin, event.text)
    if area is None:
        return
    if area.commune is None:
        aside(
            turn,
            t._(
                "Which commune are these forms from? Send the file again with the commune's "
                "name as its caption, for example Hoàn Kiếm."
            ),
        )
        return
    year = turn.world.campaign_year
    try:
        forms, errors = read_forms(
            rows, turn.world.criteria, turn.world.now.astimezone(LOCAL_TZ).year
        )
    except Problem as problem:
        aside(turn, t._("Nothing was saved: {problem}.").format(problem=problem.text(t)))
        return
    commune = area.name(turn.world.places, t)
    if errors:
        shown = [e.text(t) for e in errors[:MAX_ERRORS_SHOWN]]
        more = len(errors) - len(shown)
        lines = [
            t._(
                "Nothing was saved: {n} rows of {file} have mistakes. Fix them and send the "
                "file again:"
            ).format(n=len({e.row for e in errors}), file=event.file_name or ""),
            *(f"• {line}" for line in shown),
        ]
        if more > 0:
            lines.append(t._("… and {n} more.").format(n=more))
        aside(turn, "\n".join(lines))
        return
    turn.effect(EnterPaperForms(tuple(forms), area, year, turn.world.criteria))
    aside(
        turn,
        t._(
            "Saved: the {n} forms of {file} for {commune}. People entered before were "
            "updated, nobody was added twice; those who registered themselves in chat keep "
            "what they entered. /stats shows them counted."
        ).format(n=len(forms), file=event.file_name or "", commune=commune),
    )

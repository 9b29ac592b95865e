"""Registration (đăng ký): name, year of birth, gender, group, province, commune, village,
phone, then a confirmation screen where any field can be changed.

The draft lives in the conversation state until the person confirms; then a SavePerson
effect stores it. Each screen below is one question.
"""

from __future__ import annotations

import re
from typing import Any, cast

from flows.criteria import pick
from flows.localtime import LOCAL_TZ
from flows.model import (
    AssessmentView,
    ClaimPaperForm,
    Draft,
    Event,
    Needs,
    Option,
    Profile,
    ResetAssessment,
    SavePerson,
    Snapshot,
    World,
)
from flows.places import Commune, Former, is_exact, short_name
from flows.screens import (
    MENU,
    REG_BIRTH_YEAR,
    REG_BIRTH_YEAR_CHECK,
    REG_CLAIM,
    REG_COMMUNE,
    REG_CONFIRM,
    REG_GENDER,
    REG_GROUP,
    REG_GROUP_HELP,
    REG_NAME,
    REG_PHONE,
    REG_PROVINCE,
    REG_VILLAGE,
)
from flows.text import fold, number, tidy
from flows.turn import Turn, screen

MAX_NAME = 80
MAX_VILLAGE = 100
MAX_AGE, MIN_AGE = 100, 6
COMMUNE_CHOICES = 5
FORMER_CHOICES = 10  # communes offered when old names match (a district became up to ~10)
FORMERS_SHOWN = 3  # old names explained above the buttons
MAX_CODE = 6  # digits of a commune code (the 2025 list has 5 at most)
_PHONE_CHARS = re.compile(r"[\s.\-()]")
_PHONE = re.compile(r"^0\d{9}$")


def _draft(turn: Turn) -> dict[str, Any]:
    # Its fields are addressed by name (the question being asked, the one to change).
    return cast(dict[str, Any], turn.state.setdefault("draft", {}))


def _drafted(turn: Turn) -> dict[str, Any]:
    """The draft as it is, for rendering (which never changes the state)."""
    return cast(dict[str, Any], turn.state.get("draft") or {})


def begin(turn: Turn) -> None:
    """First contact, or after deleting one's data: greet and start registering."""
    t = turn.t
    turn.say(
        t._(
            "Hello! I help you register for the Learning Citizen title and score yourself "
            "against its criteria. It takes about 5 minutes, and you can stop and come back "
            "at any time: nothing you enter is lost."
        )
    )
    next_step(turn)


def next_step(turn: Turn) -> None:
    """Go to the first question not answered yet, or to the confirmation screen."""
    d = _draft(turn)
    for key, name in (
        ("name", REG_NAME),
        ("birth_year", REG_BIRTH_YEAR),
        ("gender", REG_GENDER),
        ("group", REG_GROUP),
        ("province", REG_PROVINCE),
        ("commune", REG_COMMUNE),
    ):
        if d.get(key) is None:
            turn.go(name)
            return
    if not turn.state.get("editing"):
        for key, name in (("village", REG_VILLAGE), ("phone", REG_PHONE)):
            if key not in d:
                turn.go(name)
                return
    turn.state.pop("edit_before", None)  # a change being made is made
    turn.go(REG_CONFIRM)


_ORDER = (
    REG_NAME,
    REG_BIRTH_YEAR,
    REG_GENDER,
    REG_GROUP,
    REG_PROVINCE,
    REG_COMMUNE,
    REG_VILLAGE,
    REG_PHONE,
    REG_CONFIRM,
)
_SIDE = {REG_BIRTH_YEAR_CHECK: REG_BIRTH_YEAR, REG_GROUP_HELP: REG_GROUP}
BACK_WORDS = frozenset(("quay lai", "tro lai", "quay ve", "tro ve", "lui lai", "back"))


def go_back(turn: Turn) -> None:
    """ "Quay lại" typed during registration: the question before this one, asked again
    with nothing taken away (answering it comes back here, or to what is still missing)."""
    current = turn.screen or REG_NAME
    before = turn.state.pop("edit_before", None)
    if turn.state.get("editing") and before is not None:  # changing one thing: keep it
        _draft(turn).update(before)
        turn.state.pop("year_guess", None)
        turn.state.pop("group_guess", None)
        _forget_matches(turn)
        turn.go(REG_CONFIRM)
        return
    if current == REG_CONFIRM and turn.person is not None:  # leave the changes unsaved
        turn.state.pop("draft", None)
        turn.state.pop("editing", None)
        _forget_matches(turn)
        turn.go(MENU)
        return
    if current in _SIDE:
        turn.go(_SIDE[current])
        return
    at = _ORDER.index(current) if current in _ORDER else 0
    if at == 0:
        turn.again(turn.t._("This is the first question."))
        return
    turn.state.pop("year_guess", None)
    turn.state.pop("group_guess", None)
    turn.go(_ORDER[at - 1])


def apply_deep_link(turn: Turn, payload: str) -> bool:
    """A QR code printed by a commune carries its code ("c70", "xa-70" or "70"): fill in
    the place so the person need not search for it. Unknown payloads are ignored."""
    code = number(re.sub(r"^(c|xa|commune)[-_]?", "", payload.strip().lower()), MAX_CODE)
    if code is None:
        return False
    commune = turn.world.places.commune(code)
    if commune is None:
        return False
    d = _draft(turn)
    if d.get("commune") not in (None, commune.code):
        d.pop("village", None)  # the village of another commune
    d["province"], d["commune"] = commune.province_code, commune.code
    return True


def poster_code(text: str) -> int | None:
    """The commune a Zalo follower chose on a poster ("XA 70", "xa70", "Xã 70"), or None
    when the text is not that."""
    match = re.fullmatch(r"xa ?(\d{1,9})", fold(text))
    return number(match[1], MAX_CODE) if match else None


def draft_from_profile(profile: Profile) -> Draft:
    return {
        "name": profile.full_name,
        "birth_year": profile.birth_year,
        "gender": profile.gender,
        "group": profile.group,
        "province": profile.province_code,
        "commune": profile.commune_code,
        "village": profile.village,
        "phone": profile.phone,
    }


# --- full name -------------------------------------------------------------------------


def _on_name(turn: Turn, text: str) -> None:
    t = turn.t
    name = tidy(text)
    letters = sum(ch.isalpha() for ch in name)
    if len(name) > MAX_NAME or letters < 2 or any(ch.isdigit() for ch in name):
        turn.again(
            t._(
                "Please type your full name in letters only, at most {max} characters, "
                "for example: Nguyễn Văn An."
            ).format(max=MAX_NAME)
        )
        return
    _draft(turn)["name"] = name
    next_step(turn)


@screen(REG_NAME, on_text=_on_name)
def _ask_name(turn: Turn) -> None:
    turn.ask(turn.t._("What is your full name?"))


# --- year of birth ---------------------------------------------------------------------


def _year_range(turn: Turn) -> tuple[int, int]:
    year = turn.world.now.astimezone(LOCAL_TZ).year  # the calendar year in Vietnam
    return year - MAX_AGE, year - MIN_AGE


# Words people put around a year of birth ("năm 1965", "sinh 1965", "tôi sinh năm 65").
_YEAR_WORDS = frozenset("nam sinh toi em minh vao la thi a born in year i was my".split())
_YES = frozenset(("co", "dung", "dung roi", "vang", "phai", "yes", "y", "ok"))
_NO = frozenset(("khong", "sai", "khong phai", "no", "n"))


def read_birth_year(text: str, low: int, high: int) -> tuple[int, bool] | None:
    """The year of birth in what was typed, and whether to check it with the person (two
    digits, "65", read as the one year in [low, high] they can mean); None if unclear."""
    folded = fold(text)
    digits = re.findall(r"\d+", folded)
    words = re.sub(r"\d+", " ", folded).split()
    if len(digits) != 1 or any(w not in _YEAR_WORDS for w in words):
        return None
    if len(digits[0]) == 4:
        year = int(digits[0])
        return (year, False) if low <= year <= high else None
    if len(digits[0]) == 2:
        years = [c + int(digits[0]) for c in (1900, 2000) if low <= c + int(digits[0]) <= high]
        return (years[0], True) if len(years) == 1 else None
    return None


def _on_birth_year(turn: Turn, text: str) -> None:
    low, high = _year_range(turn)
    found = read_birth_year(text, low, high)
    if found is None:
        turn.again(
            turn.t._(
                "The year of birth is 4 digits between {low} and {high}, for example 1985. "
                "Please type it again."
            ).format(low=low, high=high)
        )
        return
    year, check = found
    if check:
        turn.state["year_guess"] = year
        turn.go(REG_BIRTH_YEAR_CHECK)
        return
    turn.state.pop("year_guess", None)
    _draft(turn)["birth_year"] = year
    next_step(turn)


@screen(REG_BIRTH_YEAR, on_text=_on_birth_year)
def _ask_birth_year(turn: Turn) -> None:
    turn.ask(turn.t._("In which year were you born? Type 4 digits, for example 1985."))


def _on_year_check(turn: Turn, option: str) -> None:
    year = turn.state.pop("year_guess", None)
    if option == "yes" and year is not None:
        _draft(turn)["birth_year"] = int(year)
        next_step(turn)
    else:
        turn.go(REG_BIRTH_YEAR)


def _on_year_check_text(turn: Turn, text: str) -> None:
    """ "có", "đúng rồi" or "không" typed for the buttons; or a year typed again."""
    word = fold(text)
    if word in _YES or word in _NO:
        _on_year_check(turn, "yes" if word in _YES else "no")
    else:
        _on_birth_year(turn, text)


@screen(REG_BIRTH_YEAR_CHECK, on_option=_on_year_check, on_text=_on_year_check_text)
def _ask_year_check(turn: Turn) -> None:
    t = turn.t
    turn.ask(
        t._("Were you born in {year}?").format(year=turn.state.get("year_guess", "")),
        [Option("yes", t._("Yes")), Option("no", t._("No, type it again"))],
    )


# --- gender ----------------------------------------------------------------------------


def gender_label(turn: Turn, code: str) -> str:
    t = turn.t
    return {"male": t._("Male"), "female": t._("Female"), "other": t._("Other")}[code]


def _on_gender(turn: Turn, option: str) -> None:
    _draft(turn)["gender"] = option
    next_step(turn)


@screen(REG_GENDER, on_option=_on_gender)
def _ask_gender(turn: Turn) -> None:
    turn.ask(
        turn.t._("Your gender:"),
        [Option(g, gender_label(turn, g)) for g in ("male", "female", "other")],
    )


# --- group -----------------------------------------------------------------------------


def _on_group(turn: Turn, option: str) -> None:
    if option == "group_help":
        turn.state.pop("group_guess", None)
        turn.go(REG_GROUP_HELP)
        return
    turn.state.pop("group_guess", None)
    _draft(turn)["group"] = option.removeprefix("g")
    next_step(turn)


def _on_group_text(turn: Turn, text: str) -> None:
    """Words about one's work ("tôi buôn bán", "về hưu"): the group they place the person
    in is suggested first on the help screen; words it does not know open the help."""
    guess = turn.world.criteria.guess_group(text)
    if guess is None:
        turn.state.pop("group_guess", None)
        if turn.screen == REG_GROUP_HELP:
            turn.again(
                turn.t._(
                    "I could not tell the group from “{text}”. Please tap the group closest "
                    "to you; if none fits, Group 1 is for every resident of a commune or ward."
                ).format(text=text[:40])
            )
            return
    else:
        turn.state["group_guess"] = [guess.code, text[:40]]
    turn.go(REG_GROUP_HELP)


def _group_options(turn: Turn) -> list[Option]:
    """The groups in their order: "2" typed is Group 2 on every screen."""
    return [Option(f"g{g.code}", pick(g.name, turn.lang)) for g in turn.world.criteria.groups]


@screen(REG_GROUP, on_option=_on_group, on_text=_on_group_text)
def _ask_group(turn: Turn) -> None:
    turn.ask(
        turn.t._("Which group are you in?"),
        [*_group_options(turn), Option("group_help", turn.t._("I don't know which group"))],
    )


@screen(REG_GROUP_HELP, on_option=_on_group, on_text=_on_group_text)
def _ask_group_help(turn: Turn) -> None:
    t, lang = turn.t, turn.lang
    guess = turn.state.get("group_guess")
    group = turn.world.criteria.group(guess[0]) if guess else None
    if group is not None and guess is not None:
        turn.ask(
            t._("“{text}” fits {group}. Please choose this group, or another one.").format(
                text=guess[1], group=pick(group.name, lang)
            ),
            _group_options(turn),
        )
        return
    lines = [t._("Choose the group that fits you best:")]
    for g in turn.world.criteria.groups:
        if g.who:
            lines.append(
                "• " + t._("Group {code}: {who}.").format(code=g.code, who=pick(g.who, lang))
            )
        else:
            lines.append(f"• {pick(g.name, lang)}")
    lines.append(
        t._(
            "Not sure? Type a few words about your work, for example: buôn bán, về hưu, "
            "nội trợ, làm ruộng."
        )
    )
    turn.ask("\n".join(lines), _group_options(turn))


# --- province --------------------------------------------------------------------------


def _choose_province(turn: Turn, code: int) -> None:
    d = _draft(turn)
    if d.get("province") != code:
        d["commune"] = None
    d["province"] = code
    turn.state["matches"] = []
    next_step(turn)


def _on_province_option(turn: Turn, option: str) -> None:
    _choose_province(turn, int(option.removeprefix("p")))


def _on_province_text(turn: Turn, text: str) -> None:
    t, places = turn.t, turn.world.places
    found = places.find_provinces(text)
    formers = places.find_former_provinces(text)
    if found and ((len(found) == 1 and not formers) or is_exact(text, found[0])):
        _choose_province(turn, found[0].code)
    elif formers and ((len(formers) == 1 and not found) or is_exact(text, formers[0])):
        new = places.province(formers[0].code)
        turn.say(
            t._("{old} (former) is now part of {new}.").format(
                old=formers[0].name, new=new.name if new else ""
            )
        )
        _choose_province(turn, formers[0].code)
    elif found or formers:
        names = [p.name for p in found[:5]]
        for former in formers[:3]:
            new = places.province(former.code)
            names.append(
                t._("{old} (former, now {new})").format(
                    old=former.name, new=new.name if new else ""
                )
            )
        turn.again(
            t._("Several provinces match “{text}”: {names}. Please tap the one you mean.").format(
                text=text[:40], names=", ".join(names)
            )
        )
    else:
        turn.again(
            t._(
                "I could not find a province called “{text}”. Since 1 July 2025 there are 34 "
                "provinces and cities; you can also type the name of your province before "
                "then. Please tap one in the list."
            ).format(text=text[:40])
        )


@screen(REG_PROVINCE, on_option=_on_province_option, on_text=_on_province_text)
def _ask_province(turn: Turn) -> None:
    turn.ask(
        turn.t._("Which province or city do you live in? Tap it, or type its name."),
        [Option(f"p{p.code}", p.name) for p in turn.world.places.provinces],
    )


# --- commune ---------------------------------------------------------------------------


def _on_commune_option(turn: Turn, option: str) -> None:
    typed = turn.event.text.strip() if turn.event.kind == "text" else ""
    if option == "other_province" and typed.isdigit() and not turn.state.get("matches"):
        # "1" typed where the only button is "another province": a ward's number, most
        # likely ("Phường 1"), not a wish to change the province.
        _on_commune_text(turn, typed)
        return
    if option == "other_province":
        d = _draft(turn)
        d["province"] = d["commune"] = None
        _forget_matches(turn)
        turn.go(REG_PROVINCE)
        return
    d = _draft(turn)
    d["commune"] = int(option.removeprefix("c"))
    _forget_matches(turn)
    next_step(turn)


def _forget_matches(turn: Turn) -> None:
    turn.state["matches"] = []
    turn.state.pop("formers", None)


def _on_commune_text(turn: Turn, text: str) -> None:
    d = _draft(turn)
    found = turn.world.places.search(d["province"], text)
    if text.strip().isdigit() and not found.communes:  # not a code: "3" for "Phường 3"
        found = turn.world.places.search(d["province"], f"phường {text.strip()}")
    exact = [c for c in found.communes if is_exact(text, c)]
    # An old commune of the same name (now part of another) makes the name ambiguous: then
    # the list, with what became of the old one. An old district of the same name does
    # not ("hoan kiem" is Phường Hoàn Kiếm), but the person is told how to choose again.
    old_exact = [f for f in found.formers if is_exact(text, f)]
    only = len(found.communes) == 1 and not found.formers and found.commune_ranks[0] <= 2
    if not any(not f.is_district for f in old_exact) and (only or len(exact) == 1):
        chosen = (exact or found.communes)[0]
        said = turn.t._("Chosen: {commune}.").format(commune=_with_province(turn, chosen))
        for district in old_exact:
            said += " " + turn.t._(
                "{old} (former) is now divided among several communes and wards: if you live "
                "elsewhere in it, type “quay lại” and then the name of your old commune or ward."
            ).format(old=district.name)
        turn.say(said)
        _on_commune_option(turn, f"c{chosen.code}")
        return
    choices = found.choices()
    limit = FORMER_CHOICES if found.formers else COMMUNE_CHOICES
    turn.state["matches"] = choices[:limit]
    turn.state["match_total"] = len(choices)
    turn.state["formers"] = [_former_state(f) for f in found.formers[:FORMERS_SHOWN]]
    if not choices:
        province = turn.world.places.province(d["province"])
        turn.again(
            turn.t._(
                "No commune or ward in {province} matches “{text}”. Many communes and wards "
                "were merged on 1 July 2025 and have new names: you can type the new name, "
                "the old one, or your old district, with or without accents."
            ).format(province=province.name if province else "", text=text[:40])
        )
        return
    turn.go(REG_COMMUNE)


def _former_state(former: Former) -> list[Any]:
    """An old name as kept in the state (JSON) for the screen that explains it."""
    return [former.name, former.district, list(former.communes)]


def _with_province(turn: Turn, commune: Commune) -> str:
    province = turn.world.places.province(commune.province_code)
    return f"{commune.name}, {province.name}" if province else commune.name


def _former_lines(turn: Turn, formers: list[list[Any]], offered: list[Commune]) -> list[str]:
    """What became of each old name that matched; and a warning where a commune offered
    has the old name but is another place."""
    t, places = turn.t, turn.world.places
    lines = []
    for name, district, codes in formers:
        new = [c.name for code in codes if (c := places.commune(code))]
        if not district:
            lines.append(
                t._(
                    "{old} (former) is now divided among the communes and wards below. If "
                    "you remember your old commune or ward, type its name to find the right one."
                ).format(old=name)
            )
        elif len(new) == 1:
            lines.append(
                t._("{old} (former), in {district} (former), is now part of {new}.").format(
                    old=name, district=district, new=new[0]
                )
            )
        elif new:
            lines.append(
                t._(
                    "{old} (former), in {district} (former), is now divided between {new}. "
                    "Choose the one your village is in; if you are not sure, ask your "
                    "village head."
                ).format(old=name, district=district, new=t._(" and ").join(new))
            )
        for other in offered:
            if other.code not in codes and other.short == short_name(name):
                lines.append(
                    t._("Note: today's {new} is not the same place as {old} (former).").format(
                        new=other.name, old=name
                    )
                )
    return lines


@screen(REG_COMMUNE, on_option=_on_commune_option, on_text=_on_commune_text)
def _ask_commune(turn: Turn) -> None:
    t = turn.t
    places = turn.world.places
    province = places.province(_drafted(turn).get("province"))
    matches = [c for code in turn.state.get("matches", []) if (c := places.commune(code))]
    other = Option("other_province", t._("Choose another province"))
    if matches:
        lines = _former_lines(turn, turn.state.get("formers") or [], matches)
        lines.append(t._("Which one is your commune or ward? Tap it, or type the name again."))
        total = int(turn.state.get("match_total", len(matches)))
        if total > len(matches):
            lines.append(
                t._(
                    "Showing {shown} of {total} matches: type more of the name to narrow it down."
                ).format(shown=len(matches), total=total)
            )
        turn.ask("\n".join(lines), [*(Option(f"c{c.code}", c.name) for c in matches), other])
        return
    first = places.communes_of(province.code)[0] if province else None
    example = "Hoàn Kiếm"
    if first is not None:  # its name without "Xã", "Phường" or "Đặc khu"
        example = first.name
        for kind in ("Xã ", "Phường ", "Đặc khu "):
            example = example.removeprefix(kind)
    turn.ask(
        t._(
            "Type the name of your commune or ward in {province}, with or without accents "
            "(for example: {example}). The name before the 2025 merger also works."
        ).format(province=province.name if province else "", example=example),
        [other],
    )


# --- village ---------------------------------------------------------------------------


def _on_village_option(turn: Turn, option: str) -> None:
    _draft(turn)["village"] = None
    next_step(turn)


def _on_village_text(turn: Turn, text: str) -> None:
    village = tidy(text)
    if len(village) > MAX_VILLAGE:
        turn.again(
            turn.t._("That is too long: please use at most {max} characters.").format(
                max=MAX_VILLAGE
            )
        )
        return
    if not any(ch.isalnum() for ch in village):
        turn.again(turn.t._("Please type the name of your village in words, or tap Skip."))
        return
    _draft(turn)["village"] = village
    next_step(turn)


@screen(REG_VILLAGE, on_option=_on_village_option, on_text=_on_village_text)
def _ask_village(turn: Turn) -> None:
    t = turn.t
    turn.ask(
        t._(
            "Which village, hamlet or residential group do you live in? Type its name, or tap Skip."
        ),
        [Option("skip", t._("Skip"))],
    )


# --- phone -----------------------------------------------------------------------------


def normalise_phone(text: str) -> str | None:
    """Vietnamese mobile or landline numbers, as 10 digits starting with 0."""
    raw = _PHONE_CHARS.sub("", text)
    if raw.startswith("+84"):
        raw = "0" + raw[3:]
    elif raw.startswith("84") and len(raw) == 11:
        raw = "0" + raw[2:]
    return raw if _PHONE.match(raw) else None


def typed_phone(turn: Turn, text: str) -> str | None:
    """The phone number typed (or shared), or None after asking again with an example
    (registration, and a paper form entered by staff)."""
    phone = normalise_phone(text)
    if phone is None:
        turn.again(
            turn.t._(
                "A phone number has 10 digits and starts with 0, for example 0912345678. "
                "Please type it again, or tap Skip."
            )
        )
    return phone


def _set_phone(turn: Turn, text: str) -> None:
    phone = typed_phone(turn, text)
    if phone is None:
        return
    _draft(turn)["phone"] = phone
    if turn.person is None and _is_their_form(turn):
        turn.go(REG_CLAIM)  # the commune entered their paper form with this number
    else:
        next_step(turn)


def _is_their_form(turn: Turn) -> bool:
    """A paper form with the number given whose name, year of birth and commune are the
    ones just typed: only then is it offered (a number alone must not show anyone whose
    form carries it)."""
    match, d = turn.world.paper_match, _draft(turn)
    if match is None:
        return False
    p = match.profile
    return (
        fold(d.get("name") or "") == fold(p.full_name)
        and d.get("birth_year") == p.birth_year
        and d.get("commune") == p.commune_code
    )


def _phone_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    """Whether a paper form was entered with the number being given (someone without a
    phone then, registering now): only for a new registration."""
    if snapshot.person is not None:
        return Needs()
    given = event.phone if event.kind == "contact" else event.text if event.kind == "text" else ""
    return _paper_needs(snapshot, normalise_phone(given or ""))


def _paper_needs(snapshot: Snapshot, phone: str | None) -> Needs:
    """The lookup of an untaken paper form with this phone and the details typed."""
    d = snapshot.state.get("draft") or {}
    name, year, commune = d.get("name"), d.get("birth_year"), d.get("commune")
    if not phone or not name or year is None or commune is None:
        return Needs()
    return Needs(paper_phone=(phone, name, int(year), int(commune)))


def _on_phone_option(turn: Turn, option: str) -> None:
    _draft(turn)["phone"] = None
    next_step(turn)


@screen(
    REG_PHONE,
    on_option=_on_phone_option,
    on_text=_set_phone,
    on_contact=_set_phone,
    needs=_phone_needs,
)
def _ask_phone(turn: Turn) -> None:
    t = turn.t
    turn.ask(
        t._(
            "Your phone number lets the commune contact you about your title (optional). "
            "Type it, or tap Skip."
        ),
        [Option("skip", t._("Skip"))],
        kind="ask_phone",
    )


# --- confirmation ----------------------------------------------------------------------

_EDITS = ("name", "birth_year", "gender", "group", "place", "village", "phone")
_EDIT_SCREENS = {
    "name": REG_NAME,
    "birth_year": REG_BIRTH_YEAR,
    "gender": REG_GENDER,
    "group": REG_GROUP,
    "village": REG_VILLAGE,
    "phone": REG_PHONE,
}


def summary(turn: Turn, d: dict[str, Any]) -> str:
    t = turn.t
    places = turn.world.places
    commune, province = places.commune(d.get("commune")), places.province(d.get("province"))
    group = turn.world.criteria.group(str(d.get("group")))
    dash = "—"
    rows = [
        (t._("Full name"), d.get("name") or dash),
        (t._("Year of birth"), str(d.get("birth_year") or dash)),
        (t._("Gender"), gender_label(turn, d["gender"]) if d.get("gender") else dash),
        (t._("Group"), pick(group.name, turn.lang) if group else dash),
        (
            t._("Commune, province"),
            f"{commune.name}, {province.name}" if commune and province else dash,
        ),
        (t._("Village"), d.get("village") or dash),
        (t._("Phone"), d.get("phone") or dash),
    ]
    return "\n".join(f"• {label}: {value}" for label, value in rows)


def _on_confirm(turn: Turn, option: str) -> None:
    t = turn.t
    d = _draft(turn)
    if option.startswith("edit_"):
        field = option.removeprefix("edit_")
        turn.state["editing"] = True
        keys = ("province", "commune") if field == "place" else (field,)
        turn.state["edit_before"] = {k: d.get(k) for k in keys if k in d}
        if field == "place":
            d["province"] = d["commune"] = None
            turn.go(REG_PROVINCE)
        else:
            d.pop(field, None)
            turn.go(_EDIT_SCREENS[field])
        return
    profile = Profile(
        full_name=d["name"],
        birth_year=int(d["birth_year"]),
        gender=d["gender"],
        group=str(d["group"]),
        province_code=int(d["province"]),
        commune_code=int(d["commune"]),
        village=d.get("village"),
        phone=d.get("phone"),
    )
    was_registered = turn.person is not None
    turn.effect(SavePerson(profile, turn.lang))
    a = turn.assessment
    group_changed = turn.person is None or turn.person.group != profile.group
    if a is not None and a.status == "in_progress" and a.group != profile.group and group_changed:
        # The questions differ by group, so answers given for the old group do not carry over.
        turn.effect(ResetAssessment(profile.group))
        turn.assessment = AssessmentView(a.year, profile.group, "in_progress", {})
        turn.state["idx"] = 0
        if a.answers:
            turn.say(
                t._(
                    "Because you changed your group, your self-scoring starts again "
                    "from question 1."
                )
            )
    elif a is not None and a.status == "submitted" and a.group != profile.group and group_changed:
        # What was submitted was answered under the old group and is counted there.
        group = turn.world.criteria.group(a.group)
        turn.say(
            t._(
                "Your self-assessment of {year} was submitted under {group} and stays "
                "there; the new group applies from your next self-assessment."
            ).format(year=a.year, group=pick(group.name, turn.lang) if group else a.group)
        )
    turn.person = profile
    turn.state.pop("draft", None)
    turn.state.pop("editing", None)
    turn.state.pop("matches", None)
    turn.state.pop("match_total", None)
    turn.state.pop("formers", None)
    turn.say(
        t._("Your details are updated.")
        if was_registered
        else t._("Thank you, you are registered!")
    )
    turn.go(MENU)


@screen(REG_CONFIRM, on_option=_on_confirm)
def _ask_confirm(turn: Turn) -> None:
    t = turn.t
    labels = {
        "name": t._("Change name"),
        "birth_year": t._("Change year of birth"),
        "gender": t._("Change gender"),
        "group": t._("Change group"),
        "place": t._("Change commune"),
        "village": t._("Change village"),
        "phone": t._("Change phone"),
    }
    turn.ask(
        t._("Please check your details:")
        + "\n"
        + summary(turn, _drafted(turn))
        + "\n\n"
        + t._("Is everything right?"),
        [
            Option("confirm", t._("Yes, that is right")),
            *(Option(f"edit_{f}", labels[f]) for f in _EDITS),
        ],
    )


# --- a paper form entered by the commune ---------------------------------------------------


def _claim_needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    if snapshot.person is not None:
        return Needs()
    return _paper_needs(snapshot, (snapshot.state.get("draft") or {}).get("phone"))


def _claim_valid(turn: Turn) -> bool:
    return turn.person is None and _is_their_form(turn)


def _claim_gone(turn: Turn) -> None:
    next_step(turn)  # taken meanwhile, or nothing to take: registration goes on


def _on_claim(turn: Turn, option: str) -> None:
    t, match = turn.t, turn.world.paper_match
    if option != "yes" or match is None or not _is_their_form(turn):
        next_step(turn)  # not them: a registration of their own
        return
    turn.effect(ClaimPaperForm(match.person_id))
    turn.person, turn.assessment = match.profile, match.assessment
    turn.state.pop("draft", None)
    turn.state.pop("editing", None)
    turn.state.pop("matches", None)
    turn.state.pop("match_total", None)
    turn.state.pop("formers", None)
    turn.say(
        t._(
            "Thank you. Your paper form is here now: /result shows your result, and you "
            "can go on from here."
        )
    )
    turn.go(MENU)


@screen(
    REG_CLAIM, on_option=_on_claim, needs=_claim_needs, valid=_claim_valid, on_invalid=_claim_gone
)
def _ask_claim(turn: Turn) -> None:
    t, match = turn.t, turn.world.paper_match
    assert match is not None  # (valid)
    p = match.profile
    commune = turn.world.places.commune(p.commune_code)
    turn.ask(
        t._(
            "{commune} has entered a paper form with this phone number: {name}, born "
            "{year}. Is that you?"
        ).format(
            name=p.full_name,
            year=p.birth_year,
            commune=commune.name if commune else p.commune_code,
        ),
        [Option("yes", t._("Yes, that is me")), Option("no", t._("No, it is someone else"))],
    )

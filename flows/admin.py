"""Admins in chat (quản trị): join with a code, numbers now, exports, invite and revoke
admins, set a commune's population and targets, and recognise titles.

An admin has a scope (the whole deployment, a province or a commune) and sees only data
inside it. Every command here first checks that the person is an admin and that what
they ask about lies in their scope, and says so plainly if not. What a command needs
from the database (the digest, an export file, the candidates for recognition) is
loaded by the shell before the step and handed in as `Snapshot.admin_data`; the step
itself stays pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from flows.digest import digest_text, group_label
from flows.lang import LOCAL_TZ, Lang
from flows.model import (
    AdminView,
    BecomeAdmin,
    Candidate,
    Event,
    NewInvite,
    Option,
    Recognise,
    Reply,
    ReturnAssessment,
    RevokeAdmin,
    SetMonthly,
    SetTarget,
)
from flows.navigation import leave
from flows.places import Area, Gazetteer
from flows.reminders import RESUME
from flows.text import fold, tidy
from flows.turn import Turn, screen
from flows.units import normalise_code

ROLE = "admin"
COMMANDS = ("admin", "stats", "export", "invite", "admins", "revoke", "recognise", "target")
HEAVY = ("stats", "export")  # what the shell prepares outside the transaction
INVITE_HOURS = 72
LISTED = 8  # candidates shown at a time
MAX_REASON = 300
MAX_POPULATION = 10_000_000
ON_WORDS, OFF_WORDS = ("on", "bat", "co", "yes"), ("off", "tat", "khong", "no")
MONTHLY_WORDS = ("monthly", "thang", "hangthang")

_SCOPE = re.compile(r"^(all|toanquoc|province|tinh|commune|xa|phuong)(?::(\d+))?$")

Say = Callable[[Turn, str], None]


def wants_admin(event: Event, state_screen: str | None) -> bool:
    """Whether the step needs to know if the person is an admin (and their data): on
    every command (/help shows admins their commands) and on the admin screens."""
    if event.kind == "command":
        return True
    return bool(state_screen and state_screen.startswith("admin."))


def parse_scope(word: str, places: Gazetteer) -> Area | None:
    """ "tinh:42", "province:42", "xa:70", "commune:70", "all"; None if not a scope."""
    kind, colon, code = word.partition(":")
    match = _SCOPE.match(fold(kind).replace(" ", "") + colon + code.strip())
    if not match:
        return None
    kind, code = match.group(1), match.group(2)
    if kind in ("all", "toanquoc"):
        return Area() if code is None else None
    if code is None:
        return None
    if kind in ("province", "tinh"):
        return Area(province=int(code)) if places.province(int(code)) else None
    commune = places.commune(int(code))
    return Area(commune.province_code, commune.code) if commune else None


def requested_area(args: str, admin: AdminView, places: Gazetteer) -> Area | None:
    """The area a command asks about: a scope word among its arguments, else the admin's
    own scope. None if the word names no place."""
    for word in args.split():
        if ":" in word or fold(word) in ("all", "toanquoc"):
            return parse_scope(word, places)
    return admin.area


def command(turn: Turn, name: str, args: str, with_current: Say) -> None:
    t = turn.t
    admin = turn.snapshot.admin
    if name == "admin" and _quoted(turn.event):
        _join(turn, with_current)
        return
    if admin is None:
        with_current(
            turn,
            t._(
                "This command is for admins of the campaign. If you were given an admin "
                "code, send /admin followed by it."
            ),
        )
        return
    handler = {
        "admin": _status,
        "stats": _stats,
        "export": _export,
        "invite": _invite,
        "admins": _list_admins,
        "revoke": _revoke,
        "recognise": _recognise,
        "target": _target,
    }[name]
    handler(turn, admin, args, with_current)


def _quoted(event: Event) -> str | None:
    """The code of `/admin CODE` (not `/admin monthly on`)."""
    words = event.args.split()
    if event.command != "admin" or not words or fold(words[0]) in MONTHLY_WORDS:
        return None
    return normalise_code(event.args) or None


def quoted_code(event: Event) -> str | None:
    """For the dispatcher: the admin code an event quotes, to look up."""
    return _quoted(event) if event.kind == "command" else None


def _out_of_scope(turn: Turn, admin: AdminView, with_current: Say) -> None:
    t = turn.t
    with_current(
        turn,
        t._("That is outside your scope: you are an admin for {scope}.").format(
            scope=admin.area.name(turn.world.places, t)
        ),
    )


def _scoped(turn: Turn, admin: AdminView, args: str, with_current: Say) -> Area | None:
    """The area asked about, if it is a place and inside the admin's scope (else say why)."""
    t = turn.t
    area = requested_area(args, admin, turn.world.places)
    if area is None:
        with_current(
            turn,
            t._(
                "I don't know that place. Write it as tinh:CODE or xa:CODE with the code "
                "of the 2025 list, for example xa:70."
            ),
        )
        return None
    if not admin.area.contains(area):
        _out_of_scope(turn, admin, with_current)
        return None
    return area


# --- joining, status -------------------------------------------------------------------


def _join(turn: Turn, with_current: Say) -> None:
    t = turn.t
    code = _quoted(turn.event) or ""
    invite = turn.snapshot.invite
    if invite is None or invite.code != code or invite.role != ROLE:
        with_current(
            turn,
            t._("The admin code “{code}” is not valid. Check it and try again.").format(code=code),
        )
    elif invite.revoked or invite.expires_at <= turn.world.now or invite.uses:
        with_current(
            turn,
            t._(
                "The admin code “{code}” has expired or was already used. Ask for a new one."
            ).format(code=code),
        )
    else:
        turn.effect(BecomeAdmin(code, invite.area, turn.lang))
        welcome = t._("You are now an admin for {scope}.").format(
            scope=invite.area.name(turn.world.places, t)
        )
        lines = [welcome, admin_help(turn)]
        draft = turn.state.get("draft") or {}
        if turn.person is None and not any(v is not None for v in draft.values()):
            # Opening the bot began a registration: an admin is not held to it.
            turn.state["screen"] = None
            turn.state.pop("draft", None)
            lines.append(t._("Send /start if you also want to register as a Learning Citizen."))
        with_current(turn, "\n".join(lines))


def admin_help(turn: Turn) -> str:
    t = turn.t
    lines = [
        t._("Every morning at 07:00 I send you the numbers for your area. Commands:"),
        t._("/stats — the numbers now (/stats xa:CODE for one commune)"),
        t._("/export — an Excel report (/export csv for CSV)"),
        t._("/recognise — recognise the titles of a commune"),
        t._("/target — set a commune's population and targets"),
        t._("/invite — a code for another admin in your area"),
        t._("/admins — the admins in your area; /revoke NUMBER removes one"),
        t._("/admin monthly on — also a summary of each month"),
    ]
    return "\n".join(lines)


def _status(turn: Turn, admin: AdminView, args: str, with_current: Say) -> None:
    t = turn.t
    words = [fold(w) for w in args.split()]
    if words and words[0] in MONTHLY_WORDS:
        if len(words) > 1 and words[1] in ON_WORDS + OFF_WORDS:
            on = words[1] in ON_WORDS
            turn.effect(SetMonthly(on))
            if on:
                text = t._("On the 1st of each month you will also get a summary of the month.")
            else:
                text = t._("No more monthly summaries.")
        else:
            text = t._("Write /admin monthly on or /admin monthly off.")
        with_current(turn, text)
        return
    scope = t._("You are an admin for {scope}.").format(scope=admin.area.name(turn.world.places, t))
    with_current(turn, "\n".join([scope, admin_help(turn)]))


# --- numbers and files -----------------------------------------------------------------


def _stats(turn: Turn, admin: AdminView, args: str, with_current: Say) -> None:
    if _scoped(turn, admin, args, with_current) is None:
        return
    data = turn.snapshot.admin_data
    if data is None or data.digest is None:  # pragma: no cover - the shell always loads it
        with_current(turn, turn.t._("The numbers are not available right now."))
        return
    w = turn.world
    turn.say(digest_text(data.digest, w.places, w.criteria, turn.t))
    _files(turn, with_current)


def _export(turn: Turn, admin: AdminView, args: str, with_current: Say) -> None:
    if _scoped(turn, admin, args, with_current) is None:
        return
    turn.say(turn.t._("Here is the report for your area:"))
    _files(turn, with_current)


def _files(turn: Turn, with_current: Say) -> None:
    data = turn.snapshot.admin_data
    for name, blob in data.files if data else ():
        turn.replies.append(_file_reply(name, blob))
    if turn.screen is not None:
        with_current(turn, turn.t._("Now, where we were:"))


def _file_reply(name: str, blob: bytes) -> Reply:
    return Reply("file", "", file_name=name, file_data=blob)


def export_format(args: str) -> str:
    """xlsx unless the arguments say csv."""
    return "csv" if "csv" in fold(args).split() else "xlsx"


# --- admins ----------------------------------------------------------------------------


def _invite(turn: Turn, admin: AdminView, args: str, with_current: Say) -> None:
    t = turn.t
    area = _scoped(turn, admin, args, with_current)
    if area is None:
        return
    code = turn.world.fresh_code
    expires = turn.world.now + timedelta(hours=INVITE_HOURS)
    turn.effect(NewInvite(code, ROLE, area, expires))
    with_current(
        turn,
        t._(
            "A code for a new admin for {scope}: {code}\nIt can be used once, until {until}. "
            "The new admin sends: /admin {code}"
        ).format(scope=area.name(turn.world.places, t), code=code, until=t.datetime(expires)),
    )


def _admin_line(turn: Turn, a: AdminView, me: AdminView) -> str:
    t = turn.t
    who = a.name or t._("{channel} account").format(channel=a.channel.capitalize())
    since = t.date(a.since) if a.since else ""
    you = t._(" (you)") if a.id == me.id else ""
    return f"#{a.id} {who}{you} — {a.area.name(turn.world.places, t)} — {since}"


def _list_admins(turn: Turn, admin: AdminView, args: str, with_current: Say) -> None:
    t = turn.t
    data = turn.snapshot.admin_data
    listed = data.admins if data else ()
    lines = [t._("Admins for {scope}:").format(scope=admin.area.name(turn.world.places, t))]
    lines += [_admin_line(turn, a, admin) for a in listed]
    lines.append(t._("/revoke NUMBER removes one; /invite makes a code for a new one."))
    with_current(turn, "\n".join(lines))


def _revoke(turn: Turn, admin: AdminView, args: str, with_current: Say) -> None:
    t = turn.t
    digits = args.strip().lstrip("#")
    if not digits.isdigit():
        with_current(turn, t._("Write /revoke and the admin's number from /admins."))
        return
    number = int(digits)
    data = turn.snapshot.admin_data
    target = next((a for a in (data.admins if data else ()) if a.id == number), None)
    if number == admin.id:
        text = t._("You cannot remove yourself; another admin for your area can.")
    elif target is None:
        text = t._("There is no admin #{n} in your area. /admins lists them.").format(n=number)
    else:
        turn.effect(RevokeAdmin(number, admin.area))
        text = t._("Admin #{n} is no longer an admin.").format(n=number)
    with_current(turn, text)


# --- targets ---------------------------------------------------------------------------


def parse_target(args: str, places: Gazetteer) -> tuple[Area | None, dict[str, int]] | None:
    """[xa:CODE] ADULTS [OFFICIALS] [ADULTS%] [OFFICIALS%]; None if unreadable."""
    area: Area | None = None
    numbers: list[int] = []
    percents: list[int] = []
    for word in args.split():
        if ":" in word:
            area = parse_scope(word, places)
            if area is None or area.kind != "commune":
                return None
            continue
        plain = word.replace(".", "").replace(",", "")
        if plain.endswith("%") and plain[:-1].isdigit() and int(plain[:-1]) <= 100:
            percents.append(int(plain[:-1]))
        elif plain.isdigit() and int(plain) <= MAX_POPULATION:
            numbers.append(int(plain))
        else:
            return None
    if len(numbers) > 2 or len(percents) > 2 or not (numbers or percents):
        return None
    keys = ("adults", "officials")
    changes = dict(zip(keys, numbers, strict=False))
    changes.update(zip((f"{k}_pct" for k in keys), percents, strict=False))
    return area, changes


def _target(turn: Turn, admin: AdminView, args: str, with_current: Say) -> None:
    t = turn.t
    parsed = parse_target(args, turn.world.places)
    if parsed is None:
        with_current(
            turn,
            t._(
                "Write: /target xa:CODE ADULTS OFFICIALS, and the targets in percent if they "
                "are not the national ones. For example: /target xa:70 2000 150 45% 60%. "
                "A commune admin can leave out xa:CODE."
            ),
        )
        return
    area, changes = parsed
    area = area or admin.area
    if area.kind != "commune":
        with_current(turn, t._("Name the commune: /target xa:CODE ADULTS OFFICIALS."))
        return
    if not admin.area.contains(area):
        _out_of_scope(turn, admin, with_current)
        return
    turn.effect(SetTarget(area, changes))
    parts = []
    if "adults" in changes:
        parts.append(t._("{n} adults").format(n=t.number(changes["adults"])))
    if "officials" in changes:
        parts.append(t._("{n} officials").format(n=t.number(changes["officials"])))
    if "adults_pct" in changes:
        parts.append(t._("target for adults {n}%").format(n=changes["adults_pct"]))
    if "officials_pct" in changes:
        parts.append(t._("target for officials {n}%").format(n=changes["officials_pct"]))
    with_current(
        turn,
        t._("Saved for {commune}: {what}.").format(
            commune=area.name(turn.world.places, t), what=", ".join(parts)
        ),
    )


# --- recognition -----------------------------------------------------------------------


def recognition_commune(
    state: Mapping[str, Any], event: Event, admin: AdminView | None, places: Gazetteer
) -> int | None:
    """The commune whose candidates the step needs (for the shell to load)."""
    if admin is None:
        return None
    if event.kind == "command" and event.command == "recognise":
        area = requested_area(event.args, admin, places)
        if area is None or area.commune is None or not admin.area.contains(area):
            return None
        return area.commune
    rec = state.get("rec")
    return rec.get("commune") if isinstance(rec, dict) else None


def _recognise(turn: Turn, admin: AdminView, args: str, with_current: Say) -> None:
    t = turn.t
    area = _scoped(turn, admin, args, with_current)
    if area is None:
        return
    if area.commune is None:
        with_current(
            turn,
            t._(
                "Titles are recognised commune by commune: write /recognise xa:CODE for a "
                "commune in your area."
            ),
        )
        return
    if turn.screen not in _REC_SCREENS:
        turn.state["rec_back"] = turn.screen
    turn.state["rec"] = {"commune": area.commune, "done": []}
    turn.go("admin.rec")


def _candidates(turn: Turn) -> tuple[int, list[Candidate]]:
    data = turn.snapshot.admin_data
    if data is None or data.candidates is None:
        return 0, []
    count, listed = data.candidates
    done = set(turn.state["rec"].get("done", []))
    shown = [c for c in listed if c.assessment_id not in done]
    return count - (len(listed) - len(shown)), shown


def _commune_name(turn: Turn) -> str:
    commune = turn.world.places.commune(turn.state["rec"]["commune"])
    return commune.name if commune else str(turn.state["rec"]["commune"])


def _leave_rec(turn: Turn, text: str) -> None:
    turn.state.pop("rec", None)
    back = turn.state.pop("rec_back", None)
    turn.say(text)
    leave(turn, back)


def _admin_lost(turn: Turn) -> bool:
    """The admin was revoked (or moved) while on a recognition screen."""
    admin = turn.snapshot.admin
    rec = turn.state.get("rec") or {}
    commune = turn.world.places.commune(rec.get("commune"))
    if admin is None or commune is None:
        return True
    return not admin.area.contains(Area(commune.province_code, commune.code))


def _render_list(turn: Turn) -> None:
    t = turn.t
    if _admin_lost(turn):
        _leave_rec(turn, t._("You are no longer an admin for this commune."))
        return
    count, shown = _candidates(turn)
    if count <= 0:
        _leave_rec(
            turn,
            t._("No one in {commune} is waiting for recognition.").format(
                commune=_commune_name(turn)
            ),
        )
        return
    lines = [
        t._(
            "{n} people in {commune} reach the title by self-score and are not recognised "
            "yet. Tap a name to recognise or return it:"
        ).format(n=t.number(count), commune=_commune_name(turn))
    ]
    options = []
    for n, c in enumerate(shown[:LISTED], start=1):
        village = f", {c.village}" if c.village else ""
        lines.append(
            t._("{n}. {name}{village} — {total} points, {group}").format(
                n=n,
                name=c.name,
                village=village,
                total=c.total,
                group=group_label(c.group, turn.world.criteria, t),
            )
        )
        options.append(Option(f"p{c.assessment_id}", c.name))
    if count > 1:  # one person: tapping the name does it
        options.append(Option("all", t._("Recognise all {n}").format(n=t.number(count))))
    options.append(Option("done", t._("Done")))
    turn.ask("\n".join(lines), options)


def _on_list(turn: Turn, option: str) -> None:
    if option == "done":
        _leave_rec(turn, turn.t._("Done. /recognise shows the list again."))
    elif option == "all":
        count, _ = _candidates(turn)
        turn.state["rec"].update(until=turn.world.now.isoformat(), count=count)
        turn.go("admin.rec.all")
    else:
        turn.state["rec"]["pick"] = int(option[1:])
        turn.go("admin.rec.one")


@screen("admin.rec", on_option=_on_list)
def _ask_list(turn: Turn) -> None:
    _render_list(turn)


def _picked(turn: Turn) -> Candidate | None:
    _, shown = _candidates(turn)
    pick = turn.state["rec"].get("pick")
    return next((c for c in shown if c.assessment_id == pick), None)


def _back_to_list(turn: Turn, text: str) -> None:
    turn.state["rec"].pop("pick", None)
    turn.say(text)
    turn.go("admin.rec")


def _on_one(turn: Turn, option: str) -> None:
    t = turn.t
    c = _picked(turn)
    if c is None:
        _back_to_list(turn, t._("That person has been decided on meanwhile."))
    elif option == "yes":
        turn.effect(
            Recognise(turn.state["rec"]["commune"], turn.world.campaign_year, c.assessment_id)
        )
        turn.state["rec"]["done"] = [*turn.state["rec"]["done"][-19:], c.assessment_id]
        _back_to_list(turn, t._("Recognised: {name}. They will be told.").format(name=c.name))
    elif option == "return":
        turn.go("admin.rec.reason")
    else:
        _back_to_list(turn, t._("Nothing changed."))


@screen("admin.rec.one", on_option=_on_one)
def _ask_one(turn: Turn) -> None:
    t = turn.t
    if _admin_lost(turn):
        _leave_rec(turn, t._("You are no longer an admin for this commune."))
        return
    c = _picked(turn)
    if c is None:
        _back_to_list(turn, t._("That person has been decided on meanwhile."))
        return
    village = f", {c.village}" if c.village else ""
    turn.ask(
        t._(
            "{name}{village}: {total} points ({group}), submitted {date}. Recognise the "
            "title, or return the self-assessment with a reason?"
        ).format(
            name=c.name,
            village=village,
            total=c.total,
            group=group_label(c.group, turn.world.criteria, t),
            date=t.date(c.submitted_at),
        ),
        [
            Option("yes", t._("Recognise")),
            Option("return", t._("Return with a reason")),
            Option("back", t._("Back to the list")),
        ],
    )


def _on_reason(turn: Turn, text: str) -> None:
    t = turn.t
    reason = tidy(text)
    if len(reason) > MAX_REASON or sum(ch.isalpha() for ch in reason) < 3:
        turn.again(
            t._("Please write the reason in a few words, at most {max} characters.").format(
                max=MAX_REASON
            )
        )
        return
    c = _picked(turn)
    if c is None:
        _back_to_list(turn, t._("That person has been decided on meanwhile."))
        return
    turn.effect(
        ReturnAssessment(
            turn.state["rec"]["commune"], turn.world.campaign_year, c.assessment_id, reason
        )
    )
    turn.state["rec"]["done"] = [*turn.state["rec"]["done"][-19:], c.assessment_id]
    _back_to_list(
        turn,
        t._(
            "Returned to {name} with your reason. They can change their answers and submit again."
        ).format(name=c.name),
    )


def _on_reason_cancel(turn: Turn, option: str) -> None:
    turn.go("admin.rec.one")


@screen("admin.rec.reason", on_option=_on_reason_cancel, on_text=_on_reason)
def _ask_reason(turn: Turn) -> None:
    t = turn.t
    c = _picked(turn)
    if c is None or _admin_lost(turn):
        _back_to_list(turn, t._("That person has been decided on meanwhile."))
        return
    turn.ask(
        t._("Why is {name}'s self-assessment returned? They will read your words.").format(
            name=c.name
        ),
        [Option("back", t._("Back"))],
    )


def _on_all(turn: Turn, option: str) -> None:
    t = turn.t
    rec = turn.state["rec"]
    if option != "yes":
        _back_to_list(turn, t._("Nothing changed."))
        return
    until = datetime.fromisoformat(rec["until"])
    turn.effect(Recognise(rec["commune"], turn.world.campaign_year, until=until))
    _leave_rec(
        turn,
        t._("Recognised: {n} people in {commune}. Each of them will be told.").format(
            n=t.number(rec.get("count", 0)), commune=_commune_name(turn)
        ),
    )


@screen("admin.rec.all", on_option=_on_all)
def _ask_all(turn: Turn) -> None:
    t = turn.t
    if _admin_lost(turn):
        _leave_rec(turn, t._("You are no longer an admin for this commune."))
        return
    rec = turn.state["rec"]
    turn.ask(
        t._(
            "Recognise the title of all {n} people in {commune} who reach it by self-score? "
            "Each of them will be told."
        ).format(n=t.number(rec.get("count", 0)), commune=_commune_name(turn)),
        [Option("yes", t._("Yes, recognise all")), Option("no", t._("No, back to the list"))],
    )


_REC_SCREENS = ("admin.rec", "admin.rec.one", "admin.rec.reason", "admin.rec.all")


# --- telling the citizen ---------------------------------------------------------------


def decision_reply(recognised: bool, at: datetime, reason: str | None, t: Lang) -> Reply:
    """What a citizen is told when the commune decided on their self-assessment."""
    if recognised:
        return Reply(
            "text",
            t._(
                "Congratulations! On {date} your commune recognised you as a Learning Citizen "
                "(Công dân học tập)."
            ).format(date=t.date(at.astimezone(LOCAL_TZ))),
        )
    return Reply(
        "options",
        t._(
            "Your commune has returned your self-assessment with this note: “{reason}”. "
            "You can change your answers and submit again."
        ).format(reason=reason or ""),
        (Option(RESUME, t._("Continue where I stopped")),),
    )

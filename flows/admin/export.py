"""/export (/baocao): an Excel report of the admin's scope or one commune of it (a row per
commune and group, a sheet of average points per indicator); `/export csv` for CSV;
`/export names COMMUNE` (/baocao danhsach) the commune's named list for its recognition
decision (names, phones, points: only for admins whose scope covers it). The shell reads
the numbers and writes the file before the step (see `_needs`)."""

from __future__ import annotations

from flows.admin.common import asked, campaign_year, scoped, the_admin, year_readable
from flows.admin.files import send_report_files
from flows.lang import Lang
from flows.model import Event, Needs, ReportKind, ReportRequest, Snapshot, World
from flows.navigation import aside
from flows.text import fold
from flows.turn import Turn, command

NAMES_WORDS = ("danhsach", "names")


def export_format(args: str) -> ReportKind:
    """xlsx unless the arguments say csv."""
    return "csv" if "csv" in fold(args).split() else "xlsx"


def names_asked(args: str) -> tuple[bool, str]:
    """Whether the arguments ask for the named list ("danh sách", "danhsach", "names"),
    and the arguments without those words (the place and the year)."""
    words = args.split()
    folded = [fold(w) for w in words]
    for n, word in enumerate(folded):
        if word in NAMES_WORDS:
            return True, " ".join(words[:n] + words[n + 1 :])
        if word == "danh" and n + 1 < len(folded) and folded[n + 1] == "sach":
            return True, " ".join(words[:n] + words[n + 2 :])
    return False, args


def _needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    names, args = names_asked(event.args)
    question = asked(args, world.places)
    if not question.readable or (question.name and not question.options):
        return Needs()  # the handler says what it did not understand
    if not year_readable(question, world):
        return Needs()  # a year outside the campaign: refused, nothing read
    kind = "names" if names else export_format(args)
    return Needs(report=ReportRequest(kind, question.area, question.options, question.year))


def _help(t: Lang) -> str:
    return t._(
        "/export — an Excel report (/export csv for CSV; /export names COMMUNE: the "
        "named list for recognition)"
    )


@command(
    "export", "baocao", "xuat", "xuatbaocao", needs=_needs, admin=True, help=_help, help_rank=20
)
def _export(turn: Turn, args: str) -> None:
    t = turn.t
    names, args = names_asked(args)
    area = scoped(turn, the_admin(turn), args)
    year = campaign_year(turn, args) if area is not None else None
    if area is None or year is None:
        return
    if names and area.commune is None:
        aside(
            turn,
            t._(
                "The named list is made for one commune or ward at a time: write its name "
                "or code after it, for example /export names Hoàn Kiếm."
            ),
        )
        return
    report = turn.world.report
    if report is None or report.request.kind == "stats":  # pragma: no cover - read in scope
        aside(turn, t._("The numbers are not available right now."))
        return
    if names:
        turn.say(
            t._(
                "Here is the named list of {commune} for {year}, for the commune's "
                "recognition decision. It holds people's phone numbers: keep it for that "
                "decision and do not pass it on."
            ).format(commune=area.name(turn.world.places, t), year=year)
        )
    else:
        turn.say(t._("Here is the report for your area:"))
    send_report_files(turn, report)

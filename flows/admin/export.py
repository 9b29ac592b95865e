"""/export (/baocao): an Excel report of the admin's scope or one commune of it (a row per
commune and group, a sheet of average points per indicator); `/export csv` for CSV. The
shell reads the numbers and writes the file before the step (see `_needs`)."""

from __future__ import annotations

from flows.admin.common import asked, campaign_year, scoped, the_admin, year_readable
from flows.admin.files import send_report_files
from flows.lang import Lang
from flows.model import Event, Needs, ReportKind, ReportRequest, Snapshot, World
from flows.navigation import aside
from flows.text import fold
from flows.turn import Turn, command


def export_format(args: str) -> ReportKind:
    """xlsx unless the arguments say csv."""
    return "csv" if "csv" in fold(args).split() else "xlsx"


def _needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    question = asked(event.args, world.places)
    if not question.readable or (question.name and not question.options):
        return Needs()  # the handler says what it did not understand
    if not year_readable(question, world):
        return Needs()  # a year outside the campaign: refused, nothing read
    return Needs(
        report=ReportRequest(
            export_format(event.args), question.area, question.options, question.year
        )
    )


def _help(t: Lang) -> str:
    return t._("/export — an Excel report (/export csv for CSV)")


@command(
    "export", "baocao", "xuat", "xuatbaocao", needs=_needs, admin=True, help=_help, help_rank=20
)
def _export(turn: Turn, args: str) -> None:
    if scoped(turn, the_admin(turn), args) is None or campaign_year(turn, args) is None:
        return
    report = turn.world.report
    if report is None or report.request.kind == "stats":  # pragma: no cover - read in scope
        aside(turn, turn.t._("The numbers are not available right now."))
        return
    turn.say(turn.t._("Here is the report for your area:"))
    send_report_files(turn, report)

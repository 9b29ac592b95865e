"""/stats (/thongke): an admin's numbers now, for their scope or one commune of it, with
the chart.

This is the shape of an admin command (see docs/ARCHITECTURE.md, "Adding a feature"):
`_needs` says what the step will read (here the report of the area asked about, which the
shell reads before the transaction because a province takes a moment), and the handler
answers from `turn.world`, checking the area against the admin's scope first.
"""

from __future__ import annotations

from flows.admin.common import asked, campaign_year, scoped, the_admin, year_readable
from flows.admin.files import send_report_files
from flows.digest import digest_text
from flows.lang import Lang
from flows.model import Event, Needs, ReportRequest, Snapshot, World
from flows.navigation import aside
from flows.turn import Turn, command


def _needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    question = asked(event.args, world.places)
    if not question.readable or (question.name and not question.options):
        return Needs()  # the handler says what it did not understand
    if not year_readable(question, world):
        return Needs()  # a year outside the campaign: refused, nothing read
    return Needs(report=ReportRequest("stats", question.area, question.options, question.year))


def _help(t: Lang) -> str:
    return t._("/stats — the numbers now (/stats NAME or /stats xa:CODE for one commune)")


@command(
    "stats", "thongke", "sotlieu", "solieu", needs=_needs, admin=True, help=_help, help_rank=10
)
def _stats(turn: Turn, args: str) -> None:
    if scoped(turn, the_admin(turn), args) is None or campaign_year(turn, args) is None:
        return
    report = turn.world.report
    if report is None or report.digest is None:  # pragma: no cover - read in scope
        aside(turn, turn.t._("The numbers are not available right now."))
        return
    w = turn.world
    turn.say(digest_text(report.digest, w.places, w.criteria, turn.t))
    send_report_files(turn, report)

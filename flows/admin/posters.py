"""/poster (/apphich): printable A4 posters whose QR codes open the bot with the commune
already chosen (bot.posters draws them). A commune admin gets their commune's; a province
admin every commune of the province in one PDF, or one commune they name."""

from __future__ import annotations

from flows.admin.common import asked, scoped, the_admin
from flows.admin.files import send_report_files
from flows.lang import Lang
from flows.model import Event, Needs, ReportRequest, Snapshot, World
from flows.navigation import aside
from flows.turn import Turn, command


def _needs(snapshot: Snapshot, event: Event, world: World) -> Needs:
    question = asked(event.args, world.places)
    if not question.readable or (question.name and not question.options):
        return Needs()  # the handler says what it did not understand
    return Needs(report=ReportRequest("poster", question.area, question.options))


def _help(t: Lang) -> str:
    return t._("/poster — posters to print, with QR codes that open the bot in your commune")


@command("poster", "apphich", "posters", needs=_needs, admin=True, help=_help, help_rank=25)
def _poster(turn: Turn, args: str) -> None:
    t, places = turn.t, turn.world.places
    area = scoped(turn, the_admin(turn), args)
    if area is None:
        return
    if area.province is None:
        aside(
            turn,
            t._(
                "Posters are made for a province or a commune: for example /poster Hoàn Kiếm, "
                "or /poster Hà Nội for every commune of the province."
            ),
        )
        return
    report = turn.world.report
    if report is None or report.request.kind != "poster":  # pragma: no cover - read in scope
        aside(turn, t._("The numbers are not available right now."))
        return
    if not report.files:
        aside(
            turn,
            t._(
                "The posters need the bot's Telegram username or the Zalo Official Account's "
                "link, and neither is set yet. Please ask whoever runs the bot to set "
                "TELEGRAM_BOT_USERNAME or ZALO_OA_LINK."
            ),
        )
        return
    if area.commune is not None:
        text = t._(
            "Here is the poster for {area}: print it on A4, in black and white if you like. "
            "People scan it to register and assess themselves; their commune is chosen for "
            "them."
        ).format(area=area.name(places, t))
    else:
        text = t._(
            "Here are the posters for the {n} communes and wards of {area}, one A4 page "
            "each: send each commune its page."
        ).format(n=len(places.communes_of(area.province)), area=area.name(places, t))
    if report.missing:
        text += "\n" + t._(
            "Not on the poster yet, as it is not set: {settings}. Ask whoever runs the bot "
            "to set it if you use that channel."
        ).format(settings=", ".join(report.missing))
    turn.say(text)
    send_report_files(turn, report)

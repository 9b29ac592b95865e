"""Files an admin's command sends (the chart, an export): made by the shell with the
report, sent as they are."""

from __future__ import annotations

from flows.model import Reply, Report
from flows.turn import SCREENS, Turn


def send_report_files(turn: Turn, report: Report) -> None:
    """The report's files, then the current question again if there is one."""
    personal = report.request.kind == "names"
    for name, blob in report.files:
        turn.replies.append(Reply("file", "", file_name=name, file_data=blob, personal=personal))
    if turn.screen in SCREENS:
        turn.again(turn.t._("Now, where we were:"), kind="text")

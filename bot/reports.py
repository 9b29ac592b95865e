"""Reports for admins: the digest loaded from the database, its chart (PNG, matplotlib's
Agg backend, no display needed), and the export as .xlsx (openpyxl, write-only: rows are
streamed, memory stays flat) or CSV. The numbers come from flows.digest, the same as the
chat digest's.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from bot.core import Core
from flows.digest import Counts, Digest, chart_data, group_label
from flows.lang import Lang
from flows.places import Area
from storage import admin as store

if TYPE_CHECKING:
    from matplotlib.figure import Figure

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def looked_back_on(day: date, monthly: bool = False) -> date:
    """The first day a digest of `day` looks back on (yesterday, or last month's first):
    its campaign year is that day's (on 1 January, the year just ended)."""
    return Digest(Area(), day, 0, (), monthly=monthly).period[0]


def load_digest(
    conn: Connection, area: Area, year: int, day: date, monthly: bool = False
) -> Digest:
    """The digest of `area` for `day`: counts now; new = yesterday (or last month)."""
    shell = Digest(area, day, year, (), monthly=monthly)
    since, until = shell.period
    lines = store.digest_lines(conn, area, year, since, until)
    return Digest(area, day, year, tuple(lines), tuple(store.targets(conn, area)), monthly)


def chart_figure(digest: Digest, core: Core, t: Lang) -> Figure:
    """Grouped horizontal bars (registered, submitted, title reached, recognised) with
    their values, whole-number ticks in Vietnamese number format, the target of each
    area as a mark, the legend under the bars and a caption under the title."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    data = chart_data(digest, core.places, core.criteria, t)
    bars = max(len(data.labels), 1)
    fig = Figure(figsize=(8, 2.4 + 0.55 * bars), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    height = 0.8 / max(len(data.series), 1)
    positions = range(len(data.labels))
    for n, (name, values) in enumerate(data.series.items()):
        drawn = ax.barh([p + n * height for p in positions], values, height=height, label=name)
        ax.bar_label(
            drawn, labels=[t.number(v) if v else "" for v in values], fontsize=7, padding=2
        )
    middle = height * (len(data.series) - 1) / 2
    ax.set_yticks([p + middle for p in positions], labels=list(data.labels), fontsize=8)
    targets = zip(positions, data.targets, strict=False)  # none for a commune's groups
    marks = [(target, p + middle) for p, target in targets if target]
    if marks:
        ax.scatter(
            [x for x, _ in marks],
            [y for _, y in marks],
            marker="|",
            s=400,
            color="black",
            zorder=3,
            label=t._("Target"),
        )
    ax.invert_yaxis()  # the first area at the top
    title = data.title + (f"\n{data.caption}" if data.caption else "")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(t._("People"), fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: t.number(round(value))))
    top = max((max(v, default=0) for v in data.series.values()), default=0)
    top = max([top, *(x for x, _ in marks)])
    ax.set_xlim(0, max(1, top) * 1.15)  # room for the values at the bars' ends
    legend = 0.0
    if data.labels:  # under the chart, on its own strip: it never covers a bar
        handles, names = ax.get_legend_handles_labels()
        fig.legend(handles, names, loc="lower center", ncol=len(names), fontsize=8, frameon=False)
        legend = 0.45 / fig.get_figheight()  # inches of the strip, as a share of the height
    else:
        ax.set_yticks([])
        ax.set_xticks([])
        ax.set_xlabel("")
        ax.text(0.5, 0.5, t._("No one has registered yet."), ha="center", transform=ax.transAxes)
    fig.tight_layout(rect=(0, legend, 1, 1))
    return fig


def chart_png(digest: Digest, core: Core, t: Lang) -> bytes:
    out = io.BytesIO()
    chart_figure(digest, core, t).savefig(out, format="png")
    return out.getvalue()


def _rows(digest: Digest, core: Core, t: Lang) -> list[list[object]]:
    """One row per commune and group that has someone registered."""
    rows: list[list[object]] = []
    for line in sorted(digest.lines, key=lambda x: (x.province, x.commune, x.group)):
        c = line.counts
        province = core.places.province(line.province)
        commune = core.places.commune(line.commune)
        rows.append(
            [
                province.name if province else line.province,
                commune.name if commune else line.commune,
                line.commune,
                group_label(line.group, core.criteria, t),
                c.registered,
                c.in_progress,
                c.submitted,
                c.reached,
                c.recognised,
                round(c.pass_rate * 100, 1) if c.pass_rate is not None else None,
            ]
        )
    return rows


def _header(t: Lang) -> list[str]:
    return [
        t._("Province"),
        t._("Commune"),
        t._("Commune code"),
        t._("Group"),
        t._("Registered"),
        t._("In progress"),
        t._("Submitted"),
        t._("Title reached"),
        t._("Recognised"),
        t._("Pass rate (%)"),
    ]


def _title(digest: Digest, core: Core, t: Lang) -> str:
    return t._("Learning Citizens {year} — {area} — as of {date}").format(
        year=digest.year, area=digest.area.name(core.places, t), date=t.date(digest.day)
    )


def export_xlsx(
    digest: Digest, points: list[tuple[str, str, int, int]], core: Core, t: Lang
) -> bytes:
    """Sheet 1: a title, then a row per commune and group and the total; sheet 2: average
    points per indicator and group."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(t._("By commune"))
    bold = Font(bold=True)

    def strong(values: Sequence[Any]) -> list[Any]:
        cells = []
        for value in values:
            cell = WriteOnlyCell(ws, value=value)
            cell.font = bold
            cells.append(cell)
        return cells

    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 28
    ws.append(strong([_title(digest, core, t)]))
    ws.append([])
    ws.append(strong(_header(t)))
    for row in _rows(digest, core, t):
        ws.append(row)
    total = digest.total()
    ws.append(strong(_total_row(total, t)))

    ws2 = wb.create_sheet(t._("Indicators"))
    ws2.column_dimensions["C"].width = 40
    ws2.append(
        strong(
            [t._("Average points per indicator — {title}").format(title=_title(digest, core, t))]
        )
    )
    ws2.append([])
    ws2.append(
        strong([t._("Group"), t._("Indicator"), t._("Name"), t._("Answers"), t._("Average points")])
    )
    for group, indicator, n, total_points in points:
        ind = core.criteria.find_indicator(indicator)
        name = (ind.name.get(t.code) or next(iter(ind.name.values()))) if ind else ""
        ws2.append(
            [
                group_label(group, core.criteria, t),
                indicator,
                name,
                n,
                round(total_points / n, 2) if n else None,
            ]
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _total_row(total: Counts, t: Lang) -> list[object]:
    rate = round(total.pass_rate * 100, 1) if total.pass_rate is not None else None
    return [
        t._("Total"),
        "",
        "",
        "",
        total.registered,
        total.in_progress,
        total.submitted,
        total.reached,
        total.recognised,
        rate,
    ]


def export_csv(digest: Digest, core: Core, t: Lang) -> bytes:
    """The same rows as the xlsx's first sheet, UTF-8 with a BOM (Excel opens it right)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_header(t))
    writer.writerows(_rows(digest, core, t))
    writer.writerow(_total_row(digest.total(), t))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def file_name(digest: Digest, extension: str) -> str:
    scope = digest.area.text().replace(":", "-")
    return f"cdht-{scope}-{digest.day.isoformat()}.{extension}"

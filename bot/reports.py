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
from flows.criteria import CriteriaSet, pick
from flows.digest import FAMILY_TARGET, Counts, Digest, FamilyLine, chart_data, group_label
from flows.lang import Lang
from flows.localtime import LOCAL_TZ
from flows.model import UnitRow, UnitView
from flows.places import Area, Gazetteer
from flows.text import fold
from flows.unit_assessment import unit_year_of
from storage import admin as store
from storage import families as family_store
from storage import tallies
from storage import units as unit_store

if TYPE_CHECKING:
    from matplotlib.figure import Figure

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def looked_back_on(day: date, monthly: bool = False) -> date:
    """The first day a digest of `day` looks back on (yesterday, or last month's first):
    its campaign year is that day's (on 1 January, the year just ended)."""
    return Digest(Area(), day, 0, (), monthly=monthly).period[0]


def load_digest(
    conn: Connection,
    area: Area,
    year: int,
    day: date,
    monthly: bool = False,
    lines: bool = True,
) -> Digest:
    """The digest of `area` for `day`: counts now; new = yesterday (or last month). With
    `lines=False`, only the sums its words and chart need (not the lines per commune and
    group that the exports list): a national digest reads a few thousand rows."""
    shell = Digest(area, day, year, (), monthly=monthly)
    since, until = shell.period
    units = unit_store.tally(conn, area, unit_year_of(day))
    families = family_store.tally(conn, area, year)
    targets = tuple(store.targets(conn, area))
    if not lines:
        summary = tallies.summary(conn, area, year, since, until)
        return Digest(area, day, year, (), targets, monthly, units, families, summary)
    found = store.digest_lines(conn, area, year, since, until)
    return Digest(area, day, year, tuple(found), targets, monthly, units, families)


def chart_figure(digest: Digest, core: Core, t: Lang) -> Figure:
    """Grouped horizontal bars (registered, submitted, title reached, recognised) with
    their values, whole-number ticks in Vietnamese number format, the target of each
    area as a mark, the legend under the bars and a caption under the title."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    data = chart_data(digest, core.places, core.criteria, t)
    empty = not any(v for values in data.series.values() for v in values)
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
    if data.labels and empty:  # a commune's groups, nobody in any
        ax.text(0.5, 0.5, t._("No one has registered yet."), ha="center", transform=ax.transAxes)
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


def _communes_in(area: Area, core: Core) -> list[int]:
    """Every commune of an area, in the list's order (those with nobody registered too:
    they are the ones to chase)."""
    if area.commune is not None:
        return [area.commune]
    provinces = (
        [area.province] if area.province is not None else [p.code for p in core.places.provinces]
    )
    return [c.code for p in provinces for c in core.places.communes_of(p)]


def _pct_of(part: int, whole: int) -> float | None:
    return round(part / whole * 100, 1) if whole else None


def _counts(c: Counts) -> list[object]:
    return [
        c.registered,
        c.in_progress,
        c.submitted,
        c.reached,
        c.recognised,
        _pct_of(c.submitted, c.registered),
        round(c.pass_rate * 100, 1) if c.pass_rate is not None else None,
    ]


def _rows(digest: Digest, core: Core, t: Lang) -> list[tuple[str, list[object]]]:
    """The report's rows, each with its kind ("group", "commune", "province", "total"):
    for every commune of the area, a row per group with someone registered and the
    commune's subtotal (with its population and target where set); for the whole
    deployment, each province's subtotal; then the total."""
    by_commune: dict[int, list[Any]] = {}
    for line in digest.lines:
        by_commune.setdefault(line.commune, []).append(line)
    targets = {target.commune: target for target in digest.targets}
    rows: list[tuple[str, list[object]]] = []
    province_sum: Counts | None = None
    province_code: int | None = None

    def close_province() -> None:
        if digest.area.kind == "all" and province_code is not None and province_sum is not None:
            province = core.places.province(province_code)
            name = province.name if province else province_code
            label = t._("Subtotal {place}").format(place=name)
            rows.append(
                (
                    "province",
                    [label, "", "", "", *_counts(province_sum), None, None, province_sum.paper],
                )
            )

    for code in _communes_in(digest.area, core):
        commune = core.places.commune(code)
        if commune is None:  # pragma: no cover - codes come from the list
            continue
        if commune.province_code != province_code:
            close_province()
            province_code, province_sum = commune.province_code, Counts()
        province = core.places.province(commune.province_code)
        pname = province.name if province else commune.province_code
        lines = sorted(by_commune.get(code, []), key=lambda line: line.group)
        subtotal = Counts()
        for line in lines:
            subtotal = subtotal + line.counts
            group = group_label(line.group, core.criteria, t)
            place = [pname, commune.name, code, group]
            rows.append(("group", [*place, *_counts(line.counts), None, None, line.counts.paper]))
        target = targets.get(code)
        adults = target.adults if target else None
        goal = round(adults * target.pct("adults") / 100) if target and adults else None
        label = t._("Subtotal") if lines else t._("Nobody registered yet")
        rows.append(
            (
                "commune",
                [
                    pname,
                    commune.name,
                    code,
                    label,
                    *_counts(subtotal),
                    adults,
                    goal,
                    subtotal.paper,
                ],
            )
        )
        province_sum = (province_sum or Counts()) + subtotal
    close_province()
    total = digest.total()
    rows.append(("total", [t._("Total"), "", "", "", *_counts(total), None, None, total.paper]))
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
        t._("Submission rate (%)"),
        t._("Pass rate (%)"),
        t._("Adults (population)"),
        t._("Target (title holders)"),
        t._("Entered from paper forms"),
    ]


def _title(digest: Digest, core: Core, t: Lang) -> str:
    return t._("Learning Citizens {year} — {area} — as of {date}").format(
        year=digest.year, area=digest.area.name(core.places, t), date=t.date(digest.day)
    )


def export_xlsx(
    digest: Digest,
    points: list[tuple[str, str, int, int]],
    core: Core,
    t: Lang,
    units: Sequence[UnitRow] = (),
) -> bytes:
    """Sheet 1: a title, then every commune of the area (a row per group, the commune's
    subtotal, province subtotals for the whole deployment) and the total, with the header
    frozen and filterable; sheet 2: average points per indicator and group; sheet 3: the
    learning units and their self-assessments (if any unit registered); sheet 4: the learning
    families per commune against the households' target (if any family registered)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(t._("By commune"))
    bold = Font(bold=True)
    header = _header(t)
    rows = _rows(digest, core, t)

    def cells(values: Sequence[Any], strong: bool) -> list[Any]:
        out = []
        for n, value in enumerate(values):
            cell = WriteOnlyCell(ws, value=value)
            if strong:
                cell.font = bold
            if n >= 9 and isinstance(value, float):
                cell.number_format = "0.0"
            elif isinstance(value, int) and n >= 4:
                cell.number_format = "#,##0"
            out.append(cell)
        return out

    for column, width in enumerate((22, 30, 10, 34, 11, 11, 11, 11, 11, 13, 11, 13, 13, 13), 1):
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.freeze_panes = "E4"  # the header and the place columns stay in view
    ws.auto_filter.ref = f"A3:{get_column_letter(len(header))}{3 + len(rows)}"
    ws.append(cells([_title(digest, core, t)], True))
    ws.append([])
    ws.append(cells(header, True))
    for kind, row in rows:
        ws.append(cells(row, kind != "group"))

    ws2 = wb.create_sheet(t._("Indicators"))
    ws2.column_dimensions["A"].width = 34
    ws2.column_dimensions["C"].width = 40
    ws2.freeze_panes = "A4"
    ws2.append(
        [t._("Average points per indicator — {title}").format(title=_title(digest, core, t))]
    )
    ws2.append([])
    ws2.append([t._("Group"), t._("Indicator"), t._("Name"), t._("Answers"), t._("Average points")])
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
    if units and digest.units is not None:
        units_sheet(wb, units, digest.units.year, core, t)
    if digest.families is not None and digest.families.lines:
        families_sheet(wb, digest, core, t)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def names_xlsx(
    listed: Sequence[store.Listed], area: Area, year: int, day: date, core: Core, t: Lang
) -> bytes:
    """The commune's named list for its recognition decision: a row per person who
    submitted (or had it returned) with birth year, village, phone, group, each
    indicator's points, the total, the verdict and where it stands. Personal data: made
    only for an admin whose scope covers the commune, sent only to them."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    indicators = core.criteria.indicators
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(t._("Named list"))
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    header = [
        t._("No."),
        t._("Full name"),
        t._("Birth year"),
        t._("Village"),
        t._("Phone"),
        t._("Group"),
        *(f"{i.code} {pick(i.name, t.code)}" for i in indicators),
        t._("Total points"),
        t._("Result"),
        t._("Status"),
        t._("From a paper form"),
    ]
    widths = (5, 26, 8, 18, 13, 24, *(9 for _ in indicators), 8, 13, 30, 10)
    for column, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(column)].width = width
    ws.freeze_panes = "C4"  # the header and the names stay in view
    ws.auto_filter.ref = f"A3:{get_column_letter(len(header))}{3 + len(listed)}"
    # Printed as the decision's annex: landscape, one page wide, the header on each page.
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "3:3"
    title = t._("Named list for the Learning Citizen title {year} — {area} — as of {date}").format(
        year=year, area=area.name(core.places, t), date=t.date(day)
    )
    title_cell = WriteOnlyCell(ws, value=title)
    title_cell.font = bold
    ws.append([title_cell])
    ws.append([])
    heads = []
    for text in header:
        cell = WriteOnlyCell(ws, value=text)
        cell.font, cell.alignment = bold, wrap
        heads.append(cell)
    ws.append(heads)
    wrapped = {1, 3, 5, len(header) - 2}  # name, village, group, status: long texts
    for n, person in enumerate(listed, 1):
        values = [
            n,
            person.name,
            person.birth_year,
            person.village or "",
            person.phone or "",
            group_label(person.group, core.criteria, t),
            *(person.points.get(i.code) for i in indicators),
            person.total,
            _verdict(person, t),
            _standing(person, t),
            "x" if person.paper else "",
        ]
        row = []
        for column, value in enumerate(values):
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text as typed, never a formula ("=HYPERLINK(...")
            if column in wrapped:
                cell.alignment = wrap
            row.append(cell)
        ws.append(row)
    if not listed:
        ws.append(
            [
                t._("Nobody of this commune has submitted a self-assessment for {year}.").format(
                    year=year
                )
            ]
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _verdict(person: store.Listed, t: Lang) -> str:
    if person.reached is None:
        return ""
    return t._("Reached") if person.reached else t._("Not reached")


def _standing(person: store.Listed, t: Lang) -> str:
    if not person.submitted:
        when = person.returned_at.astimezone(LOCAL_TZ) if person.returned_at else None
        return t._("Returned on {date}: {reason}").format(
            date=t.date(when) if when else "", reason=person.return_reason or ""
        )
    if person.recognised_at is not None:
        return t._("Recognised on {date}").format(
            date=t.date(person.recognised_at.astimezone(LOCAL_TZ))
        )
    if person.reached:
        return t._("Waiting for recognition")
    return t._("Submitted")


def names_file_name(area: Area, year: int, day: date) -> str:
    code = area.commune if area.commune is not None else 0
    return f"cdht-danh-sach-xa-{code}-{year}-{day.isoformat()}.xlsx"


CSV_SEPARATOR = ";"  # Excel with Vietnamese regional settings splits on ";" (decimal ",")


def export_csv(digest: Digest, core: Core, t: Lang) -> bytes:
    """The same rows as the xlsx's first sheet, for Excel with Vietnamese regional
    settings: ";" between fields, "," in decimals, UTF-8 with a BOM."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=CSV_SEPARATOR)
    writer.writerow([_title(digest, core, t)])
    writer.writerow(_header(t))
    for _, row in _rows(digest, core, t):
        writer.writerow([_csv_value(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_value(value: object) -> object:
    return str(value).replace(".", ",") if isinstance(value, float) else value


def file_name(digest: Digest, extension: str) -> str:
    scope = digest.area.text().replace(":", "-")
    if digest.year != digest.day.year:  # last year's, made this year: say which
        return f"cdht-{scope}-{digest.year}-as-of-{digest.day.isoformat()}.{extension}"
    return f"cdht-{scope}-{digest.day.isoformat()}.{extension}"


# --- learning units --------------------------------------------------------------------


def unit_file_name(unit: UnitView) -> str:
    code = unit.area.commune if unit.area.commune is not None else unit.area.province or 0
    words = "-".join(fold(unit.name).split())[:40] or "don-vi"
    return f"dvht-{code}-{words}-{unit.year}.xlsx"


def unit_sheet(
    unit: UnitView, criteria: CriteriaSet, places: Gazetteer, t: Lang
) -> tuple[str, bytes]:
    """A unit's summary sheet (bảng tổng hợp) for its dossier: the unit, its area, the
    year and criteria set, each criterion and indicator with its maximum, the points
    given and the answer chosen, the total and the grade or verdict, who submitted when,
    and room for the head's signature. Made from the stored answers by the scoring module."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    from flows.scoring import reached, score

    group = criteria.groups[0]
    answers = {k: a.option for k, a in unit.answers.items()}
    result = score(criteria, group.code, answers)
    wb = Workbook()
    ws = wb.create_sheet(t._("Summary"), 0)
    wb.remove(wb.worksheets[1])  # the empty sheet a new workbook has
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    for column, width in zip("ABCDEF", (8, 44, 10, 10, 30, 22), strict=True):
        ws.column_dimensions[column].width = width
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.append(
        [t._("SUMMARY OF THE LEARNING UNIT'S SELF-ASSESSMENT, {year}").format(year=unit.year)]
    )
    ws.merge_cells("A1:F1")
    ws["A1"].font = Font(bold=True, size=13)
    ws["A1"].alignment = Alignment(horizontal="center")
    # Each line in one cell, spilling over the empty ones beside it (column A is narrow).
    for label, value in (
        (t._("Unit:"), unit.name),
        (t._("Area:"), unit.area.name(places, t)),
        (t._("Year assessed:"), str(unit.year)),
        (t._("Criteria:"), pick(criteria.name, t.code)),
    ):
        ws.append([f"{label} {value}"])
    ws.append([])
    header = [
        t._("Code"),
        t._("Criterion, indicator"),
        t._("Maximum"),
        t._("Points"),
        t._("Answer"),
        t._("Answered by"),
    ]
    ws.append(header)
    first = ws.max_row
    ws.row_dimensions[first].height = 30  # two lines: "Điểm tự / đánh giá"
    for cell in ws[first]:
        cell.font, cell.alignment, cell.border = bold, wrap, box
    points = {s.code: s.points for s in result.indicators}
    for comp in criteria.competencies:
        ws.append(
            [
                comp.code,
                pick(comp.name, t.code),
                comp.max_points,
                result.competencies[comp.code],
            ]
        )
        for cell in ws[ws.max_row]:
            cell.font = bold
        for indicator in comp.indicators:
            given = unit.answers.get(indicator.code)
            question = group.question(indicator.code)
            answer = ""
            if given is not None and 0 <= given.option < len(question.options):
                answer = pick(question.options[given.option].text, t.code)
            ws.append(
                [
                    indicator.code,
                    pick(indicator.name, t.code),
                    indicator.max_points,
                    points.get(indicator.code),
                    answer,
                    (given.by or "") if given is not None else "",
                ]
            )
    ws.append(["", t._("Total"), result.max_total, result.total])
    for row in ws.iter_rows(min_row=first, max_row=ws.max_row):
        for cell in row:
            cell.border, cell.alignment = box, wrap
    for cell in ws[ws.max_row]:
        cell.font = bold
    ws.append([])
    if result.band is not None:
        verdict = t._("graded {band}").format(band=pick(result.band.name, t.code))
    elif reached(result):
        verdict = t._("Every target is met: the unit can be proposed for recognition.")
    else:
        verdict = t._("Not every target is met yet.")
    result_label, submitted_label = t._("Result:"), t._("Submitted:")
    ws.append([f"{result_label} {verdict}"])
    ws[ws.max_row][0].font = bold
    if unit.submitted_at is not None:
        when = t.datetime(unit.submitted_at)
        by = f" ({unit.submitted_by})" if unit.submitted_by else ""
        ws.append([f"{submitted_label} {when}{by}"])
    ws.append([])
    centre = Alignment(horizontal="center")
    for text, font in (
        (t._("……, day …… month …… year ……"), Font(italic=True)),
        (t._("HEAD OF THE UNIT"), bold),
        (t._("(signature, full name and seal)"), Font(italic=True)),
    ):
        ws.append(["", "", "", text])
        ws.merge_cells(start_row=ws.max_row, start_column=4, end_row=ws.max_row, end_column=6)
        cell = ws.cell(ws.max_row, 4)
        cell.font, cell.alignment = font, centre
    for cells in ws.iter_rows():
        for cell in cells:  # names as typed, never a formula ("=HYPERLINK(...")
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    out = io.BytesIO()
    wb.save(out)
    return unit_file_name(unit), out.getvalue()


def _unit_standing(row: UnitRow, t: Lang) -> str:
    if row.recognised_at is not None:
        return t._("Recognised on {date}").format(
            date=t.date(row.recognised_at.astimezone(LOCAL_TZ))
        )
    if row.status == "submitted":
        return t._("Submitted")
    if row.returned_at is not None:
        return t._("Returned on {date}: {reason}").format(
            date=t.date(row.returned_at.astimezone(LOCAL_TZ)), reason=row.return_reason or ""
        )
    if row.status == "in_progress":
        return t._("In progress")
    return t._("Not started")


def units_sheet(wb: Any, rows: Sequence[UnitRow], year: int, core: Core, t: Lang) -> None:
    """A sheet of the learning units in the export (a write-only workbook): each unit,
    its area, criteria set, where its self-assessment of `year` stands, points and grade."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    ws = wb.create_sheet(t._("Learning units"))
    bold = Font(bold=True)

    def strong(values: Sequence[Any]) -> list[Any]:
        cells = [WriteOnlyCell(ws, value=value) for value in values]
        for cell in cells:
            cell.font = bold
        return cells

    for column, width in zip("ABCDEFGH", (5, 34, 28, 26, 8, 12, 30, 22), strict=True):
        ws.column_dimensions[column].width = width
    ws.freeze_panes = "C4"
    ws.append(strong([t._("Learning units — self-assessment of {year}").format(year=year)]))
    ws.append([])
    header = [
        t._("No."),
        t._("Unit"),
        t._("Area"),
        t._("Criteria"),
        t._("Total points"),
        t._("Grade"),
        t._("Status"),
        t._("Submitted by"),
    ]
    ws.append(strong(header))
    for n, row in enumerate(rows, 1):
        criteria = core.unit_sets.get(row.criteria)
        grade = ""
        if criteria is not None and row.status == "submitted":
            band = next((b for b in criteria.bands if b.code == row.band), None)
            if band is not None:
                grade = pick(band.name, t.code)
            elif row.reached is not None:
                grade = t._("Reached") if row.reached else t._("Not reached")
        name = WriteOnlyCell(ws, value=row.name)
        name.data_type = "s"  # as typed, never a formula
        ws.append(
            [
                n,
                name,
                row.area.name(core.places, t),
                pick(criteria.name, t.code) if criteria else row.criteria,
                row.total if row.status == "submitted" else None,
                grade,
                _unit_standing(row, t),
                row.submitted_by or "",
            ]
        )
    if not rows:
        ws.append([t._("No unit of this area has registered a focal point yet.")])


def families_sheet(wb: Any, digest: Digest, core: Core, t: Lang) -> None:
    """A sheet of the learning families in the export (a write-only workbook): per commune,
    the families registered and where their self-assessments stand, the adults in them and
    the Learning Citizens among them, and the households' target where it is set; counts
    only, no names."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    families = digest.families
    if families is None:
        return
    ws = wb.create_sheet(t._("Learning families"))
    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")

    def strong(values: Sequence[Any], wrapped: bool = False) -> list[Any]:
        cells = counts(*values)
        for cell in cells:
            cell.font = bold
            if wrapped:
                cell.alignment = wrap
        return cells

    def counts(*values: Any) -> list[Any]:
        cells = [WriteOnlyCell(ws, value=value) for value in values]
        for cell in cells[2:]:
            if isinstance(cell.value, int):
                cell.number_format = "#,##0"  # 1.200 in Vietnamese Excel
        return cells

    widths = (5, 28, 11, 12, 12, 12, 10, 13, 10, 11)
    for column, width in zip("ABCDEFGHIJ", widths, strict=True):
        ws.column_dimensions[column].width = width
    ws.freeze_panes = "C4"
    ws.page_setup.orientation = "landscape"  # one page wide, as filed
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.row_dimensions[3].height = 30  # the header in two lines: "Đang tự / đánh giá"
    ws.append(
        strong(
            [
                t._("Learning families {year} — {area}").format(
                    year=families.year, area=digest.area.name(core.places, t)
                )
            ]
        )
    )
    ws.append([])
    ws.append(
        strong(
            [
                t._("No."),
                t._("Commune"),
                t._("Registered"),
                t._("Self-assessing"),
                t._("Self-assessed"),
                t._("Meeting the criteria by self-assessment"),
                t._("Adults"),
                t._("Adults with the title"),
                t._("Households"),
                t._("Target ({pct}%)").format(pct=FAMILY_TARGET),
            ],
            wrapped=True,
        )
    )
    households = {t.commune: t.households for t in digest.targets if t.households}
    lines = {line.commune: line for line in families.lines}
    for commune_code in households.keys() - lines.keys():  # a target, no family yet
        commune = core.places.commune(commune_code)
        province = commune.province_code if commune else 0
        lines[commune_code] = FamilyLine(province, commune_code)
    ordered = sorted(lines.values(), key=lambda line: (line.province, line.commune))
    for n, line in enumerate(ordered, 1):
        commune = core.places.commune(line.commune)
        size = households.get(line.commune)
        ws.append(
            counts(
                n,
                commune.name if commune else str(line.commune),
                line.registered,
                line.in_progress,
                line.submitted,
                line.reached,
                line.adults,
                line.titled,
                size,
                round(size * FAMILY_TARGET / 100) if size else None,
            )
        )
    ws.append(
        strong(
            [
                None,
                t._("Total"),
                *(
                    families.total(name)
                    for name in (
                        "registered",
                        "in_progress",
                        "submitted",
                        "reached",
                        "adults",
                        "titled",
                    )
                ),
                sum(households.values()) or None,
                sum(round(size * FAMILY_TARGET / 100) for size in households.values()) or None,
            ]
        )
    )

"""What a step reads beyond its conversation: the shell's half of "plan, then step".

The pure core says what a step will read (`flows.conversation.needs` gives a
`flows.model.Needs`); this module looks it up in storage and hands the step a `World`
holding it. It knows how to read each kind of need, and nothing about the features that
ask for them.

- Light reads (an invite code, whether the account is an admin, the candidates for
  recognition, the admins in a scope) run inside the step's transaction: `fill`.
- Heavy reads (an admin's report: a province's digest, its chart, an export) run before
  it, on the reading connection that does not hold up writers: `prepare`. When a step
  needs one that was not prepared, `fill` raises `Unprepared`; the transaction rolls back
  with nothing written, the dispatcher prepares it and runs the step again.

Whatever is scoped is read only for an admin and only inside their scope: data outside
it never reaches a step.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from bot import codes, paper_files, posters, reports
from bot.core import Core
from flows.admin.common import one_in_scope
from flows.localtime import local_day
from flows.model import AdminView, Candidates, Listing, Needs, Report, ReportRequest, World
from flows.places import Area
from flows.unit_assessment import criteria_of, unit_year, unit_year_of
from storage import admin as admin_store
from storage import deadlines as deadline_store
from storage import families, invites
from storage import paper as paper_store
from storage import units as unit_store
from storage.db import Database


@dataclass(frozen=True)
class Prepared:
    """Heavy reads made before a step's transaction, and what was asked for them."""

    request: ReportRequest | None = None
    report: Report | None = None  # None: not an admin, or outside their scope
    upload: bytes | None = None  # the spreadsheet read (as sent)
    sheet: tuple[tuple[Any, ...], ...] | None = None  # its rows; None: not readable


class Unprepared(Exception):
    """The step needs a heavy read that was not made before its transaction."""

    def __init__(self, needs: Needs) -> None:
        super().__init__("a heavy read is needed first")
        self.needs = needs


class Preloader:
    def __init__(self, db: Database, core: Core) -> None:
        self.db, self.core = db, core

    def fill(
        self,
        conn: Connection,
        needs: Needs,
        world: World,
        account_id: int,
        prepared: Prepared | None = None,
    ) -> World:
        """The world with what `needs` asks for, read in the step's transaction."""
        prepared = prepared or Prepared()
        found: dict[str, Any] = {}
        if needs.invite is not None:
            found["invite"] = invites.find_invite(conn, needs.invite)
            found["code_attempts"] = invites.attempts(conn, account_id, world.now)
        scoped = (
            needs.candidates is not None
            or needs.report is not None
            or needs.admins
            or needs.units is not None
        )
        admin = None
        if needs.admin or scoped:
            admin = found["admin"] = admin_store.admin_of(conn, account_id)
        if admin is not None and needs.candidates is not None:
            found["candidates"] = self._candidates(
                conn, admin, needs.candidates, needs.candidates.year or world.campaign_year
            )
        if admin is not None and needs.admins:
            found["admins"] = tuple(admin_store.admins(conn, admin.area))
        if admin is not None and needs.deadlines:  # theirs, and those above them
            found["deadlines"] = tuple(
                d
                for d in deadline_store.active(conn)
                if admin.area.contains(d.area) or d.area.contains(admin.area)
            )
        if needs.report is not None and admin is not None:  # (anyone else is refused)
            if prepared.request != needs.report:
                raise Unprepared(needs)
            report = prepared.report
            # Read before this transaction: still inside the scope the admin has now?
            if report is not None and admin.area.contains(report.area):
                found["report"] = report
        if needs.upload is not None and admin is not None:  # (anyone else is refused)
            if prepared.upload is not needs.upload:
                raise Unprepared(needs)
            found["sheet"] = prepared.sheet
        if needs.paper_own is not None:
            found["paper_own"] = paper_store.registered_themselves(conn, *needs.paper_own)
        if needs.paper_phone is not None:
            found["paper_match"] = paper_store.unclaimed(
                conn, *needs.paper_phone, world.campaign_year
            )
        if needs.unit:
            unit = found["unit"] = unit_store.unit_view(conn, account_id, unit_year(world.now))
            if unit is not None and unit.status == "submitted" and needs.unit_sheet:
                t = self.core.langs.get(needs.unit_sheet) or self.core.langs[world.default_lang]
                criteria = criteria_of(world, unit.criteria)
                found["unit_sheet"] = reports.unit_sheet(unit, criteria, self.core.places, t)
        if admin is not None and needs.units is not None:
            found["units"] = tuple(unit_store.units_in(conn, admin.area, needs.units))
        if needs.family:
            found["family"] = families.family_view(conn, account_id, world.campaign_year)
        if needs.family_code is not None:
            found["family_found"] = families.find(conn, needs.family_code)
            found["code_attempts"] = invites.attempts(conn, account_id, world.now, "family")
        if needs.fresh_code:
            found["fresh_code"] = codes.new_code()
        return replace(world, **found) if found else world

    def _candidates(
        self, conn: Connection, admin: AdminView, listing: Listing, year: int
    ) -> Candidates | None:
        code = listing.commune if listing.commune is not None else admin.area.commune
        if listing.options:  # named: the one place the name means in the admin's scope
            one = one_in_scope(listing.options, admin.area)
            code = one.commune if one is not None else None
        commune = self.core.places.commune(code)
        if commune is None or not admin.area.contains(Area(commune.province_code, commune.code)):
            return None
        count, listed = admin_store.candidates(conn, commune.code, year, listing.limit)
        return Candidates(commune.code, count, tuple(listed))

    async def prepare(
        self, needs: Needs, channel: str, external_id: str, now: datetime
    ) -> Prepared:
        """The heavy reads `needs` asks for, made outside any write transaction."""
        if needs.upload is not None:  # a spreadsheet sent in chat: its rows, for admins only
            sender = await self.db.read(
                lambda conn: admin_store.admin_by_external(conn, channel, external_id)
            )
            rows = None
            if sender is not None:
                rows = await asyncio.to_thread(paper_files.read_bytes, needs.upload)
            return Prepared(upload=needs.upload, sheet=rows)
        request = needs.report
        if request is None:
            return Prepared()
        admin = await self.db.read(
            lambda conn: admin_store.admin_by_external(conn, channel, external_id)
        )
        area = request.area or (admin.area if admin else None)
        if request.options and admin is not None:  # named: the one place it means for them
            area = one_in_scope(request.options, admin.area)
        if admin is None or area is None or not admin.area.contains(area):
            return Prepared(request)
        return Prepared(request, await self._report(request, area, admin.language, now))

    async def _report(
        self, request: ReportRequest, area: Area, language: str, now: datetime
    ) -> Report:
        core = self.core
        year, day = request.year or core.year(now), local_day(now)
        t = core.langs.get(language) or core.langs[core.default_lang]
        if request.kind == "template":  # the paper forms' spreadsheet, to fill in
            blob = await asyncio.to_thread(paper_files.template_xlsx, core.criteria, t)
            return Report(request, area, None, ((paper_files.TEMPLATE_NAME, blob),))
        if request.kind == "poster":  # a commune's, or every commune of a province
            if area.province is None or not core.posters.any:
                return Report(request, area, None)
            places = core.places
            found = places.commune(area.commune) if area.commune is not None else None
            communes = [found] if found else places.communes_of(area.province)
            blob = await asyncio.to_thread(posters.poster_pdf, communes, places, core.posters, t)
            name = posters.file_name(communes, area.province)
            missing = posters.missing_settings(core.posters)
            return Report(request, area, None, ((name, blob),), missing)
        if request.kind == "names":  # for one commune only: a province is many lists
            if area.commune is None:
                return Report(request, area, None)
            code = area.commune
            listed = await self.db.read(lambda conn: admin_store.named_list(conn, code, year))
            blob = await asyncio.to_thread(reports.names_xlsx, listed, area, year, day, core, t)
            return Report(request, area, None, ((reports.names_file_name(area, year, day), blob),))
        exported = request.kind != "stats"  # the exports list every commune and group
        digest = await self.db.read(
            lambda conn: reports.load_digest(conn, area, year, day, lines=exported)
        )
        if request.kind == "stats":
            blob = await asyncio.to_thread(reports.chart_png, digest, core, t)
            name = reports.file_name(digest, "png")
        elif request.kind == "csv":
            blob = await asyncio.to_thread(reports.export_csv, digest, core, t)
            name = reports.file_name(digest, "csv")
        else:
            points = await self.db.read(lambda conn: admin_store.indicator_points(conn, area, year))
            units = await self.db.read(
                lambda conn: unit_store.units_in(conn, area, unit_year_of(day))
            )
            blob = await asyncio.to_thread(reports.export_xlsx, digest, points, core, t, units)
            name = reports.file_name(digest, "xlsx")
        return Report(request, area, digest, ((name, blob),))

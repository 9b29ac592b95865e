"""Files offered by link for a while, on the bot's own web server at `/files/<token>`: an
admin's export on Zalo, whose OA sends no spreadsheets. The link carries a random token;
only its hash is stored, with the file, until the link expires: 24 hours for counts, an
hour for a file that names people (a commune's named list), which also goes as soon as
one of the people in it is deleted (/delete)."""

from __future__ import annotations

import hashlib
import mimetypes
import secrets
from datetime import timedelta

from aiohttp import web

from bot.clock import Clock
from flows.lang import Lang
from storage import downloads
from storage.db import Database

PATH = "/files/"
LIFETIME = timedelta(hours=24)
PERSONAL_LIFETIME = timedelta(hours=1)
MAX_TOKEN = 64


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


class FileLinks:
    """Offers files by link under `public_url` (CDHT_PUBLIC_URL), and serves them."""

    def __init__(self, db: Database, clock: Clock, lang: Lang, public_url: str = "") -> None:
        self.db, self.clock, self.lang = db, clock, lang
        self.public_url = public_url  # "": links cannot be offered

    async def offer(
        self,
        name: str,
        content: bytes,
        owner: tuple[str, str] | None = None,
        personal: bool = False,
    ) -> str | None:
        """A link to the file for LIFETIME (PERSONAL_LIFETIME if it names people), for
        `owner` (channel, external id: the link ends when they stop being an admin); None
        when there is no public address."""
        if not self.public_url:
            return None
        token, now = secrets.token_urlsafe(24), self.clock.now()
        until = now + (PERSONAL_LIFETIME if personal else LIFETIME)
        await self.db.run(
            lambda conn: downloads.offer_download(
                conn, token_hash(token), name, content, now, until, owner, personal
            )
        )
        return f"{self.public_url}{PATH}{token}"

    def routes(self) -> list[web.RouteDef]:
        return [web.get(PATH + "{token}", self._serve)]

    async def _serve(self, request: web.Request) -> web.Response:
        token, now = request.match_info["token"], self.clock.now()
        found = None
        if len(token) <= MAX_TOKEN:
            found = await self.db.run(lambda conn: downloads.download(conn, token_hash(token), now))
        if found is None:
            text = self.lang._(
                "This link has expired or does not exist. Ask the bot for the report again "
                "with /export."
            )
            return web.Response(status=404, text=text, headers={"Cache-Control": "no-store"})
        name, content = found
        return web.Response(
            body=content,
            content_type=content_type(name),
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
                "X-Robots-Tag": "noindex",
            },
        )

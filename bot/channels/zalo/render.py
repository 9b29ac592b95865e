"""Replies as OA messages. Zalo has no inline keyboards: a question's options become
`oa.query.hide` buttons (up to 5) and a numbered list in the text, so typing the number
always works. An image (an admin's chart) is sent as a media message once uploaded; any
other file as a link to our web server, or a note where to get it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.channels.text import merge_replies, split_text, with_numbered_list
from bot.channels.zalo.events import button_payload
from bot.links import LIFETIME, PERSONAL_LIFETIME
from flows.lang import Lang
from flows.model import Reply

MAX_TEXT = 2000  # characters in one OA text message
MAX_BUTTONS = 5
MAX_BUTTON_TITLE = 100
MAX_IMAGE = 1024 * 1024  # bytes: the largest image the OA takes
IMAGE_TYPES = (".png", ".jpg", ".jpeg")


def file_note(name: str, lang: Lang) -> str:
    """What is said instead of a file that cannot be sent on Zalo."""
    return lang._(
        "The file {name} cannot be sent on Zalo yet: get it on Telegram or with the "
        "cdht command on the server."
    ).format(name=name)


def link_text(name: str, url: str, lang: Lang, personal: bool = False) -> str:
    """The message offering a file by link (a file naming people lives shorter)."""
    if personal:
        minutes = int(PERSONAL_LIFETIME.total_seconds() // 60)
        return lang._(
            "📎 {name}: download it within {minutes} minutes from\n{url}\nIt holds "
            "personal data: do not forward this link."
        ).format(name=name, minutes=minutes, url=url)
    hours = int(LIFETIME.total_seconds() // 3600)
    return lang._("📎 {name}: download it within {hours} hours from\n{url}").format(
        name=name, hours=hours, url=url
    )


@dataclass(frozen=True)
class Attachment:
    """A file among the messages to send. The OA sends images (uploaded first) but no
    spreadsheets (its file upload takes PDF and Word only), so an image becomes a media
    message and any other file a link to our web server, or a note without one."""

    name: str
    data: bytes
    personal: bool = False  # names people: a short-lived link (bot.links)

    @property
    def image(self) -> bool:
        return self.name.lower().endswith(IMAGE_TYPES) and 0 < len(self.data) <= MAX_IMAGE


Outgoing = dict[str, Any] | Attachment


def media_message(attachment_id: str, caption: str) -> dict[str, Any]:
    """An uploaded image, as a message with a caption (Zalo's own example has one)."""
    element = {"media_type": "image", "attachment_id": attachment_id}
    return {
        "text": caption[:MAX_TEXT],
        "attachment": {
            "type": "template",
            "payload": {"template_type": "media", "elements": [element]},
        },
    }


def render(replies: Sequence[Reply], lang: Lang) -> list[Outgoing]:
    """Replies → OA message objects (the `message` of a /v3.0/oa/message/cs request), and
    files to send as the channel can."""
    return [message for _, messages in render_parts(replies, lang) for message in messages]


def render_parts(replies: Sequence[Reply], lang: Lang) -> list[tuple[Reply, list[Outgoing]]]:
    """`render`, keeping which reply (shaped and merged) each message comes from: what is
    left of a delivery that failed half-way can be kept as replies, to be sent again."""
    shaped = [
        with_numbered_list(r, lang, buttons=len(r.options) <= MAX_BUTTONS) if r.options else r
        for r in replies
    ]
    parts: list[tuple[Reply, list[Outgoing]]] = []
    for reply in merge_replies(shaped, MAX_TEXT):
        messages: list[Outgoing] = []
        parts.append((reply, messages))
        if reply.kind == "file":
            if reply.text:
                messages.extend({"text": part} for part in split_text(reply.text, MAX_TEXT))
            messages.append(
                Attachment(reply.file_name or "file", reply.file_data or b"", reply.personal)
            )
            continue
        texts = split_text(reply.text, MAX_TEXT)
        messages.extend({"text": text} for text in texts[:-1])
        last: dict[str, Any] = {"text": texts[-1]}
        if reply.options and len(reply.options) <= MAX_BUTTONS:
            last["attachment"] = {
                "type": "template",
                "payload": {
                    "buttons": [
                        {
                            "title": f"{n}. {o.label}"[:MAX_BUTTON_TITLE],
                            "type": "oa.query.hide",
                            "payload": button_payload(reply.prompt, o.id, o.label),
                        }
                        for n, o in enumerate(reply.options, start=1)
                    ]
                },
            }
        messages.append(last)
    return parts

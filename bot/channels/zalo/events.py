"""The Zalo webhook's events: the signature that proves Zalo sent one, and each event as
an `Event` for the dispatcher (or None for those we ignore). Buttons send their payload
back as a message from the person; the payload names the question and the option."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flows.model import Event

SIGNATURE_HEADER = "X-ZEvent-Signature"
BUTTON_PREFIX = "#cdht|"
# Events a person causes that we answer; everything else (delivery and read receipts,
# messages the OA itself sent, anonymous chats) is acknowledged and ignored.
_UNSUPPORTED = frozenset(
    {
        "user_send_image",
        "user_send_gif",
        "user_send_sticker",
        "user_send_audio",
        "user_send_video",
        "user_send_file",
        "user_send_link",
        "user_send_location",
        "user_send_business_card",
    }
)


def signature(app_id: str, body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """X-ZEvent-Signature: "mac=" + sha256(app_id + raw body + timestamp + OA secret key)."""
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + oa_secret_key.encode())
    return "mac=" + digest.hexdigest()


def button_payload(prompt: int | None, option_id: str, label: str) -> str:
    """What a button sends back: the question, the option and its label (to show it)."""
    return f"{BUTTON_PREFIX}{'' if prompt is None else prompt}|{option_id}|{label[:200]}"


def parse_button(text: str) -> tuple[int | None, str, str] | None:
    """The inverse of button_payload, or None for ordinary text."""
    if not text.startswith(BUTTON_PREFIX):
        return None
    prompt, _, rest = text[len(BUTTON_PREFIX) :].partition("|")
    option, _, label = rest.partition("|")
    return (int(prompt) if prompt.isdigit() else None), option[:64], label


@dataclass(frozen=True)
class Incoming:
    """A webhook event we act on: whose, its de-duplication key, and what to do."""

    user_id: str
    key: str
    event: Event | None  # None: the person unfollowed the OA
    label: str | None = None  # a tapped button's label
    opens_window: bool = True


class MalformedEvent(ValueError):
    """A signed event whose fields have the wrong shape (answered 400, not retried)."""


def _id(value: Any) -> str:
    if isinstance(value, Mapping | list):
        raise MalformedEvent("an id or name is not a plain value")
    return str(value).strip() if value is not None else ""


def _part(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A nested object of the event ({} when absent)."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedEvent(f"{key} is not an object")
    return value


def incoming(data: Mapping[str, Any]) -> Incoming | None:
    """Translate a verified webhook event; None for events we ignore. Raises
    MalformedEvent when a field has the wrong shape."""
    name = _id(data.get("event_name"))
    stamp = _id(data.get("timestamp"))
    sender = _id(_part(data, "sender").get("id"))
    message = _part(data, "message")
    msg_id = _id(message.get("msg_id"))
    sent_at = event_time(data)
    if name in ("follow", "unfollow"):
        user = _id(_part(data, "follower").get("id")) or sender
        if not user:
            return None
        key = f"{name}:{user}:{stamp}"
        if name == "unfollow":
            return Incoming(user, key, None, opens_window=False)
        return Incoming(user, key, Event.from_text("/start", event_id=key))
    if not sender or not name.startswith("user_"):
        return None
    key = msg_id or f"{name}:{sender}:{stamp}"
    if name == "user_send_text":
        text = message.get("text") or ""
        if not isinstance(text, str):
            raise MalformedEvent("message.text is not text")
        tapped = parse_button(text)
        if tapped is not None:
            prompt, option, label = tapped
            event = Event(
                "option", text=label, option=option, prompt=prompt, event_id=key, sent_at=sent_at
            )
            return Incoming(sender, key, event, label=label)
        return Incoming(sender, key, Event.from_text(text, event_id=key, sent_at=sent_at))
    if name == "user_submit_info":  # the person shared their details with the OA
        phone = _id(_part(data, "info").get("phone"))
        if phone:
            contact = Event("contact", phone=phone, event_id=key, sent_at=sent_at)
            return Incoming(sender, key, contact)
        return Incoming(sender, key, Event("unsupported", event_id=key))
    if name in _UNSUPPORTED:
        return Incoming(sender, key, Event("unsupported", event_id=key))
    return None


def event_time(data: Mapping[str, Any]) -> datetime | None:
    """When Zalo says the event happened (`timestamp`, milliseconds); None if unreadable."""
    stamp = _id(data.get("timestamp"))
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 13):
        return None
    try:
        return datetime.fromtimestamp(int(stamp) / 1000, UTC)
    except (OverflowError, ValueError, OSError):
        return None


def depth_within(body: bytes, limit: int) -> bool:
    """Whether JSON text nests arrays and objects at most `limit` deep (read before
    parsing it: a deeply nested body would exhaust the parser's recursion)."""
    depth, in_string, escaped = 0, False, False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def without_nul(value: Any) -> Any:
    """The event with NUL characters taken out of its texts: PostgreSQL's JSON cannot
    store them, and they mean nothing."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    return value

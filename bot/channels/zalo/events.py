"""The Zalo webhook's events: the signature that proves Zalo sent one, and each event as
an `Event` for the dispatcher (or None for those we ignore). Buttons send their payload
back as a message from the person; the payload names the question and the option."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
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


def _id(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def incoming(data: Mapping[str, Any]) -> Incoming | None:
    """Translate a verified webhook event; None for events we ignore."""
    name = _id(data.get("event_name"))
    stamp = _id(data.get("timestamp"))
    sender = _id((data.get("sender") or {}).get("id"))
    message = data.get("message") or {}
    msg_id = _id(message.get("msg_id")) if isinstance(message, Mapping) else ""
    if name in ("follow", "unfollow"):
        user = _id((data.get("follower") or {}).get("id")) or sender
        if not user:
            return None
        key = f"{name}:{user}:{stamp}"
        if name == "unfollow":
            return Incoming(user, key, None, opens_window=False)
        return Incoming(user, key, Event.from_text("/start", event_id=key))
    if not sender or not (name.startswith("user_") and isinstance(message, Mapping)):
        return None
    key = msg_id or f"{name}:{sender}:{stamp}"
    if name == "user_send_text":
        text = str(message.get("text") or "")
        tapped = parse_button(text)
        if tapped is not None:
            prompt, option, label = tapped
            event = Event("option", text=label, option=option, prompt=prompt, event_id=key)
            return Incoming(sender, key, event, label=label)
        return Incoming(sender, key, Event.from_text(text, event_id=key))
    if name == "user_submit_info":  # the person shared their details with the OA
        phone = _id((data.get("info") or {}).get("phone"))
        if phone:
            return Incoming(sender, key, Event("contact", phone=phone, event_id=key))
        return Incoming(sender, key, Event("unsupported", event_id=key))
    if name in _UNSUPPORTED:
        return Incoming(sender, key, Event("unsupported", event_id=key))
    return None

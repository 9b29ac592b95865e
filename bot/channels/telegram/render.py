"""Replies as Telegram messages: inline keyboards whose buttons carry the question and the
option, read back when tapped; which tap a notice answers; the user's language."""

from __future__ import annotations

from collections.abc import Mapping

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.dispatcher import Delivery
from flows.lang import Lang
from flows.model import Reply

MAX_TEXT = 4096  # Bot API limit, in UTF-16 code units
MAX_CALLBACK_DATA = 64  # bytes
MAX_TOAST = 200  # answerCallbackQuery text
MAX_CAPTION = 1024


def callback_data(prompt: int | None, option_id: str) -> str:
    """What a button carries: the question it belongs to and the option."""
    data = f"{prompt if prompt is not None else ''}|{option_id}"
    if len(data.encode()) > MAX_CALLBACK_DATA:
        raise ValueError(f"callback data over {MAX_CALLBACK_DATA} bytes: {data!r}")
    return data


def parse_callback_data(data: str | None) -> tuple[int | None, str]:
    """The inverse of callback_data. Anything else (forged or from an older version of the
    bot) gives no prompt, which the flows treat as an old button."""
    prompt, sep, option = (data or "").partition("|")
    if sep and not prompt:  # a button of no question (a reminder's)
        return None, option
    if not sep or not prompt.isdigit():
        return None, (data or "")[:MAX_CALLBACK_DATA]
    return int(prompt), option


def inline_keyboard(reply: Reply) -> InlineKeyboardMarkup:
    """Short labels two to a row (provinces, yes/no), longer ones one to a row."""
    buttons = [
        InlineKeyboardButton(o.label[:100], callback_data=callback_data(reply.prompt, o.id))
        for o in reply.options
    ]
    width = 2 if len(buttons) > 3 and all(len(o.label) <= 24 for o in reply.options) else 1
    return InlineKeyboardMarkup([buttons[i : i + width] for i in range(0, len(buttons), width)])


def chosen_label(query: CallbackQuery) -> str | None:
    """The label of the button that was tapped, read from the message it sits under."""
    message = query.message
    markup = message.reply_markup if isinstance(message, Message) else None
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.callback_data == query.data:
                return button.text.removeprefix("✓ ")
    return None


def lang_of_user(language_code: str | None, langs: Mapping[str, Lang], default: str) -> Lang:
    code = (language_code or "")[:2].lower()
    return langs.get(code) or langs[default]


def tap_notice(delivery: Delivery) -> str | None:
    """What to show as the answer to a tapped button: the first notice, if it is short
    enough for Telegram's answer (else it goes out as a message)."""
    notice = next((r.text for r in delivery.replies if r.kind == "notice"), None)
    return notice if notice is not None and len(notice) <= MAX_TOAST else None

"""Replies as Telegram messages: inline keyboards whose buttons carry the question and the
option, read back when tapped; which tap a notice answers; the user's language."""

from __future__ import annotations

import re
from collections.abc import Mapping

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.dispatcher import Delivery
from flows.lang import Lang
from flows.model import Reply

MAX_TEXT = 4096  # Bot API limit, in UTF-16 code units
MAX_CALLBACK_DATA = 64  # bytes
MAX_TOAST = 200  # answerCallbackQuery text
MAX_CAPTION = 1024
LONG_LABEL = 30  # characters: answers longer than this are listed in the message, numbered
_NUMBER = re.compile(r"^(\d+)\. ")


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


def is_long(reply: Reply) -> bool:
    """Whether a question's answers are too long to read on buttons: then the message
    lists them numbered (`bot.channels.text.with_numbered_list`) and the buttons carry
    their numbers and a short start."""
    return any(len(o.label) > LONG_LABEL for o in reply.options)


def _short(n: int, label: str) -> str:
    if len(label) > LONG_LABEL:
        cut = label[: LONG_LABEL - 2]
        if " " in cut[LONG_LABEL // 2 :]:  # at a word boundary when there is one
            cut = cut.rsplit(" ", 1)[0]
        label = cut.rstrip(" ,.:;") + "…"
    return f"{n}. {label}"


def inline_keyboard(reply: Reply) -> InlineKeyboardMarkup:
    """Short labels two to a row (provinces, yes/no), longer ones one to a row; for long
    answers, numbered short labels (the message lists them in full)."""
    numbered = is_long(reply)
    buttons = [
        InlineKeyboardButton(
            _short(n, o.label) if numbered else o.label[:100],
            callback_data=callback_data(reply.prompt, o.id),
        )
        for n, o in enumerate(reply.options, start=1)
    ]
    width = 2 if len(buttons) > 3 and all(len(o.label) <= 24 for o in reply.options) else 1
    return InlineKeyboardMarkup([buttons[i : i + width] for i in range(0, len(buttons), width)])


def chosen_label(query: CallbackQuery) -> str | None:
    """The label of the button that was tapped, read from the message it sits under."""
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return None
    for row in message.reply_markup.inline_keyboard:
        for button in row:
            if button.callback_data == query.data:
                return _full(button.text, message.text or "").removeprefix("✓ ")
    return None


def _full(label: str, text: str) -> str:
    """A numbered short label ("2. Vài lần mỗi…") as the message lists it in full."""
    number = _NUMBER.match(label)
    if number is None:
        return label
    for line in text.splitlines():
        if line.startswith(number.group(0)):
            return line[len(number.group(0)) :]
    return label


def lang_of_user(language_code: str | None, langs: Mapping[str, Lang], default: str) -> Lang:
    code = (language_code or "")[:2].lower()
    return langs.get(code) or langs[default]


def tap_notice(delivery: Delivery) -> str | None:
    """What to show as the answer to a tapped button: the first notice, if it is short
    enough for Telegram's answer (else it goes out as a message)."""
    notice = next((r.text for r in delivery.replies if r.kind == "notice"), None)
    return notice if notice is not None and len(notice) <= MAX_TOAST else None

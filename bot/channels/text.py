"""Shaping replies into a channel's messages: long texts split, short ones merged, options
written out as a numbered list where buttons alone are not enough."""

from __future__ import annotations

import dataclasses

from flows.lang import Lang
from flows.model import Reply


def utf16_len(text: str) -> int:
    """Length as Telegram and Zalo's clients count it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int) -> list[str]:
    """Split a long message into parts of at most `limit` UTF-16 units, at a paragraph,
    line or word boundary when there is one in the second half of a part."""
    parts: list[str] = []
    while utf16_len(text) > limit:
        end = min(len(text), limit)
        while utf16_len(text[:end]) > limit:
            end -= 1
        cut = end
        for sep in ("\n\n", "\n", " "):
            at = text.rfind(sep, 0, end)
            if at > end // 2:
                cut = at
                break
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    parts.append(text)
    return [p for p in parts if p.strip()] or [text or "…"]


def merge_replies(replies: list[Reply], limit: int) -> list[Reply]:
    """One message instead of several in a row ("Thank you!" then the next question): fewer
    notifications, fewer calls against flood limits and messaging quotas. Texts join the
    message after them as long as it fits in `limit`; files stay on their own."""
    merged: list[Reply] = []
    pending: list[str] = []
    for reply in replies:
        if reply.kind == "file":
            merged.extend(Reply("text", text) for text in pending)
            pending = []
            merged.append(reply)
            continue
        joined = "\n\n".join([*pending, reply.text])
        if pending and utf16_len(joined) > limit:
            merged.extend(Reply("text", text) for text in pending)
            joined = reply.text
        pending = []
        if reply.kind in ("text", "notice"):
            pending = [joined]
        else:
            merged.append(dataclasses.replace(reply, text=joined))
    merged.extend(Reply("text", text) for text in pending)
    return merged


def _choices(lang: Lang, count: int) -> str:
    numbers = [str(n) for n in range(1, count + 1)]
    if count == 1:
        return "1"
    return lang._("{numbers} or {last}").format(numbers=", ".join(numbers[:-1]), last=numbers[-1])


def with_numbered_list(reply: Reply, lang: Lang, buttons: bool = True) -> Reply:
    """An options reply with its options written out as a numbered list and how to answer
    ("Tap a button or type 1, 2 or 3", or without buttons "Type the number..."): typing
    the number always works, and long answers can be read in full."""
    lines = [f"{n}. {o.label}" for n, o in enumerate(reply.options, start=1)]
    if buttons:
        hint = lang._("Tap a button or type {choices}.").format(
            choices=_choices(lang, len(reply.options))
        )
    else:
        hint = lang._("Type the number of your answer, from 1 to {count}.").format(
            count=len(reply.options)
        )
    listed = "\n\n".join(["\n".join(lines), hint])
    if reply.text.endswith(listed):  # shaped already (an answer kept to be sent again)
        return reply
    return dataclasses.replace(reply, text="\n\n".join([reply.text, listed]))

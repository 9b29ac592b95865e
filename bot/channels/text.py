"""Shaping replies into a channel's messages: long texts split, short ones merged."""

from __future__ import annotations

import dataclasses

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

"""Replies survive the outbox (JSON) unchanged, and typed commands are recognised."""

from __future__ import annotations

import json

import pytest

from flows.model import Event, Option, Reply


@pytest.mark.parametrize(
    "reply",
    [
        Reply("text", "Xin chào"),
        Reply("options", "Giới tính?", (Option("male", "Nam"), Option("female", "Nữ")), prompt=7),
        Reply("ask_phone", "Số điện thoại?", (Option("skip", "Bỏ qua"),), prompt=9),
        Reply("file", "Báo cáo", file_name="bao-cao.xlsx", file_data=b"\x00PK\xff"),
    ],
)
def test_replies_round_trip_through_json(reply):
    assert Reply.from_dict(json.loads(json.dumps(reply.to_dict()))) == reply


@pytest.mark.parametrize(
    ("text", "command", "args"),
    [
        ("/start", "start", ""),
        ("/start c70", "start", "c70"),
        ("/START@CdhtBot c70", "start", "c70"),
        ("/ketqua", "result", ""),
        ("/language en", "language", "en"),
        ("/xyz abc", "unknown", "/xyz abc"),
    ],
)
def test_typed_commands(text, command, args):
    event = Event.from_text(text)
    assert (event.kind, event.command, event.args) == ("command", command, args)


@pytest.mark.parametrize("text", ["/", "xin chào", " 1985 ", ""])
def test_plain_text_is_not_a_command(text):
    assert Event.from_text(text).kind == "text"

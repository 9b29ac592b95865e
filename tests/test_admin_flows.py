"""Admins' screens in the pure core, through the chat helper playing the shell: what each
command declares it needs, recognising titles screen by screen, and what happens when the
world changes under an admin (rights revoked, a person decided on by someone else)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.model import (
    AdminView,
    Candidate,
    Event,
    InviteView,
    Listing,
    Needs,
    Recognise,
    ReportRequest,
    ReturnAssessment,
    RevokeAdmin,
)
from flows.places import Area
from flows.screens import REC_LIST, REC_ONE, REC_REASON
from tests.chat import FlowChat

HA_NOI, HOAN_KIEM, BA_DINH = 1, 70, 4
SUBMITTED = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def people(n: int, first_id: int = 100) -> list[Candidate]:
    return [
        Candidate(first_id + i, f"Người {i + 1}", "Tổ 5", "1", 90 - i, SUBMITTED) for i in range(n)
    ]


def commune_admin(world, **kwargs) -> FlowChat:
    admin = AdminView(id=1, area=Area(HA_NOI, HOAN_KIEM), channel="test", language="en")
    chat = FlowChat(world, admin=admin, **kwargs)
    chat.type("/language en")
    return chat


# --- what the commands declare ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/stats", Needs(admin=True, report=ReportRequest("stats"))),
        ("/thongke xa:70", Needs(admin=True, report=ReportRequest("stats", Area(1, 70)))),
        ("/export csv", Needs(admin=True, report=ReportRequest("csv"))),
        ("/baocao tinh:1", Needs(admin=True, report=ReportRequest("xlsx", Area(1)))),
        ("/stats xa:999999", Needs(admin=True)),  # not a place: nothing is read
        ("/recognise", Needs(admin=True, candidates=Listing(None, 28))),
        ("/congnhan xa:4", Needs(admin=True, candidates=Listing(BA_DINH, 28))),
        ("/congnhan xa:4 2025", Needs(admin=True, candidates=Listing(BA_DINH, 28, year=2025))),
        ("/recognise tinh:1", Needs(admin=True)),  # a province: the admin is told to name one
        ("/invite", Needs(admin=True, fresh_code=True)),
        ("/admins", Needs(admin=True, admins=True)),
        ("/admin K7QX-M2PA", Needs(admin=True, invite="K7QXM2PA")),
        ("/donvi k7qxm2pa", Needs(admin=True, invite="K7QXM2PA", unit=True)),
        ("/start dv-K7QXM2PA", Needs(admin=True, invite="K7QXM2PA")),
        ("/help", Needs(admin=True)),
        # Text outside any question: an admin or a focal point? (not pushed to register)
        ("Nguyễn Văn An", Needs(admin=True, unit=True)),
    ],
)
def test_each_command_declares_what_it_reads(world, text, expected):
    chat = FlowChat(world)
    chat.looked_up(Event.from_text(text))
    assert chat.needs == expected


def test_a_screen_declares_what_it_reads_and_a_command_on_it_wins(world):
    chat = commune_admin(world, candidates={HOAN_KIEM: people(2)})
    chat.type("/recognise")
    assert chat.state["screen"] == REC_LIST
    chat.looked_up(Event.from_text("1"))
    # The screen reads the year the list is for (the current one here).
    assert chat.needs == Needs(admin=True, candidates=Listing(HOAN_KIEM, 28, year=2026))
    chat.looked_up(Event.from_text("/recognise xa:4"))
    assert chat.needs.candidates == Listing(BA_DINH, 28)


# --- the commands ----------------------------------------------------------------------


def test_a_non_admin_is_told_the_commands_are_for_admins(world):
    chat = FlowChat(world)
    chat.type("/language en")
    for command in ("/stats", "/export", "/recognise", "/invite", "/admins", "/target 5"):
        chat.type(command)
        assert "This command is for admins of the campaign" in chat.text, command
        assert not chat.effects


def test_joining_with_a_code_then_inviting_and_revoking(world):
    later = world.now + timedelta(hours=72)
    code = InviteView("K7QXM2PA", "admin", Area(HA_NOI), later)
    chat = FlowChat(world, invites=[code])
    chat.type("/language en")
    chat.type("/admin K7QX M2PA")
    assert "You are now an admin for Thành phố Hà Nội" in chat.text
    assert chat.admin is not None and chat.admin.area == Area(HA_NOI)
    chat.type("/admin K7QXM2PA")  # used: the same answer as an unknown code
    assert "is not valid" in chat.text
    chat.type("/invite xa:70")
    assert "NEWC-ODE2-ABCD" in chat.text and "Phường Hoàn Kiếm" in chat.text
    chat.admins.append(AdminView(id=7, area=Area(HA_NOI, HOAN_KIEM), channel="zalo"))
    chat.type("/admins")
    assert "#7 Zalo account" in chat.text and "(you)" in chat.text
    chat.type("/revoke 7")
    assert chat.effects == [RevokeAdmin(7, Area(HA_NOI))]
    chat.type("/revoke ¹")  # a superscript is a digit to str.isdigit, not to int()
    assert "Write /revoke and the admin's number" in chat.text


# --- recognising, screen by screen -----------------------------------------------------


def test_recognise_one_return_one_then_all(world):
    chat = commune_admin(world, candidates={HOAN_KIEM: people(4)})
    chat.type("/recognise")
    assert "4 people in Phường Hoàn Kiếm reach the title" in chat.text
    assert chat.labels[:4] == ["Người 1", "Người 2", "Người 3", "Người 4"]
    chat.tap("Người 1")
    assert chat.state["screen"] == REC_ONE and "90 points" in chat.text
    chat.tap("Recognise")
    assert chat.effects == [Recognise(HOAN_KIEM, 2026, 100)]
    assert "Recognised: Người 1" in chat.text and "3 people" in chat.text
    chat.tap("Người 2")
    chat.tap("Return with a reason")
    assert chat.state["screen"] == REC_REASON
    chat.type("ok")  # too short to be a reason
    assert "write the reason in a few words" in chat.text
    chat.type("Thiếu minh chứng đọc sách")
    assert chat.effects == [ReturnAssessment(HOAN_KIEM, 2026, 101, "Thiếu minh chứng đọc sách")]
    assert "2 people" in chat.text
    chat.tap("Recognise all 2")
    chat.tap("Yes, recognise all")
    (effect,) = chat.effects
    assert isinstance(effect, Recognise) and effect.assessment_id is None
    assert "Recognised: 2 people in Phường Hoàn Kiếm" in chat.text
    assert "rec" not in chat.state


def test_revoked_while_writing_a_reason_is_led_away_not_stuck(world):
    """Before: KeyError 'rec' on every message (each rolled back) until a command."""
    chat = commune_admin(world, candidates={HOAN_KIEM: people(2)})
    chat.type("/recognise")
    chat.tap("Người 1")
    chat.tap("Return with a reason")
    chat.admin = None  # another admin revoked this one meanwhile
    chat.type("Thiếu minh chứng")
    assert "You are no longer an admin for this commune." in chat.text
    assert not chat.effects and "rec" not in chat.state
    chat.type("Thiếu minh chứng")  # and the next message is simply not on that screen
    assert "no longer an admin" not in chat.text


def test_revoked_then_back_is_explained_not_called_an_old_button(world):
    chat = commune_admin(world, candidates={HOAN_KIEM: people(2)})
    chat.type("/recognise")
    chat.tap("Người 1")
    chat.tap("Return with a reason")
    back = chat.option_event("Back")
    chat.admin = None
    chat.send(back)
    assert "You are no longer an admin for this commune." in chat.text
    assert "earlier question" not in chat.text


def test_moved_to_another_commune_is_led_away_too(world):
    chat = commune_admin(world, candidates={HOAN_KIEM: people(2)})
    chat.type("/recognise")
    chat.admin = AdminView(id=1, area=Area(HA_NOI, BA_DINH), language="en")
    chat.tap("Người 1")
    assert "You are no longer an admin for this commune." in chat.text
    assert not chat.effects


def test_a_person_decided_on_meanwhile_sends_the_admin_back_to_the_list(world):
    chat = commune_admin(world, candidates={HOAN_KIEM: people(3)})
    chat.type("/recognise")
    chat.tap("Người 1")
    chat.candidates[HOAN_KIEM] = chat.candidates[HOAN_KIEM][1:]  # another admin did it
    chat.tap("Recognise")
    assert "That person has been decided on meanwhile." in chat.text
    assert "2 people in Phường Hoàn Kiếm" in chat.text and not chat.effects
    assert chat.state["screen"] == REC_LIST


def test_the_last_one_decided_on_leaves_the_list(world):
    chat = commune_admin(world, candidates={HOAN_KIEM: people(1)})
    chat.type("/recognise")
    assert "Recognise all" not in " ".join(chat.labels)  # one person: the name does it
    chat.tap("Người 1")
    chat.tap("Recognise")
    assert "No one in Phường Hoàn Kiếm is waiting for recognition (2026)." in chat.text
    assert "rec" not in chat.state


def test_rendering_a_screen_never_changes_the_conversation(world):
    """The options of the current screen are found by rendering it: on a copy."""
    from flows.turn import Turn

    chat = commune_admin(world, candidates={HOAN_KIEM: people(2)})
    chat.type("/recognise")
    chat.tap("Người 1")
    chat.admin = None
    turn = Turn(chat.snapshot, chat.looked_up(Event.from_text("x")), Event.from_text("x"))
    before = dict(turn.state)
    turn.current_options()
    assert turn.state == before and turn.replies == [] and turn.effects == []


def test_recognise_another_commune_from_the_list_goes_straight_there(world):
    admin = AdminView(id=1, area=Area(HA_NOI), channel="test", language="en")
    chat = FlowChat(world, admin=admin, candidates={HOAN_KIEM: people(2), BA_DINH: people(3, 200)})
    chat.type("/language en")
    chat.type("/recognise xa:70")
    assert "2 people in Phường Hoàn Kiếm" in chat.text
    chat.type("/recognise xa:4")
    assert "3 people in Phường Ba Đình" in chat.text
    assert "No one" not in chat.text and "no longer" not in chat.text


@pytest.mark.parametrize(
    ("command", "answer"),
    [("/language", "English"), ("/delete", "No, keep my data")],
)
def test_a_side_screen_leads_back_to_the_list(world, command, answer):
    chat = commune_admin(world, candidates={HOAN_KIEM: people(2)})
    chat.type("/recognise")
    chat.type(command)
    chat.tap(answer)
    assert "2 people in Phường Hoàn Kiếm reach the title" in chat.text
    assert "no longer an admin" not in chat.text


def test_an_answer_to_a_question_reads_nothing_beyond_the_conversation(world):
    chat = FlowChat(world)
    chat.type("/start")  # the name is asked
    chat.looked_up(Event.from_text("Nguyễn Văn An"))
    assert chat.needs == Needs()

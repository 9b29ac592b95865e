"""The conversation as a citizen lives it, through the pure flow (no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.model import (
    DeletePerson,
    Event,
    ResetAssessment,
    SaveAnswer,
    SavePerson,
    SubmitAssessment,
)
from flows.scoring import AreaFlags
from tests.chat import TO_COMMUNE, FlowChat, register


@pytest.fixture
def chat(world) -> FlowChat:
    return FlowChat(world)


def answer_all(chat: FlowChat, choice: str = "1") -> FlowChat:
    for _ in range(10):
        chat.type(choice)
    return chat


def test_registration_walks_through_every_field_and_confirms(chat):
    chat.type("xin chào")
    assert "Xin chào!" in chat.text and chat.text.endswith("Họ và tên của bạn là gì?")
    chat.type("  Nguyễn   Thị Hoa ")
    assert "Bạn sinh năm nào?" in chat.text
    chat.type("1984")
    assert chat.labels == ["Nam", "Nữ", "Khác"]
    chat.type("nu")  # words without accents choose an option
    assert chat.labels == [
        "Nhóm 1: Nông dân, người dân ở xã, phường",
        "Nhóm 2: Công nhân, người lao động",
        "Nhóm 3: Cán bộ, công chức, viên chức, doanh nhân",
        "Nhóm 4: Học sinh, sinh viên, học viên",
        "Tôi không biết chọn nhóm nào",
    ]
    chat.tap("Nông dân")
    assert len(chat.labels) == 34 and chat.labels[0] == "Thành phố Hà Nội"
    chat.type("ha noi")
    assert "Thành phố Hà Nội" in chat.text
    chat.type("hoan kiem")  # one match: chosen straight away
    assert "thôn, xóm" in chat.text
    chat.tap("Bỏ qua")
    assert chat.question.kind == "ask_phone"
    chat.type("+84 912.345.678")
    assert "• Họ và tên: Nguyễn Thị Hoa" in chat.text
    assert "• Xã, phường; tỉnh, thành phố: Phường Hoàn Kiếm, Thành phố Hà Nội" in chat.text
    assert "• Số điện thoại: 0912345678" in chat.text
    assert "• Thôn, xóm, tổ dân phố: —" in chat.text
    assert chat.effects == []
    chat.tap("Đúng rồi")
    saved = [e for e in chat.effects if isinstance(e, SavePerson)]
    assert len(saved) == 1
    profile = saved[0].profile
    assert (profile.full_name, profile.birth_year, profile.gender, profile.group) == (
        "Nguyễn Thị Hoa",
        1984,
        "female",
        "1",
    )
    assert (profile.commune_code, profile.village, profile.phone) == (70, None, "0912345678")
    assert "Bạn đã đăng ký xong" in chat.text
    assert "Bắt đầu tự đánh giá" in chat.labels


def test_confirmation_screen_can_change_any_field(chat):
    chat.type_all("/start", "Lê Văn Nam", "1990", "1", "2", "hcm", "ben thanh", "Khu phố 3")
    chat.tap("Bỏ qua")
    chat.tap("Sửa năm sinh")
    assert "Bạn sinh năm nào?" in chat.text
    chat.type("1991")
    assert "• Năm sinh: 1991" in chat.text  # straight back to the confirmation
    chat.tap("Sửa xã, phường")
    chat.type("da nang")
    chat.type("hai chau")
    assert "• Xã, phường; tỉnh, thành phố: Phường Hải Châu, Thành phố Đà Nẵng" in chat.text
    chat.tap("Sửa số điện thoại")
    chat.type("0987654321")
    assert "• Số điện thoại: 0987654321" in chat.text
    assert "• Thôn, xóm, tổ dân phố: Khu phố 3" in chat.text


def test_commune_search_without_accents_offers_at_most_five(chat):
    chat.type_all(*TO_COMMUNE)
    chat.type("ba")
    assert len(chat.labels) == 6  # five communes and "choose another province"
    assert "Đang hiện 5 trong" in chat.text
    chat.type("xyz khong co")
    assert "Không tìm thấy xã, phường nào ở Thành phố Hà Nội tên “xyz khong co”" in chat.text
    assert "Từ ngày 1/7/2025 nhiều xã, phường đã sáp nhập" in chat.text
    chat.tap("Chọn tỉnh, thành phố khác")
    assert len(chat.labels) == 34


def test_someone_unsure_of_their_group_gets_help_and_a_suggestion(chat):
    chat.type_all("/start", "Lê Văn Tư", "1958", "1")
    chat.tap("Tôi không biết chọn nhóm nào")
    assert "• Nhóm 1: nông dân, người trồng trọt" in chat.text
    assert "người đã nghỉ hưu" in chat.text and "người buôn bán nhỏ" in chat.text
    assert "ví dụ: buôn bán, về hưu" in chat.text
    assert len(chat.labels) == 4
    chat.type("tôi buôn bán")
    assert "“tôi buôn bán” phù hợp với Nhóm 2: Công nhân, người lao động." in chat.text
    assert chat.labels[1] == "Nhóm 2: Công nhân, người lao động"  # groups in their order
    chat.type("2")  # "2" is Group 2 on every screen
    assert chat.state["draft"]["group"] == "2"
    assert len(chat.labels) == 34  # on to the province


def test_typing_ones_work_on_the_group_question_suggests_the_group(chat):
    chat.type_all("/start", "Lê Văn Tư", "1958", "1")
    chat.type("ve huu")
    assert "“ve huu” phù hợp với Nhóm 1" in chat.text
    chat.type("không biết nữa")
    assert "Chưa xác định được nhóm từ “không biết nữa”" in chat.text
    assert "Nhóm 1 dành cho mọi người dân ở xã, phường" in chat.text
    chat.tap("Học sinh")
    assert chat.state["draft"]["group"] == "4"


def test_an_old_commune_name_offers_the_commune_it_became_part_of(chat):
    chat.type_all("/start", "Trần Văn Đài", "1950", "1", "1", "ha tinh")
    assert "Xin gõ tên xã, phường" in chat.text and "tên xã, phường cũ" in chat.text
    chat.type("thach dai")
    assert (
        "Xã Thạch Đài (cũ), thuộc Thành phố Hà Tĩnh (cũ), nay thuộc Phường Hà Huy Tập." in chat.text
    )
    assert chat.labels == ["Phường Hà Huy Tập", "Chọn tỉnh, thành phố khác"]
    chat.tap("Hà Huy Tập")
    assert "thôn, xóm" in chat.text
    chat.type_all("Thôn 1", "Bỏ qua")
    assert "• Xã, phường; tỉnh, thành phố: Phường Hà Huy Tập, Hà Tĩnh" in chat.text


def test_an_old_district_lists_the_communes_it_became(chat):
    chat.type_all("/start", "Trần Văn Đài", "1950", "1", "1", "ha tinh")
    chat.type("huyện Thạch Hà")
    assert (
        "Địa bàn Huyện Thạch Hà (cũ) nay chia về các xã, phường dưới đây. Nếu nhớ tên" in chat.text
    )
    assert "Xã Thạch Hà" in chat.labels and len(chat.labels) >= 6
    chat.tap("Xã Thạch Hà")
    assert chat.state["draft"]["commune"] == 18562  # Xã Thạch Hà


def test_an_old_name_shared_with_a_new_commune_shows_both(chat):
    # Phường Hà Huy Tập of before 2025 is now in Phường Thành Sen; a new Phường Hà Huy
    # Tập exists elsewhere: the person chooses, knowing which is which.
    chat.type_all("/start", "Trần Văn Đài", "1950", "1", "1", "ha tinh")
    chat.type("ha huy tap")
    assert (
        "Phường Hà Huy Tập (cũ), thuộc Thành phố Hà Tĩnh (cũ), nay thuộc Phường Thành Sen."
        in chat.text
    )
    assert chat.labels[:2] == ["Phường Hà Huy Tập", "Phường Thành Sen"]


def test_a_merged_province_is_chosen_by_its_old_name(chat):
    chat.type_all("/start", "Vàng Thị Mỷ", "1960", "2", "1")
    chat.type("ha giang")
    assert "Tỉnh Hà Giang (cũ) nay thuộc Tuyên Quang." in chat.text
    assert "ở Tuyên Quang" in chat.text  # the commune question, in the new province
    chat.type("xyz")
    assert "Không tìm thấy" in chat.text


def test_an_unknown_province_says_that_old_names_work(chat):
    chat.type_all("/start", "Vàng Thị Mỷ", "1960", "2", "1")
    chat.type("khong co tinh nay")
    assert "Từ ngày 1/7/2025 cả nước có 34 tỉnh, thành phố" in chat.text
    assert len(chat.labels) == 34


@pytest.mark.parametrize("typed", ["năm 1965", "sinh 1965", "Tôi sinh năm 1965", "1965"])
def test_a_year_of_birth_with_words_around_it(chat, typed):
    chat.type("/start").type("Phạm Bình")
    chat.type(typed)
    assert chat.state["draft"]["birth_year"] == 1965 and chat.labels == ["Nam", "Nữ", "Khác"]


def test_a_two_digit_year_is_checked(chat):
    chat.type("/start").type("Phạm Bình")
    chat.type("65")
    assert chat.text.endswith("Bạn sinh năm 1965, đúng không?")
    chat.tap("Không")
    assert chat.text.endswith("Bạn sinh năm nào? Gõ 4 chữ số, ví dụ 1985.")
    chat.type("sinh 65")
    chat.tap("Đúng")
    assert chat.state["draft"]["birth_year"] == 1965 and chat.labels == ["Nam", "Nữ", "Khác"]


def test_quay_lai_goes_back_at_every_registration_step(chat):
    chat.type("/start")
    chat.type("quay lại")
    assert "Đây là câu hỏi đầu tiên." in chat.text and chat.state["screen"] == "reg.name"
    chat.type_all("Phạm Bình", "1965", "2")
    chat.type("quay lai")  # on the group question: the gender again
    assert chat.labels == ["Nam", "Nữ", "Khác"]
    chat.type("back")
    assert chat.text.endswith("Bạn sinh năm nào? Gõ 4 chữ số, ví dụ 1985.")
    chat.type("1966")  # answered again: on to what is still missing (the gender is kept)
    assert chat.state["draft"]["birth_year"] == 1966 and chat.state["screen"] == "reg.group"
    chat.type_all("1", "ha noi")
    chat.type("Quay lại")  # from the commune question to the province
    assert len(chat.labels) == 34
    chat.type_all("ha noi", "hoan kiem", "Tổ 1")
    chat.type("trở lại")  # from the phone question to the village
    assert "thôn, xóm" in chat.text
    chat.type("Tổ 2")
    chat.tap("Bỏ qua")
    assert "• Thôn, xóm, tổ dân phố: Tổ 2" in chat.text
    chat.type("quay lại")  # from the summary to the phone
    assert chat.question.kind == "ask_phone"


@pytest.mark.parametrize("bad", ["85x", "abc", "1900", "2024", "19 85x", "25", "sinh con 1990"])
def test_year_of_birth_must_be_sensible(chat, bad):
    chat.type("/start").type("Phạm Bình")
    chat.type(bad)
    assert "Năm sinh gồm 4 chữ số, từ 1926 đến 2020" in chat.text
    assert chat.text.endswith("Bạn sinh năm nào? Gõ 4 chữ số, ví dụ 1985.")
    assert chat.state["screen"] == "reg.birth_year"


@pytest.mark.parametrize("bad", ["1", "A", "Nguyễn Văn 3", "x" * 81])
def test_full_name_is_checked(chat, bad):
    chat.type("/start").type(bad)
    assert "chỉ gồm chữ cái" in chat.text and chat.state["screen"] == "reg.name"


def test_phone_is_validated_and_only_ones_own_contact_is_taken(chat):
    chat.type_all(*TO_COMMUNE, "hoan kiem", "Thôn 1")
    chat.type("12345")
    assert "Số điện thoại gồm 10 chữ số" in chat.text
    chat.send(Event("contact", phone="0911111111", contact_is_own=False))
    assert "số điện thoại của chính bạn" in chat.text
    assert chat.state["screen"] == "reg.phone"
    chat.send(Event("contact", phone="+84922222222"))
    assert "• Số điện thoại: 0922222222" in chat.text


UNEXPECTED = ["", "   ", "xin chao", "😀👍", "x" * 5000, "7", "/start@ThisBot"]


@pytest.mark.parametrize("text", UNEXPECTED)
def test_unexpected_input_explains_and_asks_the_same_question(chat, text):
    register(chat).tap("Bắt đầu")
    chat.type("2")  # question 1 answered
    before = chat.state
    chat.type(text)
    assert chat.effects == []
    assert chat.state["screen"] == "q" and chat.state["idx"] == before["idx"] == 1
    assert chat.question.text.startswith("Câu 2/10")
    if text != "/start@ThisBot":
        assert chat.replies[0].prompt is None and chat.replies[0].text  # an explanation first
    assert chat.question.prompt == before["prompt"]  # the buttons shown before still work


def test_stale_and_forged_buttons_are_refused(chat):
    register(chat).tap("Bắt đầu")
    first = chat.option_event("Hằng ngày")
    chat.send(first)
    assert chat.question.text.startswith("Câu 2/10")
    chat.send(first)  # the same button again, from the earlier question
    assert "Nút đó thuộc một câu hỏi trước" in chat.text
    assert chat.effects == [] and chat.question.text.startswith("Câu 2/10")
    chat.send(Event("option", option="a9", prompt=chat.question.prompt))  # forged id
    assert "Nút đó thuộc một câu hỏi trước" in chat.text and chat.effects == []
    chat.send(Event("option", option="male", prompt=1))  # a button from registration
    assert "Nút đó thuộc một câu hỏi trước" in chat.text


def test_self_scoring_shows_progress_hint_back_review_and_result(chat):
    register(chat).tap("Bắt đầu")
    assert "Có 10 câu hỏi" in chat.text
    assert chat.question.text.startswith("Câu 1/10 · Năng lực tự học và học tập suốt đời")
    assert "💡 Minh chứng (không cần gửi ở đây):" in chat.question.text
    assert chat.labels[-1] == "⬅ Quay lại"
    chat.tap("Hằng ngày")
    chat.tap("Có kế hoạch và đang thực hiện")  # 1.2: 7 points
    assert chat.question.text.startswith("Câu 3/10")
    chat.tap("Quay lại")
    assert chat.question.text.startswith("Câu 2/10")
    assert "✓ Có kế hoạch và đang thực hiện" in chat.labels  # the earlier answer is marked
    chat.tap("rõ ràng")  # change 1.2 to 10 points
    assert next(e for e in chat.effects if isinstance(e, SaveAnswer)).points == 10
    for _ in range(8):
        chat.type("1")
    assert "Xin xem lại các câu trả lời trước khi gửi:" in chat.text
    assert "1.2 Kế hoạch học tập: 10/10 — Có kế hoạch rõ ràng và đã hoàn thành" in chat.text
    assert "Tổng: 100/100 điểm" in chat.text
    chat.tap("Sửa một câu")
    chat.tap("2.2")
    assert chat.question.text.startswith("Câu 6/10")
    chat.tap("Biết một vài từ")  # 5 points; back to the review, not question 7
    assert "Tổng: 95/100 điểm" in chat.text
    chat.tap("Gửi kết quả")
    submitted = [e for e in chat.effects if isinstance(e, SubmitAssessment)]
    assert submitted and submitted[0].result.total == 95 and submitted[0].result.title is True
    assert "Kết quả tự đánh giá năm 2026: 95/100 điểm." in chat.text
    assert (
        "✅ Điểm tự đánh giá của bạn đạt điều kiện đề nghị công nhận danh hiệu Công dân học tập."
        in chat.text
    )
    assert "Nên cố gắng trước ở các chỉ số sau:" in chat.text
    assert "2.2 Sử dụng ngoại ngữ (5/10): Học 5 từ tiếng Anh" in chat.text


def test_result_explains_a_failed_title_with_reasons(chat):
    register(chat).tap("Bắt đầu")
    answer_all(chat, "4")  # 2 points everywhere
    chat.tap("Gửi kết quả")
    assert "❌ Điểm tự đánh giá của bạn chưa đạt điều kiện đề nghị công nhận danh hiệu" in chat.text
    assert "Tổng 20 điểm: chưa đạt mức 80 điểm cần có." in chat.text
    assert (
        "Chỉ số 2.1 Sử dụng công nghệ thông tin được 2 điểm, dưới mức tối thiểu 5 điểm."
        in chat.text
    )
    # What to do next, not "your self-score is a proposal".
    assert "tự đánh giá lại vào năm sau" in chat.text and "đề nghị Hội Khuyến học" in chat.text
    assert "Đang chờ xã, phường xét" not in chat.text


def test_the_review_screen_shows_the_verdict_and_that_submitting_is_final(chat):
    register(chat).tap("Bắt đầu")
    answer_all(chat, "1")
    chat.tap("Sửa một câu trả lời")
    chat.tap("2.1")
    chat.type("4")  # 2 points on 2.1: under the minimum of 5
    assert "❌ Với các câu trả lời này, bạn chưa đạt điều kiện đề nghị công nhận" in chat.text
    assert "Chỉ số 2.1 Sử dụng công nghệ thông tin được 2 điểm, dưới mức tối thiểu 5" in chat.text
    assert "Sau khi gửi, bạn không sửa được câu trả lời nữa" in chat.text
    chat.tap("Sửa một câu trả lời")
    chat.tap("2.1")
    chat.type("1")
    assert "✅ Với các câu trả lời này, bạn đạt điều kiện" in chat.text


def test_after_submitting_the_welcome_and_result_say_where_it_stands(chat):
    register(chat).tap("Bắt đầu")
    answer_all(chat)
    chat.tap("Gửi kết quả")
    assert "Đang chờ xã, phường xét" in chat.text
    chat.type("/start")
    assert "Chào mừng bạn trở lại! Đang chờ xã, phường xét" in chat.text
    assert "làm tiếp" not in chat.text.lower()
    assert chat.labels[0] == "Xem kết quả của tôi"
    chat.type("/lamlai")
    assert "đề nghị Hội Khuyến học xã, phường trả lại bản tự đánh giá" in chat.text


def test_difficult_area_uses_seventy(world):
    chat = FlowChat(world, AreaFlags(difficult=True))
    register(chat).tap("Bắt đầu")
    for choice in ["1", "1", "1", "1", "3", "3", "3", "3", "3", "3"]:  # 40 + 30 = 70
        chat.type(choice)
    chat.tap("Gửi kết quả")
    assert "Tổng 70 điểm: đạt mức 70 điểm cần có." in chat.text and "✅" in chat.text
    assert "vùng đặc biệt khó khăn" in chat.text and "chỉ cần 70 điểm thay vì 80" in chat.text


def test_stop_and_continue_where_left(chat):
    register(chat).tap("Bắt đầu")
    chat.type("1").type("2").type("3")
    chat.type("/start")
    assert "Chào mừng bạn trở lại!" in chat.text and chat.question.text.startswith("Câu 4/10")
    chat.tap("Quay lại")
    chat.tap("Quay lại")
    chat.tap("Quay lại")
    chat.tap("Quay lại")  # from question 1 back to the menu
    assert "Tiếp tục tự đánh giá (đã trả lời 3/10)" in chat.labels
    chat.tap("Tiếp tục")
    assert chat.question.text.startswith("Câu 4/10")


def test_commands_work_anywhere(chat):
    chat.type("/start").type("Lý Thị Mai")
    chat.type("/help")
    # In Vietnamese, the Vietnamese names of the commands.
    assert "/xoa — xóa dữ liệu của tôi" in chat.text and "/ketqua — xem kết quả" in chat.text
    assert "/delete" not in chat.text
    assert chat.text.endswith("Bạn sinh năm nào? Gõ 4 chữ số, ví dụ 1985.")
    chat.type("/language en")
    assert "From now on I will write in English." in chat.text
    assert chat.text.endswith("In which year were you born? Type 4 digits, for example 1985.")
    chat.type("/ngonngu")
    chat.tap("Tiếng Việt")
    assert "Từ giờ tôi sẽ viết bằng tiếng Việt." in chat.text and chat.text.endswith("ví dụ 1985.")
    chat.type("/result")
    assert "Bạn chưa có kết quả" in chat.text
    chat.type("/foo")
    assert "Tôi không hiểu lệnh “/foo”" in chat.text and chat.state["screen"] == "reg.birth_year"
    chat.type("/restart")
    assert "xin đăng ký xong trước" in chat.text


def test_restart_until_submitted_then_the_result_is_kept(chat):
    register(chat).tap("Bắt đầu")
    chat.type("1").type("1")
    chat.type("/restart")
    chat.tap("Không, giữ")
    assert chat.question.text.startswith("Câu 3/10")
    chat.type("/lamlai")
    chat.tap("Đồng ý, làm lại")
    assert any(isinstance(e, ResetAssessment) for e in chat.effects)
    assert chat.question.text.startswith("Câu 1/10") and chat.snapshot.assessment.answers == {}
    answer_all(chat)
    chat.type("/result")
    assert "Bạn đã trả lời 10/10 câu" in chat.text
    chat.tap("Gửi kết quả")
    chat.type("/restart")
    assert "đã được gửi và được giữ nguyên" in chat.text and chat.effects == []
    chat.type("/ketqua")
    assert "Kết quả tự đánh giá năm 2026: 100/100 điểm." in chat.text
    assert "Đã gửi lúc 10:00 23/11/2026." in chat.text  # Vietnam time


def submit_then_move_to_group_4(chat: FlowChat) -> FlowChat:
    """Submit under group 1, then change the registration to group 4."""
    register(chat).tap("Bắt đầu")
    answer_all(chat)
    chat.tap("Gửi kết quả")
    chat.tap("Sửa thông tin")
    chat.tap("Sửa nhóm")
    chat.tap("Học sinh")
    chat.tap("Đúng rồi")
    return chat


def test_changing_group_after_submitting_keeps_the_submission_where_it_was(chat):
    submit_then_move_to_group_4(chat)
    assert (
        "Bản tự đánh giá năm 2026 của bạn đã gửi theo Nhóm 1: Nông dân, người dân ở xã, "
        "phường và được giữ nguyên" in chat.text
    )
    assert not any(isinstance(e, ResetAssessment) for e in chat.effects)
    assert chat.snapshot.assessment.group == "1" and chat.snapshot.person.group == "4"


def test_a_returned_self_assessment_keeps_its_answers_when_a_detail_changes(chat):
    """Submitted under group 1, group changed to 4 afterwards, returned by the commune:
    changing the phone must not start the answers again."""
    import dataclasses

    submit_then_move_to_group_4(chat)
    returned = dataclasses.replace(
        chat.snapshot.assessment,
        status="in_progress",
        returned_at=chat.world.now,
        return_reason="Thiếu minh chứng",
    )
    chat.snapshot = dataclasses.replace(chat.snapshot, assessment=returned)
    chat.tap("Sửa thông tin")
    chat.tap("Sửa số điện thoại")
    chat.type("0987654321")
    chat.tap("Đúng rồi")
    assert not any(isinstance(e, ResetAssessment) for e in chat.effects)
    assert "bắt đầu lại từ câu 1" not in chat.text
    assert chat.snapshot.assessment.answers  # kept


def test_quay_lai_while_changing_one_detail_keeps_it(chat):
    register(chat)
    chat.tap("Sửa thông tin")
    chat.tap("Sửa số điện thoại")
    chat.type("quay lại")  # changed my mind: back to the summary, the phone kept
    assert "• Số điện thoại: 0912345678" in chat.text
    chat.tap("Sửa thôn, xóm")
    chat.type("quay lại")
    assert "• Thôn, xóm, tổ dân phố: Tổ dân phố 5" in chat.text
    chat.type("quay lại")  # from the summary: the menu, nothing changed
    assert chat.text.endswith("Bạn muốn làm gì tiếp?") and "draft" not in chat.state


def test_a_typed_yes_on_the_year_check_and_numbers_at_the_commune_question(chat):
    chat.type_all("/start", "Lê Văn Ba", "sinh 58")
    chat.type("đúng rồi")
    assert chat.state["draft"]["birth_year"] == 1958
    chat.type_all("1", "1", "hcm")
    chat.type("1")  # not "choose another province": Phường 1 of some old district
    assert "Phường 1 (cũ), thuộc Quận" in chat.text and chat.state["screen"] == "reg.commune"
    assert chat.state["draft"]["province"] == 79
    chat.type("phuong 1 quan 5")
    assert "Phường 1 (cũ), thuộc Quận 5 (cũ), nay thuộc Phường Chợ Quán." in chat.text


def test_a_part_of_a_name_is_not_chosen_without_asking(chat):
    chat.type_all("/start", "Lê Văn Ba", "1958", "1", "1", "hcm")
    chat.type("an binh")
    assert chat.state["screen"] == "reg.commune" and "Xã An Bình (cũ)" in chat.text
    assert chat.state["draft"].get("commune") is None


def test_delete_asks_then_removes_everything(chat):
    register(chat)
    chat.type("/delete")
    chat.tap("Không, giữ")
    assert chat.effects == [] and "Bắt đầu tự đánh giá" in chat.labels
    chat.type("/xoa")
    chat.tap("Đồng ý, xóa hết")
    assert chat.effects == [DeletePerson()]
    assert "Toàn bộ dữ liệu của bạn đã được xóa" in chat.text
    assert "draft" not in chat.state and chat.snapshot.person is None
    chat.type("hello")
    assert "Xin chào!" in chat.text


def test_deep_link_fills_in_the_commune(chat):
    chat.type_all("/start c70", "Đỗ Hùng", "1970", "1", "3", "Tổ 1", "Bỏ qua")
    assert "• Xã, phường; tỉnh, thành phố: Phường Hoàn Kiếm, Thành phố Hà Nội" in chat.text
    other = FlowChat(chat.world)
    other.type("/start not-a-commune")
    assert other.text.endswith("Họ và tên của bạn là gì?")


def test_changing_group_restarts_an_unfinished_self_scoring(chat):
    register(chat).tap("Bắt đầu")
    chat.type("1").type("1")
    chat.type("/start")
    chat.tap("Quay lại")
    chat.tap("Quay lại")
    chat.tap("Quay lại")
    chat.tap("Sửa thông tin")
    chat.tap("Sửa nhóm")
    chat.tap("Học sinh")
    chat.tap("Đúng rồi")
    assert any(isinstance(e, ResetAssessment) for e in chat.effects)
    assert "bắt đầu lại từ câu 1" in chat.text
    chat.tap("Tiếp tục")
    assert "sách giáo khoa" in chat.question.text


def test_english_from_the_first_message(world):
    chat = FlowChat(world)
    chat.type("/language en")
    assert chat.text.endswith("What is your full name?")


@pytest.mark.parametrize("bad", ["😀", "...", "x" * 101])
def test_village_must_be_words(chat, bad):
    chat.type_all(*TO_COMMUNE, "hoan kiem")
    chat.type(bad)
    assert chat.state["screen"] == "reg.village" and "village" not in chat.state["draft"]


def test_year_of_birth_range_follows_the_year_in_vietnam(core):
    # 31/12/2026 20:00 UTC is already 01/01/2027 03:00 in Vietnam.
    chat = FlowChat(core.world(datetime(2026, 12, 31, 20, 0, tzinfo=UTC)))
    chat.type_all("/start", "Phạm Bình", "abc")
    assert "từ 1927 đến 2021" in chat.text

"""The terminal chat, run as a person would run it: a separate process reading typed lines."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = [
    "Nguyễn Văn Tâm",  # name
    "1979",
    "nam",  # the option's words, without accents
    "1",  # group 1, by its number
    "Ha Tinh",
    "thanh sen",
    "Thôn Đông",
    "0912345678",
    "1",  # confirm
    "1",  # start self-scoring
    "😀",  # nonsense gets the same question again
    *["1", "2", "1", "2", "1", "1", "2", "1", "1", "3"],
    "1",  # submit
]


def cdht(
    tmp_path: Path, *args: str, input: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the cdht command in `tmp_path` (where there is no .env file)."""
    env = env or {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.sqlite3'}",
        "CDHT_CAMPAIGN_YEAR": "2026",
        "CDHT_LANGUAGE": "vi",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def run_chat(tmp_path: Path, lines: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return cdht(tmp_path, "chat", *args, input="\n".join(lines) + "\n")


def test_register_and_self_score_in_the_terminal(tmp_path):
    done = run_chat(tmp_path, SCRIPT)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("Xin chào!")
    assert "  1. Nam\n  2. Nữ\n  3. Khác" in out
    assert "• Xã, phường; tỉnh, thành phố: Phường Thành Sen, Hà Tĩnh" in out
    assert "Câu 1/10 · Năng lực tự học và học tập suốt đời" in out
    assert "Xin chọn một câu trả lời: bấm nút hoặc gõ số thứ tự" in out
    assert "Kết quả tự đánh giá năm 2026: 86/100 điểm." in out
    assert (
        "✅ Điểm tự đánh giá của bạn đạt điều kiện đề nghị công nhận danh hiệu Công dân học tập."
        in out
    )
    assert "Traceback" not in done.stderr
    assert "Nguyễn Văn Tâm" not in done.stderr  # no personal data in the logs
    assert (tmp_path / "chat.sqlite3").exists()

    # Come back later: the result is kept and shown on request.
    again = run_chat(tmp_path, ["/result"])
    assert "Kết quả tự đánh giá năm 2026: 86/100 điểm." in again.stdout


def test_end_of_input_mid_registration_keeps_what_was_typed(tmp_path):
    run_chat(tmp_path, ["Trần Thị Lan", "1990"])
    resumed = run_chat(tmp_path, [])
    assert "Chào mừng bạn trở lại!" in resumed.stdout
    assert "Giới tính của bạn:" in resumed.stdout


def test_without_settings_the_chat_uses_data_cdht_sqlite3(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CDHT_"))}
    done = cdht(tmp_path, "chat", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Xin chào!")  # Vietnamese by default
    assert (tmp_path / "data" / "cdht.sqlite3").is_file()


def test_commune_flag_marks_a_difficult_area(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'flag.sqlite3'}"}
    run = [sys.executable, "-m", "bot", "commune-flag"]
    done = subprocess.run([*run, "70"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0 and "Phường Hoàn Kiếm (70)" in done.stdout
    done = subprocess.run([*run, "999999"], capture_output=True, text=True, env=env, cwd=tmp_path)
    # The operator's language, Vietnamese unless CDHT_LANGUAGE says otherwise.
    assert done.returncode != 0 and "Lỗi: không có xã, phường nào mã 999999" in done.stderr


def test_an_admin_in_the_terminal_gets_the_files_written_to_data_files(tmp_path):
    invite = cdht(tmp_path, "admin", "invite", "--scope", "province:42")
    assert invite.returncode == 0, invite.stderr
    assert "dùng một lần" in invite.stdout  # in the operator's language (vi by default)
    [code] = re.findall(r"/quantri (\S+)", invite.stdout)
    done = run_chat(tmp_path, [f"/quantri {code}", "/thongke", "/baocao"])
    assert done.returncode == 0, done.stderr
    assert "Bạn đã là quản trị viên của Hà Tĩnh" in done.stdout
    assert "Họ và tên của bạn là gì?" in done.stdout  # asked once, on opening the chat
    assert done.stdout.count("Họ và tên của bạn là gì?") == 1  # not after each command
    [chart] = (tmp_path / "data" / "files").glob("cdht-province-42-*.png")
    [report] = (tmp_path / "data" / "files").glob("cdht-province-42-*.xlsx")
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert f"[{Path('data') / 'files' / report.name}]" in done.stdout


def test_an_old_commune_name_in_the_terminal(tmp_path):
    done = run_chat(
        tmp_path, ["Trần Văn Đài", "1950", "1", "1", "ha tinh", "thach dai", "1", "Thôn 1"]
    )
    assert done.returncode == 0, done.stderr
    assert (
        "Xã Thạch Đài (cũ), thuộc Thành phố Hà Tĩnh (cũ), nay thuộc Phường Hà Huy Tập."
        in done.stdout
    )
    assert "  1. Phường Hà Huy Tập" in done.stdout
    assert "thôn, xóm" in done.stdout.split("thach dai")[-1]


def test_a_retired_man_unsure_of_his_group_and_year_in_the_terminal(tmp_path):
    done = run_chat(tmp_path, ["Lê Văn Tư", "sinh 58", "1", "1", "5", "về hưu", "1"])  # 1: Group 1
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Bạn sinh năm 1958, đúng không?" in out
    assert "• Nhóm 2: công nhân, người làm thuê" in out  # who belongs where
    assert "“về hưu” phù hợp với Nhóm 1: Nông dân, người dân ở xã, phường." in out
    assert out.rstrip().endswith("34. Cà Mau")  # on to the province


def test_after_submitting_the_terminal_says_where_it_stands(tmp_path):
    done = run_chat(tmp_path, SCRIPT)
    assert "Sau khi gửi, bạn không sửa được câu trả lời nữa" in done.stdout  # the review
    again = run_chat(tmp_path, ["/start", "/lamlai"])
    assert "Chào mừng bạn trở lại! Đang chờ xã, phường xét" in again.stdout
    assert "đề nghị Hội Khuyến học xã, phường trả lại bản tự đánh giá" in again.stdout


def test_a_focal_point_self_assesses_their_unit_in_the_terminal(tmp_path):
    made = cdht(tmp_path, "unit-code", "new", "--area", "commune:70")
    assert made.returncode == 0, made.stderr
    [code] = re.findall(r"/donvi (\S+)", made.stdout)
    lines = [f"/donvi {code}", "Trường THCS Kim Liên", "/donvi", "1", "Nguyễn Thị Hoa"]
    done = run_chat(tmp_path, [*lines, *["1"] * 8, "2", "1", "2"], "--user", "fp")
    assert done.returncode == 0, done.stderr
    assert "Đơn vị của bạn: “Trường THCS Kim Liên” (Phường Hoàn Kiếm" in done.stdout
    assert "Câu 9/9" in done.stdout and "Tổng: 85/90 điểm" in done.stdout
    assert "Bản tự đánh giá của đơn vị đã được gửi" in done.stdout
    [sheet] = (tmp_path / "data" / "files").glob("dvht-70-truong-thcs-kim-lien-*.xlsx")
    assert f"[{Path('data') / 'files' / sheet.name}]" in done.stdout


def test_a_household_registers_a_family_in_the_terminal_and_two_members_join(tmp_path):
    head = run_chat(tmp_path, [*SCRIPT, "/giadinh", "1", "3"])
    assert head.returncode == 0, head.stderr
    [code] = re.findall(r"Mã gia đình là (\S+)\.", head.stdout)

    def member(name: str, *then: str) -> list[str]:
        return [name, "1990", "nu", "1", "Ha Tinh", "thanh sen", "bo qua", "bo qua", "1", *then]

    best = ["1", *["1"] * 10, "1"]  # start, the best answers, submit: the title reached
    joined = run_chat(
        tmp_path, member("Trần Thị Bình", *best, f"/giadinh {code}", "1"), "--user", "binh"
    )
    assert joined.returncode == 0, joined.stderr
    assert "100/100 điểm" in joined.stdout
    assert "Tham gia gia đình Nguyễn Văn Tâm (đăng ký xây dựng Gia đình học tập)?" in joined.stdout
    assert "Xong. Bạn đã tham gia gia đình Nguyễn Văn Tâm" in joined.stdout
    second = run_chat(tmp_path, member("Nguyễn Văn Chí", f"/giadinh {code}", "1"), "--user", "chi")
    assert "Xong. Bạn đã tham gia gia đình Nguyễn Văn Tâm" in second.stdout

    assessed = run_chat(tmp_path, ["/giadinh", "1", *["1"] * 9, "1"])
    assert assessed.returncode == 0, assessed.stderr
    out = assessed.stdout
    assert "Đã tham gia: 3 người (trong nhà có 3 người lớn)." in out
    assert "• Trần Thị Bình: ✅ tự đánh giá đạt điều kiện danh hiệu" in out
    assert "• Nguyễn Văn Chí: chưa tự đánh giá" in out
    assert "Câu 9/9" in out and "Đã lưu bản tự đánh giá của gia đình" in out
    # The head's and Bình's self-scores reach the title: 2 of 3 adults, the full 10.
    assert "2.1 Người lớn đạt Công dân học tập: 10/10 — 2/3 người lớn đạt danh hiệu" in out
    assert "Kết quả tự đánh giá của gia đình năm 2026:" in out

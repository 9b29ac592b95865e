"""The bot most python-telegram-bot users would write first, for comparison in
bench/telegram.py: handlers keeping each person's progress in a dict in memory, the same
registration steps and ten questions, `run_polling()` with PTB's defaults. Nothing is
durable: a restart forgets everyone.

    TELEGRAM_BOT_TOKEN=... TELEGRAM_API_BASE_URL=http://127.0.0.1:PORT \\
        python -m bench.naive_telegram_bot [--concurrent]
"""

from __future__ import annotations

import argparse
import os

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

QUESTIONS = [f"Câu {n}/10: bạn có học điều mới trong tuần này không?" for n in range(1, 11)]
ANSWERS = [("Thường xuyên", 10), ("Khá thường xuyên", 7), ("Thỉnh thoảng", 5), ("Hiếm khi", 2)]
TEXT_STEPS = {
    "name": ("birth_year", "Bạn sinh năm nào?"),
    "birth_year": ("gender", None),
    "province": ("commune", "Xã, phường của bạn?"),
    "commune": ("village", "Thôn, xóm của bạn?"),
    "village": ("phone", "Số điện thoại (hoặc gõ Bỏ qua)?"),
    "phone": ("confirm", None),
}

users: dict[int, dict] = {}  # the state everyone starts with: lost on restart


def keyboard(labels: list[str], prefix: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=f"{prefix}:{i}")]
            for i, label in enumerate(labels)
        ]
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    users[update.effective_user.id] = {"step": "name", "answers": []}
    await update.message.reply_text("Xin chào! Họ và tên của bạn là gì?")


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = users.setdefault(update.effective_user.id, {"step": "name", "answers": []})
    step = user["step"]
    if step not in TEXT_STEPS:
        await update.message.reply_text("Hãy bấm một nút.")
        return
    user[step] = update.message.text
    user["step"], question = TEXT_STEPS[step]
    if user["step"] == "gender":
        await update.message.reply_text(
            "Giới tính của bạn:", reply_markup=keyboard(["Nam", "Nữ", "Khác"], "gender")
        )
    elif user["step"] == "confirm":
        summary = "\n".join(f"{k}: {user.get(k)}" for k in ("name", "birth_year", "commune"))
        await update.message.reply_text(
            f"Xin kiểm tra lại:\n{summary}", reply_markup=keyboard(["Đúng rồi"], "confirm")
        )
    else:
        await update.message.reply_text(question)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()
    user = users.setdefault(update.effective_user.id, {"step": "name", "answers": []})
    kind, _, value = query.data.partition(":")
    if kind == "gender":
        user["step"] = "group"
        groups = ["Nông dân", "Công nhân", "Cán bộ", "Học sinh"]
        await query.message.reply_text("Nhóm của bạn?", reply_markup=keyboard(groups, "group"))
    elif kind == "group":
        user["step"] = "province"
        await query.message.reply_text("Bạn sống ở tỉnh nào?")
    elif kind == "confirm":
        user["step"] = "menu"
        await query.message.reply_text(
            "Bạn muốn làm gì tiếp?", reply_markup=keyboard(["Bắt đầu tự chấm điểm"], "menu")
        )
    elif kind in ("menu", "answer"):
        if kind == "answer":
            user["answers"].append(ANSWERS[int(value)][1])
        n = len(user["answers"])
        if n < len(QUESTIONS):
            labels = [a for a, _ in ANSWERS]
            await query.message.reply_text(QUESTIONS[n], reply_markup=keyboard(labels, "answer"))
        else:
            await query.message.reply_text(
                "Xem lại và gửi?", reply_markup=keyboard(["Gửi kết quả"], "submit")
            )
    elif kind == "submit":
        total = sum(user["answers"]) * 10 // len(QUESTIONS)
        verdict = "đạt" if total >= 80 and min(user["answers"]) >= 5 else "chưa đạt"
        await query.message.reply_text(f"Kết quả tự đánh giá: {total}/100 điểm, {verdict}.")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--concurrent", action="store_true", help="concurrent_updates(True) instead of one by one"
    )
    args = parser.parse_args()
    base = os.environ["TELEGRAM_API_BASE_URL"]
    builder = Application.builder().token(os.environ["TELEGRAM_BOT_TOKEN"])
    builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    if args.concurrent:
        builder = builder.concurrent_updates(True)
    app = builder.build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, text))
    app.add_handler(CallbackQueryHandler(button))
    app.run_polling()


if __name__ == "__main__":
    main()

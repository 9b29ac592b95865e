"""Telegram: updates in (long polling or webhook), Bot API calls out, through
python-telegram-bot. A thin adapter over the dispatcher:

- `channel`: the channel itself (receiving, sending, the lifecycle);
- `pacing`: keeping new messages within Telegram's limits, and waiting when it asks;
- `render`: replies as Telegram messages and keyboards, buttons' data back to options;
- `http`: the Bot API requests on aiohttp.
"""

from __future__ import annotations

import os

# PTB 22 reports RetryAfter.retry_after as seconds with a deprecation warning, or as a
# timedelta with this opt-in (the future default); pacing.retry_after_seconds reads both.
# Set before python-telegram-bot is first imported, by any module of this package.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from bot.channels.telegram.channel import CHANNEL, TelegramChannel

__all__ = ["CHANNEL", "TelegramChannel"]

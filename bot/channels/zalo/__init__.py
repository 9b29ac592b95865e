"""Zalo Official Account: signed webhook events in, OA API v3 messages out. A thin adapter
over the dispatcher, like the Telegram channel:

- `channel`: the channel itself (the webhook, the inbox, sending, the lifecycle);
- `events`: the webhook's signature and its events as `Event`s;
- `render`: replies as OA messages (buttons, numbered lists, images, links);
- `api`: the OA API and the access tokens, refreshed by one process at a time.
"""

from __future__ import annotations

from bot.channels.zalo.channel import CHANNEL, SetupError, ZaloChannel

__all__ = ["CHANNEL", "SetupError", "ZaloChannel"]

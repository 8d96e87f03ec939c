"""`/deskpulse digest …` in Slack: set, list and switch off this channel's digests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.digest.commands import DigestCommand, DigestList, DigestOff, SetDigest
from bot.digest.schedule import describe
from bot.render.blocks import escape, message_blocks
from storage import subscriptions
from storage.db import unit_of_work
from storage.subscriptions import DigestPlan

if TYPE_CHECKING:
    from bot.slack.commands import Desk

INVITE = "deskpulse posts only where it is a member: if it is not yet, `/invite @deskpulse`."


def digest_reply(desk: Desk, command: DigestCommand, *, channel_id: str, user_id: str) -> dict[str, Any]:
    """Carry out the command and say what changed: in the channel for a change, privately for a list."""
    if isinstance(command, SetDigest):
        plan = DigestPlan(channel_id=channel_id, cadence=command.cadence, at_time=command.at_time,
                          timezone=command.timezone or desk.settings.timezone, weekday=command.weekday,
                          filters=command.filters)
        with unit_of_work(desk.sessions) as session:
            saved = subscriptions.save_digest(session, plan, created_by=user_id, now=desk.clock())
        return _message(f"<@{user_id}> set this channel's {escape(describe(saved))}. {INVITE}", public=True)
    if isinstance(command, DigestOff):
        with unit_of_work(desk.sessions) as session:
            removed = subscriptions.remove_digests(session, channel_id, command.cadence)
        which = f"{command.cadence} digest" if command.cadence else "digests"
        if not removed:
            return _message(f"This channel has no {which}.", public=False)
        return _message(f"<@{user_id}> switched off this channel's {which}.", public=True)
    assert isinstance(command, DigestList)
    with desk.sessions() as session:
        plans = subscriptions.digests(session, channel_id)
    if not plans:
        return _message("This channel has no digest yet. `/deskpulse digest daily 09:00` posts yesterday's "
                        "numbers here every morning.", public=False)
    return _message("\n".join(f"• {escape(describe(p))}" for p in plans), public=False)


def _message(text: str, *, public: bool) -> dict[str, Any]:
    return {"response_type": "in_channel" if public else "ephemeral", "blocks": message_blocks(text), "text": text}

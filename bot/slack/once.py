"""Posting that must not be doubled (digests, alerts): which of Slack's refusals a retry cannot
change, and the messages an earlier attempt may have posted, found by their message metadata
(needs channels:history / groups:history)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk import WebClient

# Slack's answers that retrying will not change: the post is given up and the reason kept
PERMANENT = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "invalid_auth",
                       "not_authed", "token_revoked", "account_inactive", "missing_scope", "msg_too_long",
                       "invalid_blocks"})


def messages(client: WebClient, channel: str, *, since: datetime | None = None,
             thread_ts: str | None = None) -> list[dict[str, Any]]:
    """A thread's messages (with `thread_ts`), else the channel's since `since`, with their metadata."""
    if thread_ts is not None:
        answer = client.conversations_replies(channel=channel, ts=thread_ts, limit=200, include_all_metadata=True)
    else:
        oldest = f"{since.timestamp():.6f}" if since is not None else "0"
        answer = client.conversations_history(channel=channel, oldest=oldest, limit=200, include_all_metadata=True)
    return list(answer.get("messages") or [])


def payload_of(message: dict[str, Any], event_type: str) -> dict[str, Any] | None:
    """The metadata payload deskpulse gave a message of `event_type`, else None."""
    metadata = message.get("metadata") or {}
    return metadata.get("event_payload") or {} if metadata.get("event_type") == event_type else None

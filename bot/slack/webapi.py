"""The one place deskpulse talks to Slack's Web API and to response URLs.

Every client retries on rate limits (429, waiting as long as Retry-After says), on Slack's
5xx answers and on dropped connections; errors an admin can fix become a sentence saying how.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.webhook import WebhookClient

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10


def retry_handlers() -> list[RetryHandler]:
    return [RateLimitErrorRetryHandler(max_retry_count=3), ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2)]


def web_client(token: str, base_url: str) -> WebClient:
    return WebClient(token=token, base_url=base_url, timeout=TIMEOUT_SECONDS, retry_handlers=retry_handlers())


def posting_client(token: str, base_url: str) -> WebClient:
    """For posts that must not be doubled (digests): a 429 means Slack did nothing, so it is
    retried; after a 5xx or a dropped connection the message may exist, so the caller looks
    for it before posting again (bot/digest/post.py)."""
    return WebClient(token=token, base_url=base_url, timeout=TIMEOUT_SECONDS,
                     retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)])


def respond(response_url: str, message: dict[str, Any]) -> None:
    """Post to a slash command's or a button's response URL; raises SlackProblem if Slack refuses."""
    answer = WebhookClient(url=response_url, timeout=TIMEOUT_SECONDS, retry_handlers=retry_handlers()).send_dict(
        message)
    if answer.status_code != 200:
        raise SlackProblem(answer.body or f"http_{answer.status_code}")


class SlackProblem(Exception):
    """Slack refused a call; `sentence` says what an admin can do about it."""

    def __init__(self, code: str, needed: str | None = None) -> None:
        self.code, self.needed = code, needed
        super().__init__(code)

    @property
    def sentence(self) -> str:
        return explain(self.code, self.needed)

    @classmethod
    def from_error(cls, error: SlackApiError) -> SlackProblem:
        body = error.response.data if isinstance(error.response.data, dict) else {}
        return cls(str(body.get("error") or error.response.status_code), body.get("needed"))


_SENTENCES = {
    "not_in_channel": "deskpulse is not a member of this channel. Invite it with `/invite @deskpulse` and try again.",
    "channel_not_found": "deskpulse cannot see this channel. If it is private or a direct message, "
                         "invite deskpulse with `/invite @deskpulse` first.",
    "is_archived": "This channel is archived, so deskpulse cannot post in it.",
    "restricted_action": "A workspace setting stops deskpulse from posting here; ask a Slack admin.",
    "invalid_auth": "Slack does not accept SLACK_BOT_TOKEN. Copy the Bot User OAuth Token again from the app's "
                    "OAuth & Permissions page.",
    "not_authed": "SLACK_BOT_TOKEN is not set.",
    "token_revoked": "The app's token was revoked. Reinstall the app and set the new SLACK_BOT_TOKEN.",
    "account_inactive": "The app's token belongs to a deactivated account. Reinstall the app.",
    "no_such_subteam": "A user group in DESKPULSE_AGENT_METRICS_USERGROUPS does not exist; use the group's id "
                       "(S…), shown in its profile's menu under Copy group ID.",
    "ratelimited": "Slack is rate-limiting deskpulse right now. Try again in a minute.",
    "expired_url": "This answer is more than 30 minutes old; ask again.",
    "used_url": "This answer cannot be changed any more; ask again.",
}


def explain(code: str, needed: str | None = None) -> str:
    if code == "missing_scope":
        scope = f" `{needed}`" if needed else ""
        return (f"The Slack app lacks the scope{scope}. Add it under OAuth & Permissions (or recreate the app "
                "from slack-app-manifest.json) and reinstall it.")
    return _SENTENCES.get(code, f"Slack answered `{code}`.")

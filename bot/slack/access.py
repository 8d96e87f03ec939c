"""Who may see numbers per agent: agent performance is sensitive, so it is answered only in the
channels and to the members of the user groups an admin listed (DESKPULSE_AGENT_METRICS_*)."""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.webapi import SlackProblem
from metrics.catalog import MetricQuery
from metrics.dimensions import Dimension

MEMBERS_TTL_SECONDS = 300  # a new member of a group waits at most this long


def per_agent(query: MetricQuery) -> bool:
    """The answer shows or selects individual agents' numbers."""
    return (query.metric.name == "agents" or query.group_by is Dimension.AGENT
            or any(f.dimension is Dimension.AGENT for f in query.filters))


class AgentAccess:
    def __init__(self, channels: frozenset[str], usergroups: frozenset[str]) -> None:
        self.channels, self.usergroups = channels, usergroups
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def channel_allowed(self, channel_id: str) -> bool:
        return channel_id in self.channels

    def allowed(self, client: WebClient, *, channel_id: str, user_id: str) -> bool:
        """In a listed channel, or a member of a listed user group (needs the usergroups:read scope)."""
        return self.channel_allowed(channel_id) or any(user_id in self._group(client, g) for g in self.usergroups)

    def _group(self, client: WebClient, usergroup: str) -> frozenset[str]:
        with self._lock:
            cached = self._members.get(usergroup)
        if cached is not None and time.monotonic() - cached[0] < MEMBERS_TTL_SECONDS:
            return cached[1]
        try:
            members = frozenset(client.usergroups_users_list(usergroup=usergroup).get("users") or ())
        except SlackApiError as error:  # a wrong id or a missing scope: nobody gets in through it
            problem = SlackProblem.from_error(error)
            logging.getLogger(__name__).warning("user group %s: %s", usergroup, problem.sentence)
            return frozenset()  # not remembered: the admin may be fixing it right now
        with self._lock:
            self._members[usergroup] = (time.monotonic(), members)
        return members

    def refusal(self) -> str:
        where = "no channel or user group yet" if not (self.channels or self.usergroups) else \
            "other channels and user groups"
        return ("Numbers per agent are private to the channels and user groups an admin chose, and this is "
                f"not one of them (deskpulse allows {where}). An admin can add this channel to "
                "DESKPULSE_AGENT_METRICS_CHANNELS or your group to DESKPULSE_AGENT_METRICS_USERGROUPS.")

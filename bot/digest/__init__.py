"""Morning digests: subscriptions from Slack, the schedule, the figures, posting each once."""

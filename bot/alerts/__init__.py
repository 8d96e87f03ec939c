"""Anomaly alerts: subscriptions, the evaluation of signals, incidents posted once each."""

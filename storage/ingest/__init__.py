"""Webhook ingestion: strict parsing, helpdesk adapters, store-then-process pipeline."""

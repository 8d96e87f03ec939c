"""History from before the webhooks: helpdesk API objects and CSV exports as canonical events.

Pure functions only (docs/backfill.md): the HTTP client and the file reading live in
`bot.backfill`, the writes in `storage.imports`. Every event id made here starts with the
origin (`api:` for an API pull, `csv:` for an export), so an import run twice stores nothing
new, and facts from different origins can be told apart.
"""

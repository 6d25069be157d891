"""Extracts a Dagster deployment's metadata (runs, assets, schedules, sensors) over GraphQL.

Data flow: `config` -> `client` (with `retry`, `errors`) -> one module per resource
(`runs`, `assets`, `schedules`, `sensors`, `repositories`) built on `documents` and
`transforms` -> `sync` (concurrency, bounded `channel`) -> `connector.py` (upserts, checkpoints).
"""

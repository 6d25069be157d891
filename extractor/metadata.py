"""Dagster metadata entries (`[MetadataEntry]`, an interface of 20 types) as one JSON object.

`METADATA_FIELDS` selects each type's value; `metadata_object` turns the entries into
`{label: value}`: numbers, text, booleans and links as themselves, JSON parsed, an asset as its
key string, a table schema as its columns; richer types (tables, lineage, code references)
as their type name only, to keep rows small.
"""

from __future__ import annotations

import json
from typing import Any

METADATA_FIELDS = """
  metadataEntries {
    __typename label
    ... on TextMetadataEntry { text }
    ... on UrlMetadataEntry { url }
    ... on PathMetadataEntry { path }
    ... on NotebookMetadataEntry { path }
    ... on JsonMetadataEntry { jsonString }
    ... on MarkdownMetadataEntry { mdStr }
    ... on PythonArtifactMetadataEntry { module name }
    ... on FloatMetadataEntry { floatValue floatRepr }
    ... on IntMetadataEntry { intValue intRepr }
    ... on BoolMetadataEntry { boolValue }
    ... on PipelineRunMetadataEntry { runId }
    ... on AssetMetadataEntry { assetKey { path } }
    ... on JobMetadataEntry { jobName repositoryName locationName }
    ... on TimestampMetadataEntry { timestamp }
    ... on PoolMetadataEntry { pool }
    ... on TableSchemaMetadataEntry { schema { columns { name type } } }
  }"""


def metadata_value(entry: dict[str, Any]) -> Any:
    kind = entry.get("__typename", "")
    if kind == "JsonMetadataEntry":
        try:
            return json.loads(entry.get("jsonString") or "null")
        except ValueError:
            return entry.get("jsonString")
    if kind == "IntMetadataEntry":  # intValue is null beyond 32 bits; intRepr holds it
        return entry["intValue"] if entry.get("intValue") is not None else _int(entry.get("intRepr"))
    if kind == "FloatMetadataEntry":  # NaN and infinities are null in floatValue
        return entry["floatValue"] if entry.get("floatValue") is not None else entry.get("floatRepr")
    if kind == "AssetMetadataEntry":
        return "/".join(entry["assetKey"]["path"])
    if kind == "PythonArtifactMetadataEntry":
        return f"{entry.get('module')}.{entry.get('name')}"
    if kind == "JobMetadataEntry":
        return {k: entry.get(k) for k in ("jobName", "repositoryName", "locationName")}
    if kind == "TableSchemaMetadataEntry":
        return {"columns": (entry.get("schema") or {}).get("columns") or []}
    if kind == "NullMetadataEntry":
        return None
    values = [v for k, v in entry.items() if k not in ("__typename", "label")]
    if len(values) == 1:
        return values[0]
    return {"type": kind.removesuffix("MetadataEntry")}


def metadata_object(entries: list[dict[str, Any]] | None) -> dict[str, Any]:
    """`{label: value}` for a list of metadata entries."""
    return {entry.get("label") or "": metadata_value(entry) for entry in entries or ()}


def _int(text: str | None) -> int | str | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return text

"""Paging strategy: one root field per repository, many repositories per request.

Dagster lists jobs, schedules and sensors (and their latest ticks) per repository. A deployment
with many code locations would pay one request per repository for each listing; asked under
aliases (`r0`, `r1`, ...), `REPOSITORIES_PER_REQUEST` repositories share one request.

One repository's failure fails only that repository: an `...OrError` answer of an error is
that alias's alone; a resolver that raises fails the whole answer, and then each repository of
the request is asked alone, so that the others still land. A query that this server's schema
refuses (an older Dagster) is replaced by its next variant, once for the sync.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from extractor.client import DagsterClient, Operation, unwrap
from extractor.errors import DagsterConnectorError, GraphQLError, ResultError, ServerFailure
from extractor.workspace import Repository

REPOSITORIES_PER_REQUEST = 10
# The failures that are one repository's answer, not the server's state: asked alone again.
_ANSWER_FAILURES = (GraphQLError, ServerFailure, ResultError)


@dataclass(frozen=True)
class RepositoryQuery:
    """A root field that takes `repositorySelector`, asked for each repository.

    `selection` is the field's selection set (without braces); `variables` declares the
    variables it uses besides the selector (name -> GraphQL type). `fallback_when` names a
    field that, when a resolver's failure mentions it, means "use the next variant".
    """

    name: str
    root: str
    typename: str
    selection: str
    variables: dict[str, str] = field(default_factory=dict)
    fallback_when: str | None = None

    def operation(self, count: int) -> Operation:
        declared = [f"$r{i}: RepositorySelector!" for i in range(count)]
        declared += [f"${name}: {kind}" for name, kind in self.variables.items()]
        fields = "\n".join(
            f"  r{i}: {self.root}(repositorySelector: $r{i}) {{ {self.selection} }}" for i in range(count)
        )
        return Operation(self.name, f"query {self.name}({', '.join(declared)}) {{\n{fields}\n}}")

    def calls_for_next(self, error: DagsterConnectorError) -> bool:
        """Whether `error` means this server can't answer this variant (an older schema)."""
        if isinstance(error, GraphQLError) and error.is_schema_mismatch:
            return True
        return self.fallback_when is not None and isinstance(error, (GraphQLError, ServerFailure)) and (
            self.fallback_when in str(error)
        )


async def fetch_by_repository(
    client: DagsterClient,
    variants: Sequence[RepositoryQuery],
    repositories: Sequence[Repository],
    variables: dict[str, Any] | None = None,
) -> dict[Repository, dict[str, Any] | DagsterConnectorError]:
    """Each repository's answer (the `typename` object), or the error that stands for it
    (a request whose retries were spent stands for each of its repositories)."""
    found: dict[Repository, dict[str, Any] | DagsterConnectorError] = {}

    async def ask(chunk: Sequence[Repository]) -> None:
        try:
            data, query = await _execute(client, variants, chunk, variables or {})
        except DagsterConnectorError as error:
            if isinstance(error, _ANSWER_FAILURES) and len(chunk) > 1:
                await asyncio.gather(*(ask([repository]) for repository in chunk))
            else:  # retries spent, or this repository's own failure
                found.update((repository, error) for repository in chunk)
            return
        for index, repository in enumerate(chunk):
            try:
                found[repository] = unwrap(query.name, data.get(f"r{index}"), query.typename)
            except DagsterConnectorError as error:  # an error type, or a PythonError
                found[repository] = error

    chunks = [
        repositories[start : start + REPOSITORIES_PER_REQUEST]
        for start in range(0, len(repositories), REPOSITORIES_PER_REQUEST)
    ]
    await asyncio.gather(*(ask(chunk) for chunk in chunks))
    return {repository: found[repository] for repository in repositories}


async def _execute(
    client: DagsterClient,
    variants: Sequence[RepositoryQuery],
    chunk: Sequence[Repository],
    variables: dict[str, Any],
) -> tuple[dict[str, Any], RepositoryQuery]:
    """Runs the first variant this server supports; returns its data and the variant."""
    selectors = {f"r{index}": repository.selector for index, repository in enumerate(chunk)}
    for query, fallback in zip(variants, [*variants[1:], None]):
        if fallback is not None and query.name in client.unsupported_operations:
            continue
        try:
            return await client.execute(query.operation(len(chunk)), {**selectors, **variables}), query
        except (GraphQLError, ServerFailure) as error:
            if fallback is None or not query.calls_for_next(error):
                raise
            client.mark_unsupported(query.operation(1), error, fallback.name)
    raise AssertionError("unreachable: the last variant returns or raises")

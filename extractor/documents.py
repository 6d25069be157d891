"""The GraphQL operations the shared machinery sends (each table module holds its own),
checked against dagster-graphql 1.13 and 1.11.

Every `...OrError` union asks for `__typename` and `... on Error { message }` so that
`client.unwrap` can tell a result from an error. Every paged query sends a `limit`.
"""

from extractor.client import Operation

_RUN_FIELDS = (
    "runId pipelineName status mode creationTime startTime endTime updateTime tags { key value } "
    "repositoryOrigin { repositoryLocationName repositoryName } rootRunId parentRunId"
)

# The first request of a sync: is this a Dagster at all, which version, which run statuses.
SERVER_INFO = Operation(
    "ConnectorServerInfo",
    """
query ConnectorServerInfo {
  version
  runStatuses: __type(name: "RunStatus") { enumValues { name } }
}""",
)

SERVER_VERSION = Operation("ConnectorServerVersion", "query ConnectorServerVersion { version }")

RUNS_PAGE = Operation(
    "ConnectorRunsPage",
    f"""
query ConnectorRunsPage($filter: RunsFilter, $cursor: String, $limit: Int) {{
  runsOrError(filter: $filter, cursor: $cursor, limit: $limit) {{
    __typename
    ... on Runs {{ results {{ {_RUN_FIELDS} }} }}
    ... on Error {{ message }}
  }}
}}""",
)

RUNS_COUNT = Operation(
    "ConnectorRunsCount",
    """
query ConnectorRunsCount($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    __typename
    ... on Runs { count }
    ... on Error { message }
  }
}""",
)

RUN_EXISTS = Operation(
    "ConnectorRunExists",
    """
query ConnectorRunExists($filter: RunsFilter) {
  runsOrError(filter: $filter, limit: 1) {
    __typename
    ... on Runs { results { runId } }
    ... on Error { message }
  }
}""",
)

# Every code location of the workspace, including those that failed to load.
WORKSPACE = Operation(
    "ConnectorWorkspace",
    """
query ConnectorWorkspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        updatedTimestamp
        versionKey
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { name } dagsterLibraryVersions { name version } }
          ... on PythonError { message causes { message } }
        }
      }
    }
    ... on Error { message }
  }
}""",
)

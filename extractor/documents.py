"""The GraphQL operations the connector sends, checked against dagster-graphql 1.13 and 1.11.

Every `...OrError` union asks for `__typename` and `... on Error { message }` so that
`client.unwrap` can tell a result from an error. Every paged query sends a `limit`.
"""

from extractor.client import Operation

_RUN_FIELDS = (
    "runId pipelineName status mode creationTime startTime endTime updateTime tags { key value }"
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
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { name } }
          ... on PythonError { message causes { message } }
        }
      }
    }
    ... on Error { message }
  }
}""",
)

SCHEDULES = Operation(
    "ConnectorSchedules",
    """
query ConnectorSchedules($repositorySelector: RepositorySelector!) {
  schedulesOrError(repositorySelector: $repositorySelector) {
    __typename
    ... on Schedules {
      results {
        name cronSchedule pipelineName
        scheduleState { selectorId status runningCount }
      }
    }
    ... on Error { message }
  }
}""",
)

_SENSORS = """
query {name}($repositorySelector: RepositorySelector!) {{
  sensorsOrError(repositorySelector: $repositorySelector) {{
    __typename
    ... on Sensors {{
      results {{ name {sensor_type} targets {{ pipelineName }} sensorState {{ selectorId status }} }}
    }}
    ... on Error {{ message }}
  }}
}}"""

SENSORS = Operation(
    "ConnectorSensors", _SENSORS.format(name="ConnectorSensors", sensor_type="sensorType")
)

# For servers older than `Sensor.sensorType`: `sensor_type` stays empty.
SENSORS_WITHOUT_TYPE = Operation(
    "ConnectorSensorsUntyped", _SENSORS.format(name="ConnectorSensorsUntyped", sensor_type="")
)

# The workspace's assets, one per key, paged by key, with their latest materialization (Dagster
# batches `Asset.assetMaterializations` over a page: 3,000 assets with events in 2.2 s, where
# `assetsLatestInfo` took 15 s). The listing also holds keys that only have events (no
# definition): those are not assets of the workspace and are left out.
ASSETS_PAGE = Operation(
    "ConnectorAssetsPage",
    """
query ConnectorAssetsPage($cursor: String, $limit: Int) {
  assetsOrError(cursor: $cursor, limit: $limit) {
    __typename
    ... on AssetConnection {
      nodes {
        key { path }
        definition { isAutoCreatedStub description repository { name location { name } } }
        assetMaterializations(limit: 1) { runId timestamp }
      }
      cursor
    }
    ... on Error { message }
  }
}""",
)

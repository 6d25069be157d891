"""The GraphQL operations the connector sends, checked against dagster-graphql 1.13.

Every `...OrError` union asks for `__typename` and `... on Error { message }` so that
`client.unwrap` can tell a result from an error.
"""

from extractor.client import Operation

_RUN_FIELDS = "runId pipelineName status mode startTime endTime updateTime tags { key value }"

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

REPOSITORIES = Operation(
    "ConnectorRepositories",
    """
query ConnectorRepositories {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes { name location { name } } }
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
      results { id name cronSchedule pipelineName scheduleState { status runningCount } }
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
      results {{ id name {sensor_type} targets {{ pipelineName }} sensorState {{ status }} }}
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

_ASSET_NODE_FIELDS = (
    "id assetKey { path } description assetMaterializations(limit: 1) { runId timestamp }"
)

ASSET_NODES_PAGE = Operation(
    "ConnectorAssetNodesPage",
    f"""
query ConnectorAssetNodesPage($repositorySelector: RepositorySelector!, $cursor: String, $limit: Int!) {{
  repositoryOrError(repositorySelector: $repositorySelector) {{
    __typename
    ... on Repository {{
      assetNodesConnection(cursor: $cursor, limit: $limit) {{
        nodes {{ {_ASSET_NODE_FIELDS} }}
        cursor
        hasMore
      }}
    }}
    ... on Error {{ message }}
  }}
}}""",
)

# For servers older than `Repository.assetNodesConnection`: the repository's nodes in one answer.
ASSET_NODES_ALL = Operation(
    "ConnectorAssetNodes",
    f"""
query ConnectorAssetNodes($repositorySelector: RepositorySelector!) {{
  repositoryOrError(repositorySelector: $repositorySelector) {{
    __typename
    ... on Repository {{ assetNodes {{ {_ASSET_NODE_FIELDS} }} }}
    ... on Error {{ message }}
  }}
}}""",
)

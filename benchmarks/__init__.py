"""Performance benchmark of the connector and the simulated Dagster server it runs against."""

"""The benchmark script itself, end to end at a small size: each scenario syncs through
`fivetran debug`, every repeat with its own configuration, and the step bound writes the same
step rows as the connector."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks import run_benchmark


def test_every_repeat_of_the_connector_and_both_bounds_syncs_the_same_rows(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    code = run_benchmark.main([
        "--runs", "3000", "--latency-ms", "0", "--repeat", "2", "--verify", "count",
        "--scenarios", "connector,destination_only,destination_steps",
        "--workdir", str(tmp_path / "work"), "--output", str(output),
    ])  # fmt: skip
    results = json.loads(output.read_text())
    assert code == 0, results["failures"]
    runs = [m for m in results["measurements"] if m["scenario"] == "connector"]
    assert [m["ok"] for m in runs] == [True, True]
    summary = results["summary"]
    assert summary["destination_only"]["syncs_ok"] == summary["destination_steps"]["syncs_ok"] == 2
    steps, bound = summary["connector"]["run_steps_rows_median"], summary["destination_steps"]["run_steps_rows_median"]
    # The connector's window starts at the server's clock when it syncs, the bound's at the
    # model's start: a run at the window's edge may fall on either side.
    assert steps > 0 and abs(steps - bound) <= 0.02 * steps
    assert summary["destination_only"]["run_steps_rows_median"] == 0

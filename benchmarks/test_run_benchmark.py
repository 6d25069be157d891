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
    assert all(value is not None for value in summary["connector"]["rss_excess_over_destination_steps_by_progress"])


def test_running_peaks_are_taken_at_fractions_of_the_sync() -> None:
    timeline = [100.0, 150.0, 120.0, 200.0, 180.0, 170.0, 300.0, 250.0]
    assert run_benchmark.running_peaks(timeline) == [150.0, 200.0, 200.0, 300.0]
    assert run_benchmark.running_peaks([]) == [None, None, None, None]


def test_the_excess_by_progress_compares_medians_at_each_point() -> None:
    def sync(scenario: str, timeline: list[float], ok: bool = True) -> run_benchmark.Measurement:
        return run_benchmark.Measurement(scenario, 1, ok, 1.0, max(timeline), max(timeline), rss_timeline_mb=timeline)

    connector = [sync("connector", [110, 120, 130, 140]), sync("connector", [130, 140, 150, 160]),
                 sync("connector", [900, 900, 900, 900], ok=False)]  # fmt: skip
    bound = [sync("destination_only", [100, 100, 100, 100])]
    assert run_benchmark.excess_by_progress(connector, bound) == [20.0, 30.0, 40.0, 50.0]


def test_the_code_digest_covers_every_module_of_the_extractor(tmp_path: Path) -> None:
    (tmp_path / "extractor" / "tables").mkdir(parents=True)
    (tmp_path / "connector.py").write_text("connector")
    (tmp_path / "extractor" / "sync.py").write_text("sync")
    table = tmp_path / "extractor" / "tables" / "ticks.py"
    table.write_text("ticks")
    before = run_benchmark._files_digest(tmp_path)
    table.write_text("ticks, changed")
    assert run_benchmark._files_digest(tmp_path) != before

"""The saved sync state (version 2): round trip, foreign and older states, other deployments."""

import dataclasses

import pytest

from extractor.errors import StateError
from extractor.state import STATE_VERSION, RunSync, RunsState, RunWalk, SyncState

DEPLOYMENT = "127.0.0.1:3000/graphql"


def run_sync(**fields) -> RunSync:
    """A RunSync with every field set (`started_at` where this version of the state has it)."""
    if "started_at" in {f.name for f in dataclasses.fields(RunSync)}:
        fields.setdefault("started_at", 99.0)
    return RunSync(**fields)


def full_state() -> SyncState:
    walks = [
        RunWalk(created_before=50.0, cursor="abc", cursor_created=40.0),
        RunWalk(created_after=10.0, updated_after=5.0, stop_created_below=1.0),
    ]
    runs = RunsState(
        updated_until=100.0,
        created_until=90.0,
        unfinished={"r1": 80.0, "r2": 85.5},
        unfinished_overflow_since=70.0,
        sync=run_sync(
            first=False, walks=walks, rows_done=40, changed_after=95.0, updated_until=101.0, created_until=91.0
        ),
    )
    snapshots = {"dagster_assets": {"loc_a": {"a/b": "1f2e3d4c", "a/c": ""}}, "dagster_schedules": {"loc_b": {"f00": "00ff00ff"}}}
    return SyncState(DEPLOYMENT, runs, snapshots)


def test_an_older_connectors_snapshot_keys_are_read_without_digests():
    """Its rows are all sent again once (no digest matches), then only what changes."""
    raw = full_state().to_dict()
    raw["snapshots"] = {"dagster_assets": {"loc_a": ["a/b", "a/c"]}}
    restored, warning = SyncState.from_dict(raw, DEPLOYMENT)
    assert warning is None and restored.snapshots == {"dagster_assets": {"loc_a": {"a/b": "", "a/c": ""}}}


def test_a_v2_state_round_trips():
    state = full_state()
    raw = state.to_dict()
    assert raw["version"] == STATE_VERSION == 2 and raw["deployment"] == DEPLOYMENT
    restored, warning = SyncState.from_dict(raw, DEPLOYMENT)
    assert restored == state and warning is None


def test_the_saved_form_is_plain_json():
    import json

    raw = full_state().to_dict()
    assert json.loads(json.dumps(raw)) == raw


def test_an_empty_state_starts_a_first_sync_silently():
    for raw in ({}, None):
        state, warning = SyncState.from_dict(raw, DEPLOYMENT)
        assert state == SyncState(deployment=DEPLOYMENT) and warning is None
        assert not state.runs.synced_before


def test_a_version_1_state_starts_a_full_re_sync_with_a_warning():
    v1 = {"version": 1, "runs_synced_until": 1718000000.0, "run_sync": None}
    state, warning = SyncState.from_dict(v1, DEPLOYMENT)
    assert state == SyncState(deployment=DEPLOYMENT)
    assert "older version" in warning and "full re-sync" in warning


@pytest.mark.parametrize("raw", [{"last_run_id": "abc"}, ["not", "a", "dict"], {"version": "2"}])
def test_a_foreign_state_starts_a_full_re_sync_with_a_warning(raw):
    state, warning = SyncState.from_dict(raw, DEPLOYMENT)
    assert state == SyncState(deployment=DEPLOYMENT)
    assert "not this connector's" in warning and "full re-sync" in warning


def test_another_deployments_state_restarts_runs_keeps_snapshots_and_names_both():
    other = full_state()
    other.deployment = "old-dagster.example.com/graphql"
    state, warning = SyncState.from_dict(other.to_dict(), DEPLOYMENT)
    assert state.deployment == DEPLOYMENT
    assert state.runs == RunsState()
    assert state.snapshots == other.snapshots  # so that the other deployment's definitions get deleted
    assert "old-dagster.example.com/graphql" in warning and DEPLOYMENT in warning


@pytest.mark.parametrize(
    "raw",
    [
        {"version": 2, "deployment": DEPLOYMENT},  # no runs
        {"version": 2, "deployment": DEPLOYMENT, "runs": {"updated_until": "yesterday"}},
        {"version": 2, "deployment": DEPLOYMENT, "runs": {"updated_until": True}},
        {"version": 2, "deployment": DEPLOYMENT, "runs": {"unfinished": ["r1"]}},
        {"version": 2, "deployment": DEPLOYMENT, "runs": {"unfinished": {"r1": "soon"}}},
        {"version": 2, "deployment": DEPLOYMENT, "runs": {"sync": {"walks": [{"cursor": "x"}]}}},
        {"version": 2, "deployment": DEPLOYMENT, "runs": {"sync": {"first": True, "walks": [{"cursor": 7}]}}},
        {"version": 2, "deployment": DEPLOYMENT, "runs": {"sync": {"first": True, "walks": [{"created_after": "x"}]}}},
        {"version": 2, "deployment": DEPLOYMENT, "runs": {}, "snapshots": {"dagster_assets": ["a"]}},
        {"version": 3},
    ],
)
def test_a_malformed_state_is_rejected_with_advice(raw):
    with pytest.raises(StateError, match="reset"):
        SyncState.from_dict(raw, DEPLOYMENT)


def test_window_filters_overlap_their_lower_boundary_by_a_millisecond():
    walk = RunWalk(created_after=100.0, created_before=200.0)
    assert walk.runs_filter(("SUCCESS",)) == {"createdAfter": 99.999, "createdBefore": 200.0}


def test_the_changed_runs_filter_lists_every_status():
    walk = RunWalk(updated_after=5.0)
    assert walk.runs_filter(("QUEUED", "SUCCESS")) == {"updatedAfter": 5.0, "statuses": ["QUEUED", "SUCCESS"]}
    assert RunWalk(stop_created_below=9.0).runs_filter(("SUCCESS",)) == {}


def test_a_saved_state_does_not_change_with_the_live_one():
    """update() saves a checkpoint's state in another thread while the extractor records the
    next snapshot: the saved dict must not see it."""
    state = SyncState(deployment="x")
    state.snapshots["dagster_assets"] = {"loc": {"a": "1f2e3d4c"}}
    saved = state.to_dict()
    state.snapshots["dagster_jobs"] = {"loc": {"loc:repo:job": "00ff00ff"}}
    assert saved["snapshots"] == {"dagster_assets": {"loc": {"a": "1f2e3d4c"}}}


def test_incremental_tables_positions_round_trip_and_checkpoints_are_copies():
    state = full_state()
    state.table("dagster_ticks")["instigators"] = {"abc": {"until": 12.5, "open": [7]}}
    saved = state.to_dict()
    state.table("dagster_ticks")["instigators"]["abc"]["open"].append(8)  # the sync goes on
    assert saved["tables"] == {"dagster_ticks": {"instigators": {"abc": {"until": 12.5, "open": [7]}}}}
    restored, warning = SyncState.from_dict(saved, DEPLOYMENT)
    assert warning is None and restored.tables == saved["tables"]


def test_malformed_table_positions_are_refused():
    raw = full_state().to_dict()
    raw["tables"] = {"dagster_ticks": [1, 2]}
    with pytest.raises(StateError, match="malformed"):
        SyncState.from_dict(raw, DEPLOYMENT)

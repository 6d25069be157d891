import pytest

from extractor.errors import StateError
from extractor.runs import next_walk
from extractor.state import RunWalk, SyncState


def test_round_trip_keeps_the_walk_position():
    state = SyncState(runs_synced_until=100.0, run_walk=RunWalk(200.0, 95.0, "abc", 40))
    restored, warning = SyncState.from_dict(state.to_dict())
    assert restored == state and warning is None


def test_empty_state_starts_a_full_walk():
    state, warning = SyncState.from_dict({})
    walk = next_walk(state, lookback_seconds=300, now=1000.0)
    assert walk == RunWalk(window_end=1000.0, updated_after=None, cursor=None)
    assert walk.runs_filter() == {} and warning is None


def test_incremental_walk_starts_a_lookback_before_the_watermark():
    walk = next_walk(SyncState(runs_synced_until=5000.0), lookback_seconds=300, now=9000.0)
    assert walk.runs_filter() == {"updatedAfter": 4700.0}
    assert walk.window_end == 9000.0


def test_an_interrupted_walk_is_resumed_not_restarted():
    interrupted = RunWalk(window_end=10.0, updated_after=None, cursor="run-9", rows_done=9)
    walk = next_walk(SyncState(run_walk=interrupted), lookback_seconds=300, now=99.0)
    assert walk is interrupted


def test_foreign_state_starts_a_full_resync_with_a_warning():
    state, warning = SyncState.from_dict({"last_run_id": "abc"})
    assert state == SyncState()
    assert "full re-sync" in warning


@pytest.mark.parametrize(
    "raw",
    [
        {"version": 1, "runs_synced_until": "yesterday"},
        {"version": 1, "run_walk": {"cursor": "x"}},
        {"version": 1, "run_walk": {"window_end": 1.0, "cursor": 7}},
        {"version": 1, "runs_synced_until": True},
        {"version": 99},
    ],
)
def test_malformed_state_is_rejected_with_advice(raw):
    with pytest.raises(StateError, match="reset"):
        SyncState.from_dict(raw)

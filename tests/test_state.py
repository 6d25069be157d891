import pytest

from extractor.errors import StateError
from extractor.runs import next_run_sync
from extractor.state import RunSync, RunWalk, SyncState


def test_round_trip_keeps_every_walk_position():
    walks = [RunWalk(None, 50.0, "abc"), RunWalk(10.0, None, None)]
    state = SyncState(runs_synced_until=100.0, run_sync=RunSync(200.0, 95.0, 40, walks))
    restored, warning = SyncState.from_dict(state.to_dict())
    assert restored == state and warning is None


def test_empty_state_starts_a_full_sync_with_one_unbounded_walk():
    state, warning = SyncState.from_dict({})
    run_sync = next_run_sync(state, lookback_seconds=300, now=1000.0)
    assert run_sync == RunSync(window_end=1000.0, updated_after=None, walks=[RunWalk()])
    assert run_sync.walks[0].runs_filter(run_sync.updated_after) == {} and warning is None


def test_incremental_sync_starts_a_lookback_before_the_watermark():
    run_sync = next_run_sync(SyncState(runs_synced_until=5000.0), lookback_seconds=300, now=9000.0)
    assert run_sync.walks[0].runs_filter(run_sync.updated_after) == {"updatedAfter": 4700.0}
    assert run_sync.window_end == 9000.0


def test_window_filters_overlap_their_lower_boundary_by_a_millisecond():
    walk = RunWalk(created_after=100.0, created_before=200.0)
    assert walk.runs_filter(None) == {"createdAfter": 99.999, "createdBefore": 200.0}


def test_an_interrupted_sync_is_resumed_not_restarted():
    interrupted = RunSync(window_end=10.0, walks=[RunWalk(cursor="run-9")], rows_done=9)
    run_sync = next_run_sync(SyncState(run_sync=interrupted), lookback_seconds=300, now=99.0)
    assert run_sync is interrupted


@pytest.mark.parametrize("raw", [{"last_run_id": "abc"}, ["not", "a", "dict"]])
def test_foreign_state_starts_a_full_resync_with_a_warning(raw):
    state, warning = SyncState.from_dict(raw)
    assert state == SyncState()
    assert "full re-sync" in warning


@pytest.mark.parametrize(
    "raw",
    [
        {"version": 1, "runs_synced_until": "yesterday"},
        {"version": 1, "run_sync": {"walks": [{"cursor": "x"}]}},
        {"version": 1, "run_sync": {"window_end": 1.0, "walks": [{"cursor": 7}]}},
        {"version": 1, "run_sync": {"window_end": 1.0, "walks": []}},
        {"version": 1, "runs_synced_until": True},
        {"version": 99},
    ],
)
def test_malformed_state_is_rejected_with_advice(raw):
    with pytest.raises(StateError, match="reset"):
        SyncState.from_dict(raw)

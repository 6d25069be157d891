"""snapshot.reconcile: what a sync deletes from the snapshot tables, and what it keeps."""

from extractor.snapshot import SnapshotListing, reconcile


def listing(complete: set[str], **found: list[str]) -> SnapshotListing:
    result = SnapshotListing(complete=set(complete))
    for location, keys in found.items():
        for key in keys:
            result.add(location, key)
    return result


def test_a_key_gone_from_a_complete_location_is_deleted():
    previous = {"a": ["k1", "k2", "k3"]}
    deleted, snapshot = reconcile(previous, listing({"a"}, a=["k1", "k3", "k4"]), frozenset({"a"}))
    assert deleted == ["k2"]
    assert snapshot == {"a": ["k1", "k3", "k4"]}


def test_a_location_that_failed_or_is_loading_keeps_its_keys():
    previous = {"a": ["k1"], "failed": ["f1", "f2"], "loading": ["l1"]}
    found = listing({"a"}, a=["k1"])  # the other two are in the workspace but not listed
    deleted, snapshot = reconcile(previous, found, frozenset({"a", "failed", "loading"}))
    assert deleted == []
    assert snapshot == {"a": ["k1"], "failed": ["f1", "f2"], "loading": ["l1"]}


def test_a_partly_listed_location_keeps_its_old_keys_and_adds_the_new():
    previous = {"b": ["b1", "b2"]}
    found = listing(set(), b=["b3"])  # e.g. one of its repositories failed
    deleted, snapshot = reconcile(previous, found, frozenset({"b"}))
    assert deleted == []
    assert snapshot == {"b": ["b1", "b2", "b3"]}


def test_a_location_removed_from_the_workspace_has_all_its_keys_deleted():
    previous = {"a": ["k1"], "gone": ["g1", "g2"]}
    deleted, snapshot = reconcile(previous, listing({"a"}, a=["k1"]), frozenset({"a"}))
    assert deleted == ["g1", "g2"]
    assert snapshot == {"a": ["k1"]}


def test_a_key_that_moved_to_another_location_is_never_deleted():
    previous = {"old": ["moved", "o1"], "new": ["n1"]}
    found = listing({"old", "new"}, old=["o1"], new=["n1", "moved"])
    deleted, snapshot = reconcile(previous, found, frozenset({"old", "new"}))
    assert deleted == []
    assert snapshot == {"old": ["o1"], "new": ["moved", "n1"]}


def test_a_key_that_moved_out_of_a_removed_location_is_not_deleted():
    previous = {"gone": ["moved", "g1"]}
    found = listing({"a"}, a=["moved"])
    deleted, snapshot = reconcile(previous, found, frozenset({"a"}))
    assert deleted == ["g1"]
    assert snapshot == {"a": ["moved"]}


def test_nothing_before_nothing_deleted():
    deleted, snapshot = reconcile({}, listing({"a"}, a=["k1"]), frozenset({"a"}))
    assert deleted == [] and snapshot == {"a": ["k1"]}
    deleted, snapshot = reconcile({}, listing({"a"}), frozenset({"a"}))
    assert deleted == [] and snapshot == {}

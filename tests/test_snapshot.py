"""snapshot.reconcile: what a sync deletes from the snapshot tables, and what it keeps."""

from extractor.snapshot import SnapshotListing, reconcile, row_digest


def row(key: str) -> dict:
    return {"id": key, "name": key.upper()}


def keys(*names: str) -> dict[str, str]:
    """A location's snapshot: each key with its row's digest."""
    return {name: row_digest(row(name)) for name in names}


def listing(complete: set[str], **found: list[str]) -> SnapshotListing:
    result = SnapshotListing(complete=set(complete))
    for location, names in found.items():
        for name in names:
            result.add(location, row(name))
    return result


def test_a_key_gone_from_a_complete_location_is_deleted():
    previous = {"a": keys("k1", "k2", "k3")}
    deleted, snapshot = reconcile(previous, listing({"a"}, a=["k1", "k3", "k4"]), frozenset({"a"}))
    assert deleted == ["k2"]
    assert snapshot == {"a": keys("k1", "k3", "k4")}


def test_a_location_that_failed_or_is_loading_keeps_its_keys():
    previous = {"a": keys("k1"), "failed": keys("f1", "f2"), "loading": keys("l1")}
    found = listing({"a"}, a=["k1"])  # the other two are in the workspace but not listed
    deleted, snapshot = reconcile(previous, found, frozenset({"a", "failed", "loading"}))
    assert deleted == []
    assert snapshot == {"a": keys("k1"), "failed": keys("f1", "f2"), "loading": keys("l1")}


def test_a_partly_listed_location_keeps_its_old_keys_and_adds_the_new():
    previous = {"b": keys("b1", "b2")}
    found = listing(set(), b=["b3"])  # e.g. one of its repositories failed
    deleted, snapshot = reconcile(previous, found, frozenset({"b"}))
    assert deleted == []
    assert snapshot == {"b": keys("b1", "b2", "b3")}


def test_a_location_removed_from_the_workspace_has_all_its_keys_deleted():
    previous = {"a": keys("k1"), "gone": keys("g1", "g2")}
    deleted, snapshot = reconcile(previous, listing({"a"}, a=["k1"]), frozenset({"a"}))
    assert deleted == ["g1", "g2"]
    assert snapshot == {"a": keys("k1")}


def test_a_key_that_moved_to_another_location_is_never_deleted():
    previous = {"old": keys("moved", "o1"), "new": keys("n1")}
    found = listing({"old", "new"}, old=["o1"], new=["n1", "moved"])
    deleted, snapshot = reconcile(previous, found, frozenset({"old", "new"}))
    assert deleted == []
    assert snapshot == {"old": keys("o1"), "new": keys("moved", "n1")}


def test_a_key_that_moved_out_of_a_removed_location_is_not_deleted():
    previous = {"gone": keys("moved", "g1")}
    found = listing({"a"}, a=["moved"])
    deleted, snapshot = reconcile(previous, found, frozenset({"a"}))
    assert deleted == ["g1"]
    assert snapshot == {"a": keys("moved")}


def test_nothing_before_nothing_deleted():
    deleted, snapshot = reconcile({}, listing({"a"}, a=["k1"]), frozenset({"a"}))
    assert deleted == [] and snapshot == {"a": keys("k1")}
    deleted, snapshot = reconcile({}, listing({"a"}), frozenset({"a"}))
    assert deleted == [] and snapshot == {}


def test_only_new_or_changed_rows_are_to_be_sent():
    listed = SnapshotListing(complete={"a"}, previous={"a": keys("same", "changed")})
    assert listed.add("a", row("same")) is False
    assert listed.add("a", {"id": "changed", "name": "other"}) is True
    assert listed.add("a", row("new")) is True
    assert listed.add("b", row("same")) is True  # moved to another location: its row changed
    deleted, snapshot = reconcile(listed.previous, listed, frozenset({"a", "b"}))
    assert deleted == [] and set(snapshot["a"]) == {"same", "changed", "new"}
    assert snapshot["a"]["changed"] == row_digest({"id": "changed", "name": "other"})

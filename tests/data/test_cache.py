"""The event cache is atomic, resumable and self-healing: every read is checked against the entry's manifest,
and a cut, altered or unreadable entry is named in a warning, removed and rebuilt (or, without a source,
refused with the fix); entries written before manifests are adopted."""

from __future__ import annotations

import logging
import os
import socket

import pytest
import torch

from src.data.cache import CacheEntryError, EventCache


def _event(i: int) -> dict[str, torch.Tensor]:
    return {"x": torch.full((3, 2), float(i)), "particle_id": torch.tensor([i, -1, i])}


def _built(tmp_path, n: int = 3) -> EventCache:
    cache = EventCache(tmp_path, "toy", {"k": 1})
    cache.build(n, _event, progress=False)
    return cache


def test_cache_builds_missing_only_and_resumes(tmp_path) -> None:
    cache = EventCache(tmp_path, "toy", {"k": 1})
    calls: list[int] = []

    def make(i: int) -> dict[str, torch.Tensor]:
        calls.append(i)
        if i == 3 and len(calls) == 4:
            raise KeyboardInterrupt  # a build killed while making event 3
        return _event(i)

    with pytest.raises(KeyboardInterrupt):
        cache.build(5, make, progress=False)
    assert cache.missing(5) == [3, 4]
    assert not list(cache.dir.glob(".*tmp")), "a killed build must leave no partial file"
    cache.build(5, make, progress=False)
    assert calls == [0, 1, 2, 3, 3, 4]
    assert torch.equal(cache.load(4)["x"], _event(4)["x"])
    assert (cache.dir / "meta.json").exists()
    assert all(cache.manifest(i).is_file() for i in range(5))


def _cut(path) -> None:
    path.write_bytes(path.read_bytes()[:100])  # a partial copy


def _flip(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte altered
    path.write_bytes(bytes(data))


def _garbage_manifest(cache: EventCache, index: int) -> None:
    cache.manifest(index).write_text("not a manifest")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda c: _cut(c.path(1)), "holds 100 bytes where its manifest says"),
        (lambda c: _flip(c.path(1)), "does not match the checksum of its manifest"),
        (lambda c: _garbage_manifest(c, 1), "has a damaged manifest"),
        (lambda c: c.path(1).write_bytes(b""), "holds 0 bytes"),
    ],
    ids=["cut", "flipped", "manifest", "empty"],
)
def test_a_damaged_entry_is_named_removed_and_rebuilt(tmp_path, caplog, damage, reason: str) -> None:
    cache = _built(tmp_path)
    good = cache.path(1).read_bytes()
    damage(cache)
    rebuilt: list[int] = []
    with caplog.at_level(logging.WARNING, logger="src.data.cache"):
        event = cache.load(1, rebuild=lambda i: rebuilt.append(i) or _event(i))
    assert rebuilt == [1]
    assert torch.equal(event["x"], _event(1)["x"])
    assert str(cache.path(1)) in caplog.text and reason in caplog.text and "rebuilding it" in caplog.text
    assert cache.path(1).read_bytes() == good  # the same event, cached again with its manifest
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="src.data.cache"):
        assert torch.equal(cache.load(1)["x"], _event(1)["x"])
    assert not caplog.text


def test_an_entry_without_source_is_refused_with_the_fix(tmp_path) -> None:
    cache = _built(tmp_path)
    _cut(cache.path(2))
    with pytest.raises(CacheEntryError, match=r"event_000002\.pt: holds 100 bytes.*rerun the command"):
        cache.load(2)
    assert not cache.path(2).exists() and not cache.manifest(2).exists()
    assert cache.missing(3) == [2]


def test_entries_written_before_manifests_are_adopted_or_rebuilt(tmp_path) -> None:
    cache = _built(tmp_path)
    for i in range(3):
        cache.manifest(i).unlink()
    assert torch.equal(cache.load(0)["x"], _event(0)["x"])
    assert cache.manifest(0).is_file()  # adopted: it loaded
    cache.path(1).write_bytes(b"PK\x03\x04 not a zip")
    assert torch.equal(cache.load(1, rebuild=_event)["x"], _event(1)["x"])
    torch.save({"x": [1, 2]}, cache.path(2))  # not a dict of tensors
    assert torch.equal(cache.load(2, rebuild=_event)["x"], _event(2)["x"])


def test_a_build_removes_partial_files_of_killed_writers(tmp_path) -> None:
    cache = _built(tmp_path, n=2)
    host = socket.gethostname().replace(".", "-")
    dead = cache.dir / f".event_000002.pt.{host}.{2**22 + 12345}.abc.tmp"  # no such process
    alive = cache.dir / f".event_000003.pt.{host}.{os.getpid()}.abc.tmp"
    other = cache.dir / ".event_000004.pt.otherhost.1.abc.tmp"
    for path in (dead, alive, other):
        path.write_bytes(b"partial")
    cache.build(3, _event, progress=False)
    assert not dead.exists() and alive.exists() and other.exists()

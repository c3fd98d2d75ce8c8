"""Atomic writes leave the old file or the complete new one (never a partial one, never a stray temporary
after a failure), and only the temporaries of dead processes of this host are cleaned up."""

from __future__ import annotations

import pytest
import torch

from src.utils.files import atomic_copy, atomic_write, atomic_write_bytes, remove_stale_temporaries


def test_atomic_write_leaves_old_file_on_failure(tmp_path) -> None:
    path = tmp_path / "e.pt"
    atomic_write(path, lambda fh: torch.save({"v": torch.ones(2)}, fh))

    class Unsaveable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_write(path, lambda fh: torch.save({"v": Unsaveable()}, fh))
    assert torch.equal(torch.load(path, weights_only=True)["v"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["e.pt"]


def test_atomic_copy_and_bytes(tmp_path) -> None:
    atomic_write_bytes(tmp_path / "a" / "x.bin", b"123")
    atomic_copy(tmp_path / "a" / "x.bin", tmp_path / "y.bin")
    assert (tmp_path / "y.bin").read_bytes() == b"123"
    assert remove_stale_temporaries(tmp_path / "absent") == []

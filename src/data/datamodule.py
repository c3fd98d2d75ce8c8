"""The Lightning DataModule: split a source's events, apply the task's view, batch by concatenation.

Bad events (a :class:`src.io.errors.ReaderError` from the source: a NaN feature, an empty or oversized
event, a damaged file) stop the run with that error by default (``on_bad_event="fail"``); with
``on_bad_event="skip"`` every event of the split is read once before training, the bad ones are left out
of their split with a warning each, and their count and messages are kept in ``bad_events`` (written to
``summary.json``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import lightning as L
import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from src.data.sources import EventSource
from src.io.errors import ReaderError

log = logging.getLogger(__name__)


def view_event(source: EventSource, view: Callable, index: int) -> Data:
    """Event ``index`` of ``source`` through ``view``, tagged with its ``event_index``."""
    data = view(source.load(index))
    data.event_index = torch.tensor([index])
    return data


class EventDataset(torch.utils.data.Dataset):
    """Events ``indices`` of a source, seen through a view; optionally kept in memory after first use."""

    def __init__(
        self,
        source: EventSource,
        indices: Sequence[int],
        view: Callable,
        *,
        in_memory: bool,
        read: dict[int, Data] | None = None,
    ) -> None:
        self.source = source
        self.indices = list(indices)
        self.view = view
        self.in_memory = in_memory
        read = read or {}
        self._memo: dict[int, Data] = (
            {i: read[e] for i, e in enumerate(self.indices) if e in read} if in_memory else {}
        )

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Data:
        if i in self._memo:
            return self._memo[i]
        data = view_event(self.source, self.view, self.indices[i])
        if self.in_memory:
            self._memo[i] = data
        return data


class TiledDataset(torch.utils.data.Dataset):
    """Each event of ``events`` cut into ``tiles`` equal-count slices along one coordinate column.

    Training on tiles gives more optimiser steps for the same work; attention never crosses a tile, as it
    never crosses an event. Tiles are cut at quantiles of the event's own coordinate values.
    """

    def __init__(self, events: EventDataset, tiles: int, column: int) -> None:
        if tiles < 1:
            raise ValueError(f"dataset.train_tiles must be >= 1, got {tiles}")
        self.events, self.tiles, self.column = events, tiles, column

    def __len__(self) -> int:
        return len(self.events) * self.tiles

    def __getitem__(self, i: int) -> Data:
        data = self.events[i // self.tiles]
        value = data.coords[:, self.column]
        rank = torch.empty_like(value, dtype=torch.long)
        rank[torch.argsort(value, stable=True)] = torch.arange(len(value))
        keep = (rank * self.tiles // max(len(value), 1)) == i % self.tiles
        return data.subgraph(keep)


def split_indices(
    n: int, split: Sequence[float] | Sequence[Sequence[int]] | str, *, seed: int
) -> tuple[list[int], list[int], list[int]]:
    """Seeded split of ``range(n)`` by event into train/val/test.

    ``split`` is three fractions (summing to 1), three counts (summing to at most ``n``), ``"all"``
    (every event is a test event, for evaluation of a trained model), or three lists of event indices,
    ``[[train...], [val...], [test...]]`` (disjoint; the folds of a cross-validation).
    """
    if not isinstance(split, str) and any(isinstance(p, Sequence) and not isinstance(p, str) for p in split):
        return _explicit_split(n, split)
    if isinstance(split, str):
        if split != "all":
            raise ValueError(f"dataset.split must be 'all' or three fractions/counts, got {split!r}")
        return [], [], list(range(n))
    parts = [float(s) for s in split]
    if len(parts) != 3 or min(parts) < 0:
        raise ValueError(
            f"dataset.split needs three non-negative numbers (train, val, test), got {list(split)}"
        )
    if all(p.is_integer() for p in parts) and sum(parts) > 1:
        counts = [int(p) for p in parts]
        if sum(counts) > n:
            raise ValueError(f"dataset.split={counts} asks for {sum(counts)} events but the source has {n}")
        if sum(counts) < n:
            log.warning(
                "dataset.split=%s uses %d of the %d events: %d go unused (give counts summing to %d, or "
                "fractions such as [0.8,0.1,0.1])",
                counts,
                sum(counts),
                n,
                n - sum(counts),
                n,
            )
    else:
        if abs(sum(parts) - 1) > 1e-6:
            raise ValueError(f"dataset.split fractions must sum to 1, got {parts}")
        n_val, n_test = round(parts[1] * n), round(parts[2] * n)
        counts = [n - n_val - n_test, n_val, n_test]
    order = np.random.default_rng(seed).permutation(n).tolist()
    a, b = counts[0], counts[0] + counts[1]
    return sorted(order[:a]), sorted(order[a:b]), sorted(order[b : b + counts[2]])


def _explicit_split(n: int, split: Sequence[Sequence[int]]) -> tuple[list[int], list[int], list[int]]:
    """The train/val/test event indices given as three lists ``[[train...], [val...], [test...]]``."""
    if len(split) != 3 or not all(isinstance(p, Sequence) and not isinstance(p, str) for p in split):
        raise ValueError(f"dataset.split={list(split)}: three lists of event indices (train, val, test)")
    parts = [sorted(int(i) for i in part) for part in split]
    flat = [i for part in parts for i in part]
    if len(set(flat)) != len(flat) or any(not 0 <= i < n for i in flat):
        raise ValueError(
            f"dataset.split={parts}: event indices must be distinct and in [0, {n}) (the source has {n})"
        )
    return parts[0], parts[1], parts[2]


class EventDataModule(L.LightningDataModule):
    """Train/val/test loaders over one event source, split by event with a seed.

    ``train_tiles`` > 1 cuts every training event into that many equal-count slices along coordinate
    column ``tile_column`` (validation and test events stay whole). ``on_bad_event`` is ``"fail"`` (stop
    at the first bad event) or ``"skip"`` (leave bad events out and count them, see the module).
    """

    def __init__(
        self,
        source: EventSource,
        view: Callable,
        *,
        split: Sequence[float] | Sequence[Sequence[int]] | str,
        batch_size: int,
        split_seed: int = 0,
        num_workers: int = 0,
        in_memory: bool = True,
        progress: bool = True,
        train_tiles: int = 1,
        tile_column: int = 0,
        on_bad_event: str = "fail",
    ) -> None:
        super().__init__()
        if str(on_bad_event) not in ("fail", "skip"):
            raise ValueError(f"dataset.on_bad_event must be 'fail' or 'skip', got {on_bad_event!r}")
        self.on_bad_event = str(on_bad_event)
        self.bad_events: dict[int, str] = {}
        self.train_tiles, self.tile_column = train_tiles, tile_column
        self.source = source
        self.view = view
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.in_memory = in_memory
        self.progress = progress
        self.train_idx, self.val_idx, self.test_idx = split_indices(len(source), split, seed=split_seed)
        self.datasets: dict[str, EventDataset] = {}

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the underlying events."""
        return self.source.fingerprint

    def prepare_data(self) -> None:
        self.source.prepare(progress=self.progress)

    def setup(self, stage: str | None = None) -> None:
        read = self._skip_bad_events() if self.on_bad_event == "skip" and not self.datasets else {}
        for name, idx in (("train", self.train_idx), ("val", self.val_idx), ("test", self.test_idx)):
            if name not in self.datasets:
                self.datasets[name] = EventDataset(
                    self.source, idx, self.view, in_memory=self.in_memory, read=read
                )
        log.info(
            "Events (fingerprint %s): %d train, %d val, %d test",
            self.fingerprint,
            len(self.train_idx),
            len(self.val_idx),
            len(self.test_idx),
        )

    def _skip_bad_events(self) -> dict[int, Data]:
        """Read every event of the split once; drop the bad ones from their split and record them.
        Returns the views of the good ones (kept when ``in_memory``)."""
        read: dict[int, Data] = {}
        for index in sorted({*self.train_idx, *self.val_idx, *self.test_idx}):
            try:
                data = view_event(self.source, self.view, index)
            except ReaderError as err:
                self.bad_events[index] = str(err)
                log.warning("Skipping bad event %d (dataset.on_bad_event=skip): %s", index, err)
                continue
            if self.in_memory:
                read[index] = data
        if self.bad_events:
            bad = set(self.bad_events)
            self.train_idx, self.val_idx, self.test_idx = (
                [i for i in idx if i not in bad] for idx in (self.train_idx, self.val_idx, self.test_idx)
            )
            log.warning("Skipped %d bad event(s) of %d", len(bad), len(self.source))
        return read

    def _loader(self, name: str, *, shuffle: bool) -> DataLoader:
        return DataLoader(
            self.datasets[name],
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        if self.train_tiles > 1 and "train_tiles" not in self.datasets:
            tiles = TiledDataset(self.datasets["train"], self.train_tiles, self.tile_column)
            self.datasets["train_tiles"] = tiles
        return self._loader("train_tiles" if self.train_tiles > 1 else "train", shuffle=True)

    def val_dataloader(self) -> DataLoader | list:
        return self._loader("val", shuffle=False) if self.val_idx else []

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

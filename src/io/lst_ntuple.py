"""CMS LST ntuples: ROOT files with one TTree entry per event and jagged branches (one value per
mini-doublet, line segment or sim track), read into the 23-feature line-segment event.

Where the names come from:

* CMS LST's ntuple writer (``RecoTracker/LSTCore/standalone/code/core/write_lst_ntuple.cc`` of the
  SegmentLinking/cmssw repository, its "GNN ntuple" branches, ``createGnnNtupleBranches`` and
  ``setGnnNtupleMiniDoublet``): the mini-doublets ``MD_0_{r,x,y,z}`` (anchor, i.e. lower hit) and
  ``MD_1_{r,x,y,z}`` (upper hit), ``MD_eta``, ``MD_phi`` (of the anchor hit), ``MD_dphichange``,
  ``MD_layer`` (1-6 barrel, 7-11 endcap), ``MD_detId``; the line segments ``LS_pt`` (circle through the
  origin and the anchor hits of the two MDs), ``LS_eta`` (of the outer anchor hit), ``LS_phi`` (of the inner
  anchor hit), ``LS_MD_idx0`` / ``LS_MD_idx1`` (indices of the inner and outer MD in the ``MD_*`` branches),
  ``LS_isFake``, ``LS_sim_pt``, ``LS_sim_eta`` (−999 for fakes); the sim tracks ``sim_pt``, ``sim_eta``,
  ``sim_phi``, ``sim_q``, ``sim_trkNtupIdx``. All in cm and GeV.
* The HEPT-CMS study's ntuple processing (``data/process_ntuple.py`` of evgueni-alexeev/HEPT-CMS), which
  built the study's ``graph_N.pt`` events from these files: the TTree is ``tree``, the LS truth is
  ``LS_SimTrkIdx`` (a list of sim-track indices per LS, of which the first is used; ``LS_TCidx`` where
  that branch is absent), and the 23 features are the columns of :data:`src.event_model.LS_FEATURE_NAMES`
  computed from the MD and LS branches (:func:`src.event_model.ls_feature_matrix`).

The reader takes ``LS_SimTrkIdx`` as one index per LS or a list per LS (first entry; −1 where empty), and
marks an LS fake (``particle_id`` −1) where ``LS_isFake`` is set. ``LS_sim_pt`` / ``LS_sim_eta`` are
optional (NaN when absent, and for fakes). Float branches may be float (LST) or double (our writer, so a
simulated event read back is exactly the simulation's own).

Every problem is a :class:`src.io.errors.ReaderError` naming the file, the entry (event) and the branch.
Writing: :func:`write_lst_ntuple` (e.g. ``scripts/write_lst_ntuple.py`` for simulated events).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from src.event_model import LS_FEATURE_NAMES, ls_feature_matrix
from src.io.errors import (
    SKIP_HINT,
    CorruptFileError,
    LayoutError,
    MissingFieldError,
    check_finite,
    check_size,
)
from src.utils.files import atomic_target

TREE = "tree"
#: MD position branches, per hit (0 = anchor/lower, 1 = upper), in the (r, x, y, z) order of the features.
MD_HITS = tuple(tuple(f"MD_{k}_{c}" for c in "rxyz") for k in "01")
REQUIRED = (*MD_HITS[0], *MD_HITS[1], "MD_dphichange", "MD_layer", "LS_phi", "LS_eta", "LS_pt",
            "LS_MD_idx0", "LS_MD_idx1")  # fmt: skip
#: Truth branches, the first present is used.
TRUTH = ("LS_SimTrkIdx", "LS_TCidx")
OPTIONAL = ("LS_isFake", "LS_sim_pt", "LS_sim_eta")
#: LST's value of a sim-track quantity of an LS matched to no sim track.
NO_SIM_VALUE = -999.0
_REWRITE = "Write the ntuple again (LST with its GNN ntuple branches, or scripts/write_lst_ntuple.py)"
_DAMAGED = "The file is damaged (cut short or overwritten): copy or write it again"


def find_ntuple_files(path: str | Path) -> list[Path]:
    """``path`` itself when it is a file, else the ``*.root`` files of the directory, sorted by name."""
    path = Path(path).expanduser()
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(
            f"dataset.path={path} is neither an LST ntuple (.root) nor a directory of them"
        )
    files = sorted(path.glob("*.root"))
    if not files:
        raise FileNotFoundError(f"dataset.path={path}: no .root files (LST ntuples) in this directory")
    return files


class LSTNtuple:
    """One LST ntuple file, opened once and read event by event (TTree entry by entry).

    ``max_event_size`` (LS per event, None = no limit) makes larger events a
    :class:`src.io.errors.EventTooLargeError`.
    """

    def __init__(self, path: str | Path, *, tree: str = TREE, max_event_size: int | None = None) -> None:
        import uproot

        self.path = Path(path)
        self.max_event_size = max_event_size
        try:
            file = uproot.open(self.path)
            end, size = int(file.file.fEND), self.path.stat().st_size
            if size < end:
                raise CorruptFileError(
                    f"cut short: {size} bytes where its header says {end}", path=self.path, fix=_DAMAGED
                )
            self._tree = file[tree]
            keys = set(self._tree.keys())
            self.n_entries = int(self._tree.num_entries)
        except (FileNotFoundError, CorruptFileError):
            raise
        except Exception as err:  # uproot reports damage in many ways: wrap every one
            raise CorruptFileError(
                f"not a readable ROOT file with a TTree '{tree}' ({type(err).__name__}: {err})",
                path=self.path,
                fix=f"{_DAMAGED}; a tree of another name is read with dataset.tree=<name>",
            ) from err
        missing = [b for b in REQUIRED if b not in keys]
        if missing:
            raise MissingFieldError(
                f"branch(es) {missing} missing from tree '{tree}' (every event needs them)",
                path=self.path,
                field=missing[0],
                fix=_REWRITE,
            )
        truth = [b for b in TRUTH if b in keys]
        if not truth:
            raise MissingFieldError(
                f"no truth branch: neither of {list(TRUTH)} is in tree '{tree}'",
                path=self.path,
                field=TRUTH[0],
                fix=_REWRITE,
            )
        self.truth = truth[0]
        self.optional = tuple(b for b in OPTIONAL if b in keys)

    def __len__(self) -> int:
        return self.n_entries

    def _branch(self, name: str, entry: int) -> Any:
        """The awkward array of one branch at one entry."""
        try:
            return self._tree[name].array(entry_start=entry, entry_stop=entry + 1, library="ak")[0]
        except Exception as err:  # decompression, deserialisation, index errors of a damaged file
            raise CorruptFileError(
                f"cannot be read ({type(err).__name__}: {err})",
                path=self.path,
                event=entry,
                field=name,
                fix=_DAMAGED,
            ) from err

    def _numbers(self, name: str, entry: int, kind: str, length: int | None = None) -> np.ndarray:
        """One branch at one entry as a flat numeric array (``kind`` "f" float64, "i" int64)."""
        import awkward as ak

        values = self._branch(name, entry)
        try:
            array = np.asarray(ak.to_numpy(values))
        except Exception as err:  # nested lists, records, strings: not the branch's layout
            raise LayoutError(
                f"is not a list of numbers ({err})", path=self.path, event=entry, field=name, fix=_REWRITE
            ) from err
        if array.ndim != 1 or array.dtype.kind not in "biuf":
            raise LayoutError(
                f"is not a list of numbers (shape {array.shape}, type {array.dtype})",
                path=self.path,
                event=entry,
                field=name,
                fix=_REWRITE,
            )
        if length is not None and len(array) != length:
            raise LayoutError(
                f"has {len(array)} entries where the event has {length}",
                path=self.path,
                event=entry,
                field=name,
                fix=_REWRITE,
            )
        integral = np.isfinite(array).all() and np.array_equal(array, np.round(array))
        if kind == "i" and array.dtype.kind == "f" and not integral:
            raise LayoutError(
                "holds non-integer values", path=self.path, event=entry, field=name, fix=_REWRITE
            )
        return array.astype(np.float64 if kind == "f" else np.int64)

    def _truth(self, entry: int, n_ls: int) -> np.ndarray:
        """Sim-track index of each LS: the branch's value, or the first of its list (−1 where empty)."""
        import awkward as ak

        values = self._branch(self.truth, entry)
        if values.ndim == 2:
            values = ak.fill_none(ak.firsts(values), -1)
        return self._check_ints(values, entry, n_ls)

    def _check_ints(self, values: Any, entry: int, n_ls: int) -> np.ndarray:
        import awkward as ak

        try:
            array = np.asarray(ak.to_numpy(values))
        except Exception as err:
            raise LayoutError(
                f"is not one index (or list) per LS ({err})",
                path=self.path,
                event=entry,
                field=self.truth,
                fix=_REWRITE,
            ) from err
        if array.ndim != 1 or array.dtype.kind not in "biu" or len(array) != n_ls:
            raise LayoutError(
                f"holds {array.shape} values of type {array.dtype} for {n_ls} LS",
                path=self.path,
                event=entry,
                field=self.truth,
                fix=_REWRITE,
            )
        return array.astype(np.int64)

    def read(self, entry: int) -> dict[str, np.ndarray]:
        """Event ``entry``: ``x`` float32 [N, 23], ``particle_id`` int64 (−1 = fake), ``sim_pt`` and
        ``sim_eta`` float32 (NaN for fakes or where the file has no such branch)."""
        if not 0 <= entry < self.n_entries:
            raise IndexError(f"{self.path}: entry {entry} out of range (the tree has {self.n_entries})")
        n_ls = len(self._numbers("LS_pt", entry, "f"))
        check_size(
            n_ls, self.max_event_size, path=self.path, event=entry, field="LS_pt", what="line segments"
        )
        n_md = len(self._numbers("MD_0_x", entry, "f"))
        hits = [[self._numbers(b, entry, "f", n_md) for b in names] for names in MD_HITS]
        dpc = self._numbers("MD_dphichange", entry, "f", n_md)
        layer = self._numbers("MD_layer", entry, "i", n_md)
        named = zip((*MD_HITS[0], *MD_HITS[1], "MD_dphichange"), (*hits[0], *hits[1], dpc), strict=True)
        for name, values in named:
            check_finite(values, path=self.path, event=entry, field=name)
        angles = [self._numbers(b, entry, "f", n_ls) for b in ("LS_phi", "LS_eta", "LS_pt")]
        for name, values in zip(("LS_phi", "LS_eta", "LS_pt"), angles, strict=True):
            check_finite(values, path=self.path, event=entry, field=name)
        inner, outer = (self._index(b, entry, n_ls, n_md) for b in ("LS_MD_idx0", "LS_MD_idx1"))
        md0, md1 = (np.stack(h, axis=-1) for h in hits)  # [n_md, 4]: r, x, y, z
        four = np.stack([md0[inner], md1[inner], md0[outer], md1[outer]], axis=1)
        x = ls_feature_matrix(four, np.c_[dpc[inner], dpc[outer]], np.c_[layer[inner], layer[outer]],
                              np.stack(angles, axis=-1))  # fmt: skip
        check_finite(x, path=self.path, event=entry, field="x", columns=LS_FEATURE_NAMES)
        particle_id = self._truth(entry, n_ls)
        if "LS_isFake" in self.optional:
            particle_id[self._numbers("LS_isFake", entry, "i", n_ls) != 0] = -1
        particle_id[particle_id < 0] = -1
        sim = {}
        for key in ("sim_pt", "sim_eta"):
            branch = f"LS_{key}"
            values = (
                self._numbers(branch, entry, "f", n_ls) if branch in self.optional else np.full(n_ls, np.nan)
            )
            values[(particle_id < 0) | (values == NO_SIM_VALUE)] = np.nan
            sim[key] = values.astype(np.float32)
        return {"x": x, "particle_id": particle_id, **sim}

    def _index(self, name: str, entry: int, n_ls: int, n_md: int) -> np.ndarray:
        """An MD index branch of the LS, checked against the number of MDs."""
        idx = self._numbers(name, entry, "i", n_ls)
        bad = (idx < 0) | (idx >= n_md)
        if bad.any():
            raise LayoutError(
                f"LS {int(np.argmax(bad))} points at mini-doublet {int(idx[bad][0])} of {n_md}",
                path=self.path,
                event=entry,
                field=name,
                fix=f"{_REWRITE}; {SKIP_HINT}",
            )
        return idx


def write_lst_ntuple(
    path: str | Path, events: Iterable[Mapping[str, np.ndarray]], *, tree: str = TREE
) -> Path:
    """Write events as an LST ntuple: one TTree entry per event, one jagged branch per array.

    Each event maps branch names to 1-d arrays (e.g. :func:`src.reco.ls_features.ntuple_branches`); the
    arrays of a prefix (``MD_``, ``LS_``, ``sim_``) share one length per event (uproot adds the counters
    ``nMD``, ``nLS``, ``nsim``). Every event must have the same branches and dtypes. The file is written
    beside ``path`` and renamed, so it is complete or absent.
    """
    import awkward as ak
    import uproot

    events = list(events)
    if not events:
        raise ValueError(f"{path}: no events to write")
    names = list(events[0])
    groups: dict[str, list[str]] = {}
    for name in names:
        prefix, _, field = name.partition("_")
        if not field:
            raise ValueError(f"{path}: branch '{name}' has no prefix (MD_, LS_, sim_)")
        groups.setdefault(prefix, []).append(field)
    columns: dict[str, Any] = {}
    for prefix, fields in groups.items():
        counts = []
        for i, event in enumerate(events):
            if set(event) != set(names):
                raise ValueError(f"{path}: event {i} has branches {sorted(event)}, event 0 {sorted(names)}")
            lengths = {len(event[f"{prefix}_{f}"]) for f in fields}
            if len(lengths) != 1:
                raise ValueError(f"{path}: event {i}: the {prefix}_* arrays differ in length {lengths}")
            counts.append(lengths.pop())
        columns[prefix] = ak.zip(
            {
                f: ak.unflatten(np.concatenate([np.asarray(e[f"{prefix}_{f}"]) for e in events]), counts)
                for f in fields
            }
        )
    path = Path(path)
    with atomic_target(path) as tmp, uproot.recreate(tmp) as file:
        out = file.mktree(tree, {k: v.type.content for k, v in columns.items()})
        out.extend(columns)
    return path

"""Asserts the experiment loggers: wandb runs offline without network and records config, metrics, plots and
the per-event table; TensorBoard records the same; the default run never imports wandb."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TINY_SIM, assert_ok, run_cli, run_dirs

#: no network: any HTTP(S) connection attempt goes to a closed local port and fails at once
NO_NETWORK = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
TWO_EPOCHS = ["task=pileup", "model=mlp", "trainer.max_epochs=2", "trainer.enable_progress_bar=false"]


def _records(path: Path):
    """The protobuf records of a ``.wandb`` transaction log (LevelDB log format: 32 KiB blocks of chunks)."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a wandb transaction log"
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a chunk header is padding
            pos += block - pos % block
            continue
        _checksum, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        pending += data[pos + 7 : pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL, or LAST chunk of a record
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def wandb_records(run_dir: Path) -> dict[str, Any]:
    """The offline wandb run under a run directory: its folder, run record, config and history keys."""
    (offline,) = (run_dir / "wandb").glob("offline-run-*")
    (log,) = offline.glob("run-*.wandb")
    out: dict[str, Any] = {"dir": offline, "config": set(), "history": set(), "run": None}
    for record in _records(log):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out["run"] = record.run
        elif kind == "config":
            out["config"] |= {item.key for item in record.config.update}
        elif kind == "history":
            out["history"] |= {item.key or "/".join(item.nested_key) for item in record.history.item}
    return out


def test_wandb_offline_without_network(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("WANDB_MODE", raising=False)
    for key, value in NO_NETWORK.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb-home"))
    proc = run_cli("src.train", [*TWO_EPOCHS, "logger=[csv,wandb]", *TINY_SIM], tmp_path, timeout=600)
    assert_ok(proc)
    (run,) = run_dirs(tmp_path)
    assert (run / "metrics.csv").is_file()  # the csv logger of the combination
    wb = wandb_records(run)
    assert f"wandb sync {wb['dir']}" in proc.stdout + proc.stderr

    assert wb["run"].display_name == f"pileup-mlp-{run.name}"
    assert wb["run"].run_group == ""  # a single run; sweep trials share the study's group (test_sweep)
    assert {"task", "model", "dataset", "trainer", "seed", "optimized_metric"} <= wb["config"]
    metrics = {"train/loss", "val/precision@recall0.99", "test/auprc", "test/precision@recall0.99"}
    assert metrics <= wb["history"]
    assert {"test/pr_curve/_type", "test/score_histogram/_type", "test/per_event/_type"} <= wb["history"]

    images = sorted(p.name.split("_")[0] for p in (wb["dir"] / "files" / "media" / "images").rglob("*.png"))
    assert images == ["pr", "score"]
    (table,) = (wb["dir"] / "files" / "media" / "table").rglob("*.table.json")
    table = json.loads(table.read_text())
    per_event = (run / "test_per_event.csv").read_text().splitlines()
    assert table["columns"] == per_event[0].split(",")
    assert len(table["data"]) == len(per_event) - 1


def _tensorboard_tags(run: Path) -> dict[str, set[str]]:
    """Tags by kind in the TFRecord event files of ``<run>/tensorboard``."""
    from tensorboard.compat.proto import event_pb2

    tags: dict[str, set[str]] = {"scalar": set(), "image": set(), "text": set()}
    for path in (run / "tensorboard").glob("events.out.tfevents.*"):
        data, pos = path.read_bytes(), 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos : pos + 8])
            event = event_pb2.Event()
            event.ParseFromString(data[pos + 12 : pos + 12 + length])
            pos += 12 + length + 4
            for value in event.summary.value:
                kind = value.WhichOneof("value")
                if kind == "simple_value":
                    tags["scalar"].add(value.tag)
                elif kind == "image":
                    tags["image"].add(value.tag)
                elif value.metadata.plugin_data.plugin_name == "text":
                    tags["text"].add(value.tag)
    return tags


def test_tensorboard_logger(tmp_path) -> None:
    proc = run_cli("src.train", [*TWO_EPOCHS, "logger=tensorboard", *TINY_SIM], tmp_path)
    assert_ok(proc)
    (run,) = run_dirs(tmp_path)
    tags = _tensorboard_tags(run)
    assert {"train/loss", "val/precision@recall0.99", "test/auprc"} <= tags["scalar"]
    assert tags["image"] == {"test/pr_curve", "test/score_histogram"}
    assert "test/per_event" in {t.split("/text_summary")[0] for t in tags["text"]}


def test_default_run_never_imports_wandb(tmp_path) -> None:
    """The default logger (csv) must not even import wandb, let alone reach for the network."""
    probe = (
        "import atexit, runpy, sys\n"
        "atexit.register(lambda: print('WANDB_IMPORTED=' + str('wandb' in sys.modules)))\n"
        "sys.argv = ['src.train', *sys.argv[1:]]\n"
        "runpy.run_module('src.train', run_name='__main__')\n"
    )
    env = {**os.environ, **NO_NETWORK, "HEPRECO_CACHE": str(tmp_path / "cache"), "MPLBACKEND": "Agg"}
    env.pop("WANDB_MODE", None)
    proc = subprocess.run(
        [sys.executable, "-c", probe, "debug=fast_dev_run", *TINY_SIM, f"paths.log_dir={tmp_path / 'out'}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert_ok(proc)
    assert "WANDB_IMPORTED=False" in proc.stdout


@pytest.mark.parametrize("loggers", ["[csv,wandb]", "[csv,tensorboard]", "[csv,wandb,tensorboard]"])
def test_logger_combinations_compose(compose_cfg, loggers: str) -> None:
    cfg = compose_cfg([f"logger={loggers}"])
    assert sorted(cfg.logger) == sorted(loggers.strip("[]").split(","))
    assert all("_target_" in conf for conf in cfg.logger.values())

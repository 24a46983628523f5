"""Training as a child process: ``python -m reelscope.training RUN_DIR --progress jsonl``
reports in JSON lines, stops cleanly on SIGTERM, and the same command resumes it."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from reelscope.training.__main__ import EXIT_FAILED, EXIT_STOPPED, StopOnSignal
from reelscope.training.checkpoint import checkpoint_meta, save_config
from reelscope.training.config import make_config
from reelscope.training.data import write_manifest
from reelscope.training.events import TrainEvent
from reelscope.training.synthetic import write_synthetic_items

torch.set_num_threads(1)

ENV = dict(os.environ, OMP_NUM_THREADS="1")


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    return write_synthetic_items(tmp_path_factory.mktemp("clips"), 16, silent_every=5)[0]


def _prepare(run_dir: Path, items, **kw) -> Path:
    """A run folder as ``reelscope train --prepare-only`` leaves it: config.json + manifest.json."""
    run_dir.mkdir()
    save_config(run_dir, make_config("av-simclr", "tiny", device="cpu", workers=0, log_every=1, **kw))
    write_manifest(run_dir / "manifest.json", items)
    return run_dir


def _command(run_dir: Path) -> list[str]:
    return [sys.executable, "-m", "reelscope.training", str(run_dir), "--progress", "jsonl"]


def _run(run_dir: Path) -> tuple[int, list[str]]:
    proc = subprocess.run(_command(run_dir), env=ENV, capture_output=True, text=True, timeout=540)
    assert proc.stdout.endswith("\n"), proc.stderr[-2000:]
    return proc.returncode, proc.stdout.splitlines()


def _train_steps(lines: list[str]) -> list[int]:
    return [e.done for e in map(TrainEvent.from_json, lines[:-1]) if e.stage == "train"]


def test_a_child_reports_json_lines_that_rebuild_its_events(tmp_path, items):
    run_dir = _prepare(tmp_path / "run", items[:8], batch_size=4, epochs=1)
    code, lines = _run(run_dir)
    assert code == 0
    records = [json.loads(line) for line in lines]  # every line is one JSON document
    assert [r["event"] for r in records] == ["progress"] * (len(records) - 1) + ["result"]
    events = [TrainEvent.from_json(line) for line in lines[:-1]]
    assert [e.to_json() for e in events] == lines[:-1]  # the parent rebuilds the same events
    assert events[0].stage == "prepare" and {"train", "checkpoint"} <= {e.stage for e in events}
    train = [e for e in events if e.stage == "train"]
    assert [e.done for e in train] == [1, 2] and train[-1].total == 2
    assert "loss" in train[-1].metrics and train[-1].eta_s is not None
    result = records[-1]
    assert result["status"] == "finished" and result["step"] == 2 and result["losses"]
    assert (run_dir / "model.safetensors").exists()


def test_sigterm_stops_the_child_at_a_checkpoint_and_the_same_command_resumes(tmp_path, items):
    run_dir = _prepare(tmp_path / "run", items, batch_size=2, epochs=4)  # 8 steps an epoch, 32 in all
    with open(tmp_path / "stderr.txt", "w") as err:
        proc = subprocess.Popen(_command(run_dir), env=ENV, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            lines = []
            for line in proc.stdout:  # wait for the first step, however long the start takes
                lines.append(line.rstrip("\n"))
                if TrainEvent.from_json(line).stage == "train":
                    break
            proc.send_signal(signal.SIGTERM)
            lines += proc.stdout.read().splitlines()
            code = proc.wait(timeout=60)  # the current step and a checkpoint, not the whole run
        finally:
            if proc.poll() is None:
                proc.kill()
    assert code == EXIT_STOPPED, (tmp_path / "stderr.txt").read_text()[-2000:]
    result = json.loads(lines[-1])
    assert result["event"] == "result" and result["status"] == "cancelled"
    stopped_at = result["step"]
    assert 1 <= stopped_at < 32
    meta = checkpoint_meta(run_dir)
    assert meta["status"] == "cancelled" and meta["step"] == stopped_at
    assert not (run_dir / "model.safetensors").exists()
    assert "SIGTERM" in (tmp_path / "stderr.txt").read_text()

    code, lines = _run(run_dir)  # the same command again
    assert code == 0
    result = json.loads(lines[-1])
    assert result["status"] == "finished" and result["step"] == 32
    assert min(_train_steps(lines)) == stopped_at + 1  # it went on from the checkpoint
    assert checkpoint_meta(run_dir)["status"] == "finished" and (run_dir / "model.safetensors").exists()


def test_a_child_whose_reader_went_away_stops_at_a_checkpoint(tmp_path, items):
    run_dir = _prepare(tmp_path / "run", items, batch_size=2, epochs=4)
    proc = subprocess.Popen(_command(run_dir), env=ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        while TrainEvent.from_json(proc.stdout.readline()).stage != "train":
            pass
        proc.stdout.close()  # the parent is gone: the child's next line finds no reader
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == EXIT_STOPPED
    meta = checkpoint_meta(run_dir)
    assert meta["status"] == "cancelled" and meta["step"] < 32


def test_a_failing_child_ends_with_an_error_line(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    save_config(run_dir, make_config("av-simclr", "tiny", device="cpu"))  # and no manifest.json
    code, lines = _run(run_dir)
    assert code == EXIT_FAILED
    record = json.loads(lines[-1])
    assert record["event"] == "error" and "manifest.json" in record["message"]


def test_event_json_is_strict_and_round_trips():
    event = TrainEvent("train", 3, 10, "epoch 1", 2.5, {"loss": 1.25, "lr": 1e-3, "epoch": 0})
    assert TrainEvent.from_json(event.to_json()) == event
    assert TrainEvent.from_json(TrainEvent("prepare", 0).to_json()) == TrainEvent("prepare", 0)
    diverged = TrainEvent("train", 4, None, metrics={"loss": math.nan, "lr": math.inf})
    assert "NaN" not in diverged.to_json() and "Infinity" not in diverged.to_json()
    assert TrainEvent.from_json(diverged.to_json()).metrics == {"loss": None, "lr": None}
    with pytest.raises(ValueError, match="not a progress event"):
        TrainEvent.from_json('{"event": "result", "status": "finished"}')


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_becomes_a_stop_request_and_a_second_one_acts_as_before(signum):
    seen = []

    def earlier(s, frame):
        seen.append(s)

    before = signal.signal(signum, earlier)
    try:
        with StopOnSignal() as stop:
            assert not stop()
            signal.raise_signal(signum)
            assert stop() and seen == []
            signal.raise_signal(signum)  # the second one reaches the handler that was there
            assert seen == [signum]
        assert signal.getsignal(signum) is earlier  # and stays after the block
    finally:
        signal.signal(signum, before)


def test_a_child_given_the_library_lock_holds_it_and_is_named_by_it(tmp_path, items):
    """The process that does the work holds the library's writing lock: a second writer is
    told the child's pid; a child that finds the lock taken exits 75 without training."""
    from reelscope.core.store import lock as library_lock

    library = tmp_path / "lib"
    library.mkdir()
    lock_file = library / library_lock.LOCK_NAME
    run_dir = _prepare(tmp_path / "run", items, batch_size=2, epochs=400)  # runs until stopped
    command = _command(run_dir) + ["--lock", str(lock_file)]
    proc = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in proc.stdout:  # wait until it trains
            if TrainEvent.from_json(line).stage == "train":
                break
        held = library_lock.holder(library)
        assert held is not None and held.pid == proc.pid and held.job == "train"
        with pytest.raises(library_lock.LibraryBusy, match=f"pid {proc.pid}"):
            with library_lock.writing(library, "import"):
                pass
        busy = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300)
        assert busy.returncode == 75 and "in use by train" in busy.stderr
        assert json.loads(busy.stdout.splitlines()[-1])["type"] == "Busy"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=300)
    assert proc.returncode == EXIT_STOPPED and library_lock.holder(library) is None

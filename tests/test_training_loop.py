"""The training loop: files it leaves, metrics, cancel, time budget, and exact resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from reelscope.training.config import make_config
from reelscope.training.events import TrainEvent
from reelscope.training.loop import train
from reelscope.training.synthetic import write_synthetic_items

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def items(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return write_synthetic_items(folder, 16, silent_every=5)[0]


def _cfg(**kw):
    base = dict(batch_size=4, epochs=2, deterministic=True, workers=0, log_every=2)
    base.update(kw)
    return make_config(kw.pop("method", "av-simclr"), "tiny", **{k: v for k, v in base.items() if k != "method"})


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run_dir / "model.safetensors"))


def _assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_run_leaves_weights_checkpoints_metrics_and_reports_progress(tmp_path, items):
    events: list[TrainEvent] = []
    result = train(_cfg(), items, tmp_path, progress=events.append)
    assert result.status == "finished" and result.step == 8 and result.epoch == 2
    assert (tmp_path / "model.safetensors").exists() and (tmp_path / "config.json").exists()
    metas = sorted((tmp_path / "checkpoint").glob("ckpt-*.json"))
    assert len(metas) == 2  # one per epoch, newest two kept
    meta = json.loads(metas[-1].read_text())
    assert meta["status"] == "finished" and meta["epoch"] == 2 and meta["batch_in_epoch"] == 0
    assert {"rng", "optimizer", "train_seconds"} <= set(meta)
    tensors = load_file(str(metas[-1].with_suffix(".safetensors")))
    assert "rng.torch" in tensors and any(k.startswith("optim.") for k in tensors)
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 4, 6, 8]
    for r in lines:
        assert {"loss", "loss_video", "loss_audio", "loss_cross", "lr", "samples_per_s", "data_wait"} <= set(r)
        assert 0 <= r["data_wait"] <= 1 and r["samples_per_s"] > 0
    train_events = [e for e in events if e.stage == "train"]
    assert train_events[-1].done == 8 and train_events[-1].total == 8
    assert train_events[-1].eta_s is not None and "loss" in train_events[-1].metrics
    assert any(e.stage == "checkpoint" for e in events)
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["stats"]["measured"] and cfg["stats"]["floor"] < cfg["stats"]["mean"]


@pytest.mark.parametrize("method, extra", [("av-simclr", {}), ("moco", {}), ("byol", {}),
                                           ("simclr", {"nn_weight": 0.5, "nn_support": 8})])
def test_cancel_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path, items, method, extra):
    full = train(_cfg(method=method, **extra), items, tmp_path / "full")
    calls = {"n": 0}

    def stop_after_three() -> bool:
        calls["n"] += 1
        return calls["n"] >= 3

    part = train(_cfg(method=method, **extra), items, tmp_path / "part", should_stop=stop_after_three)
    assert part.status == "cancelled" and part.step == 3
    meta = json.loads(sorted((tmp_path / "part" / "checkpoint").glob("*.json"))[-1].read_text())
    assert (meta["epoch"], meta["batch_in_epoch"]) == (0, 3)  # the sampler position
    assert not (tmp_path / "part" / "model.safetensors").exists()
    resumed = train(_cfg(method=method, **extra), items, tmp_path / "part")
    assert resumed.status == "finished" and resumed.step == full.step
    _assert_same(_weights(tmp_path / "full"), _weights(tmp_path / "part"))
    steps = [json.loads(line)["step"] for line in (tmp_path / "part" / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps))  # no step logged twice across the interruption


def test_time_budget_stops_and_the_schedule_spans_it(tmp_path, items):
    result = train(_cfg(epochs=None, time_budget_min=0.03, log_every=1), items, tmp_path)
    assert result.status == "finished"
    assert result.train_seconds >= 1.8
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines[-2]["progress"] < 1.0 <= lines[-1]["progress"]  # stopped at the first step past it
    peak = max(r["lr"] for r in lines)
    assert lines[-1]["lr"] < 0.2 * peak  # decayed along the cosine by the end of the budget


def test_bf16_on_the_cpu_trains_and_embeds_close_to_fp32(tmp_path, items):
    from reelscope.training.checkpoint import load_model
    from reelscope.training.embed import embed_items

    from reelscope.training.precision import cpu_has_native_bf16

    result = train(_cfg(precision="bf16", epochs=1), items, tmp_path)
    if not cpu_has_native_bf16():  # emulated bf16 is slow and unsafe: fp32 is trained instead
        assert result.status == "finished" and result.precision == "fp32"
        pytest.skip("this CPU has no native bf16 to compare with fp32")
    assert result.status == "finished" and result.precision == "bf16"
    assert all(torch.isfinite(torch.tensor(v)) for v in result.losses.values())
    from reelscope.training.checkpoint import trained_precision

    assert trained_precision(tmp_path) == "bf16"  # recorded in the weights for inference
    model, cfg = load_model(tmp_path, "cpu")
    low = embed_items(model, cfg, items, precision="bf16")
    full = embed_items(model, cfg, items, precision="fp32")
    for kind in ("visual", "audio"):
        cos = torch.nn.functional.cosine_similarity(torch.from_numpy(low[kind]), torch.from_numpy(full[kind]))
        assert cos.min() > 0.98, kind  # bf16 keeps 8 bits of mantissa: close, not equal
        assert not torch.equal(torch.from_numpy(low[kind]), torch.from_numpy(full[kind]))


def test_too_few_videos_is_a_clear_error(tmp_path, items):
    with pytest.raises(ValueError, match="too few"):
        train(_cfg(), items[:1], tmp_path)


KILLED_RUN = textwrap.dedent("""
    import sys, time, torch
    torch.set_num_threads(1)
    from pathlib import Path
    from reelscope.training.config import TrainConfig
    from reelscope.training.data import read_manifest
    from reelscope.training.loop import train
    run_dir = Path(sys.argv[1])
    cfg = TrainConfig.from_json((run_dir / "cfg.json").read_text())
    def progress(event):
        if event.stage == "checkpoint":
            (run_dir / "checkpointed").touch()
            time.sleep(600)  # wait here to be killed
    train(cfg, read_manifest(run_dir / "manifest.json"), run_dir, progress=progress)
""")


def test_sigkill_after_first_checkpoint_then_resume_is_exact(tmp_path, items):
    from reelscope.training.data import write_manifest

    torch.set_num_threads(1)  # as the killed process: bit-equal needs the same reduction order
    cfg = _cfg(epochs=3, method="av-simclr")
    reference = train(cfg, items, tmp_path / "reference")

    run_dir = tmp_path / "killed"
    run_dir.mkdir()
    (run_dir / "cfg.json").write_text(cfg.to_json())
    write_manifest(run_dir / "manifest.json", items)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(run_dir)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not (run_dir / "checkpointed").exists():
            assert proc.poll() is None, "the training process died before its first checkpoint"
            assert time.monotonic() < deadline
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not (run_dir / "model.safetensors").exists()
    meta = json.loads(sorted((run_dir / "checkpoint").glob("*.json"))[-1].read_text())
    assert meta["epoch"] == 1 and meta["step"] == 4

    resumed = train(cfg, items, run_dir)
    assert resumed.step == reference.step == 12
    _assert_same(_weights(tmp_path / "reference"), _weights(run_dir))


def test_the_batch_stream_runs_on_across_epochs_from_a_resume_position():
    from reelscope.training.data import EpochBatches

    batches = EpochBatches(10, 3, seed=7)  # 3 batches an epoch, one video dropped
    assert batches.batches_per_epoch() == 3
    first = [b for _, b in zip(range(7), batches)]
    assert [b[0][0] for b in first] == [0, 0, 0, 1, 1, 1, 2]  # epoch of each batch
    for e in range(2):
        seen = [i for b in first[3 * e : 3 * e + 3] for _, i in b]
        assert len(set(seen)) == 9  # an epoch has no repeats
    assert first[0] != first[3]  # and each epoch its own order
    batches.set_position(1, 2)  # resuming at the third batch of epoch 1 gives the same batches
    assert [b for _, b in zip(range(2), batches)] == first[5:7]


def test_prefetched_keeps_order_raises_the_sources_error_and_stops_on_close():
    import threading

    from reelscope.training.data import Prefetched

    assert list(Prefetched(range(5))) == [0, 1, 2, 3, 4]

    def broken():
        yield 1
        raise OSError("clip 7: truncated frames file")

    stream = Prefetched(broken())
    assert next(stream) == 1
    with pytest.raises(OSError, match="clip 7"):
        next(stream)
    with pytest.raises(OSError, match="clip 7"):  # again, rather than waiting for ever
        next(stream)
    ended = Prefetched(range(1))
    assert list(ended) == [0] and list(ended) == []

    produced = []

    def endless():
        k = 0
        while True:
            produced.append(k)
            yield k
            k += 1

    with Prefetched(endless(), depth=2) as stream:
        assert produced == []  # nothing is read before the first next()
        assert [next(stream) for _ in range(3)] == [0, 1, 2]
    assert not any(t.name == "reelscope-prefetch" and t.is_alive() for t in threading.enumerate())
    assert len(produced) <= 3 + 2 + 1  # read at most depth (+ the one in hand) ahead


def test_the_predictor_multiplier_reaches_the_optimiser(tmp_path, items):
    train(_cfg(method="byol", epochs=1, predictor_lr_mult=10.0), items, tmp_path)
    meta = json.loads(sorted((tmp_path / "checkpoint").glob("ckpt-*.json"))[-1].read_text())
    lrs = {g["lr_mult"]: g["lr"] for g in meta["optimizer"]["param_groups"]}
    assert set(lrs) == {1.0, 10.0}
    assert lrs[10.0] == pytest.approx(10 * lrs[1.0])


def test_resuming_drops_a_metrics_line_torn_by_a_kill(tmp_path):
    """A kill mid-append leaves half a JSON line at the end of metrics.jsonl: resuming
    keeps the whole lines up to the checkpoint's step and drops the torn one."""
    from reelscope.training.loop import _truncate_metrics

    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "loss": 1.5}\n{"step": 3, "lo')
    _truncate_metrics(path, 2)
    assert path.read_text() == '{"step": 1, "loss": 2.0}\n{"step": 2, "loss": 1.5}\n'

"""core.train and the CLI: a library's clip cache in, a recorded run with embeddings out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from reelscope.core.cli.main import main
from reelscope.core.store.clipcache import CacheSpec, ClipCache
from reelscope.core.store.embeddings import load_embeddings
from reelscope.core.store.library import Library
from reelscope.core.progress import CancelToken, Cancelled, Progress
from reelscope.core.encoding.train import embed, train, training_items
from reelscope.training.synthetic import synthetic_clip

torch.set_num_threads(1)


def make_library(root, n: int = 12, silent_every: int = 4) -> Library:
    """A library whose clip cache (4 frames of 32x32) was written directly, no media decoding."""
    lib = Library.create(root)
    ClipCache(root, CacheSpec(frames=4, size=32)).ensure()
    lib.cache = ClipCache(root)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        silent = i % silent_every == silent_every - 1
        frames, mel = synthetic_clip(rng, i % 3, None if silent else i % 2, frames=4, size=32)
        digest = f"{i:02x}" + "ab" * 20
        lib.cache.write(digest, frames, mel)
        rows.append({"id": f"v{i:03d}", "path": str(root / f"v{i:03d}.mp4"), "content_hash": digest,
                     "status": "ok", "duration": 3.0, "has_audio": int(not silent),
                     "frame_times": json.dumps([0.375, 1.125, 1.875, 2.625])})
    rows.append({"id": "broken", "path": str(root / "broken.mp4"), "status": "failed", "error": "bad"})
    lib.db["videos"].insert_all(rows)
    return lib


@pytest.fixture
def library(tmp_path):
    lib = make_library(tmp_path / "lib")
    yield lib
    lib.close()


def test_train_records_a_run_with_its_files_and_embeddings(library):
    events: list[Progress] = []
    run = train(library, method="av-simclr", preset="tiny", epochs=1, device="cpu", progress=events.append)
    assert run.status == "done" and run.finished_at is not None
    assert run.metrics["videos"] == 12 and run.metrics["embedded"] == 12 and run.metrics["steps"] == 1
    folder = library.path / run.dir
    for name in ("config.json", "manifest.json", "model.safetensors", "metrics.jsonl", "embeddings.npz"):
        assert (folder / name).exists(), name
    assert list((folder / "checkpoint").glob("*.safetensors"))
    assert [r.id for r in library.runs()] == [run.id] and library.run(run.id).status == "done"
    assert {"train", "embed"} <= {e.stage for e in events}
    assert all(isinstance(e, Progress) for e in events)

    emb = load_embeddings(library)
    assert list(emb.ids) == [f"v{i:03d}" for i in range(12)]
    for kind in ("visual", "audio", "fused"):
        x = emb.kind(kind)
        assert x.shape[0] == 12 and np.isfinite(x).all()
        np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert emb.fused.shape[1] == emb.visual.shape[1] + emb.audio.shape[1]

    # Embedding is deterministic, and up-to-date embeddings are reused.
    (folder / "embeddings.npz").unlink()
    again = embed(library, run.id, device="cpu")
    np.testing.assert_allclose(again.fused, emb.fused, atol=1e-6)
    mtime = (folder / "embeddings.npz").stat().st_mtime
    embed(library)
    assert (folder / "embeddings.npz").stat().st_mtime == mtime


def test_cancel_leaves_a_resumable_run_and_training_again_finishes_it(library):
    token = CancelToken()

    def progress(event: Progress) -> None:
        if event.stage == "train" and event.done >= 1:
            token.cancel()

    with pytest.raises(Cancelled):
        train(library, method="simclr", preset="tiny", epochs=3, device="cpu", progress=progress, cancel=token)
    [run] = library.runs()
    assert run.status == "cancelled" and run.metrics["steps"] == 1
    finished = train(library, method="simclr", preset="tiny", device="cpu")
    assert finished.id == run.id and finished.status == "done" and finished.metrics["steps"] == 3
    # A different method starts its own run rather than resuming this one.
    other = train(library, method="byol", preset="tiny", epochs=1, device="cpu", embed_after=False)
    assert other.id != run.id and other.status == "done"


def test_training_items_skip_failed_and_duplicate_videos(library):
    library.db["videos"].insert({"id": "dup", "path": str(library.path / "dup.mp4"), "status": "ok",
                                 "content_hash": "00" + "ab" * 20})
    items = training_items(library)
    assert len(items) == 12 and "broken" not in {i.id for i in items}
    assert items[1].frame_times == (0.375, 1.125, 1.875, 2.625)


def test_cli_train_and_embed_print_json(library, capsys):
    path = str(library.path)
    assert main(["train", "--library", path, "--method", "moco", "--preset", "tiny", "--epochs", "1",
                 "--device", "cpu", "--json", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "moco" and out["status"] == "done" and out["metrics"]["embedded"] == 12
    assert main(["embed", "--library", path, "--run", out["id"], "--json", "--quiet"]) == 0
    emb = json.loads(capsys.readouterr().out)
    assert emb["run"] == out["id"] and emb["videos"] == 12
    assert main(["embed", "--library", path, "--run", "nope", "--json", "--quiet"]) == 1
    assert "no training run" in capsys.readouterr().err
    assert main(["train", "--library", path, "--preset", "tiny", "--prepare-only", "--json"]) == 0
    prepared = json.loads(capsys.readouterr().out)
    assert prepared["status"] == "prepared" and "torchrun" in prepared["torchrun"]


def test_prepared_run_trained_by_the_module_entry_point_then_recorded(library):
    import subprocess
    import sys

    from reelscope.core.encoding.train import prepare_run

    run = prepare_run(library, "simclr", "tiny", epochs=1, device="cpu")
    assert library.run(run.id).status == "prepared"
    proc = subprocess.run([sys.executable, "-m", "reelscope.training", str(library.path / run.dir)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["status"] == "finished"
    done = train(library, run_id=run.id, method="simclr", preset="tiny", device="cpu")
    assert done.id == run.id and done.status == "done" and done.metrics["steps"] == 1


def test_a_run_started_with_a_relative_library_path_finishes_from_anywhere(tmp_path, monkeypatch, capsys):
    """The manifest names the clip cache by absolute paths (issue 16: a relative --library
    once made resuming from another folder fail and mark the run failed)."""
    make_library(tmp_path / "work" / "lib").close()
    monkeypatch.chdir(tmp_path / "work")
    assert main(["train", "--library", "lib", "--preset", "tiny", "--prepare-only", "--json"]) == 0
    prepared = json.loads(capsys.readouterr().out)
    manifest = json.loads((tmp_path / "work" / "lib" / "runs" / prepared["id"] / "manifest.json").read_text())
    assert all(Path(item["frames"]).is_absolute() for item in manifest)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["train", "--library", str(tmp_path / "work" / "lib"), "--run", prepared["id"],
                 "--preset", "tiny", "--epochs", "1", "--device", "cpu", "--json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "done"


@pytest.mark.parametrize("damage", ["truncated", "other tensors"])
def test_damaged_or_mismatched_weights_are_one_clear_line(library, capsys, damage):
    from safetensors.torch import save_file

    run = train(library, method="simclr", preset="tiny", epochs=1, device="cpu", embed_after=False)
    weights = library.path / run.dir / "model.safetensors"
    if damage == "truncated":
        weights.write_bytes(weights.read_bytes()[:1000])
    else:
        save_file({"not.a.layer": torch.zeros(3)}, str(weights))
    code = main(["embed", "--library", str(library.path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "is damaged or does not fit" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_train_killed_before_its_run_is_recorded_leaves_no_folder_behind(library):
    """SIGKILL inside prepare_run (config written, the run not yet recorded) used to leave
    ``runs/<id>/`` with a manifest and config that nothing recorded or swept (issue 16).
    The next train sweeps such folders, and only such folders."""
    import signal
    import subprocess
    import sys

    from reelscope.training import faults

    path = library.path
    library.close()
    env = dict(os.environ, **{faults.ENV: "file.rename/config.json:1"})
    proc = subprocess.run([sys.executable, "-m", "reelscope", "train", "--library", str(path), "--preset",
                           "tiny", "--epochs", "1", "--device", "cpu", "--quiet"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    [orphan] = (path / "runs").iterdir()
    left = {p.name for p in orphan.iterdir()}
    assert "manifest.json" in left and all(n == "manifest.json" or n.endswith(".tmp") for n in left), left
    # Folders that are not a killed prepare_run's are left alone, recorded or not.
    kept = path / "runs" / "my-notes"
    kept.mkdir()
    (kept / "manifest.json").write_text("[]")
    (kept / "todo.txt").write_text("mine")
    weights_only = path / "runs" / "copied-run"
    weights_only.mkdir()
    (weights_only / "model.safetensors").write_bytes(b"x")

    with Library.open(path) as again:
        run = train(again, method="av-simclr", preset="tiny", epochs=1, device="cpu", embed_after=False)
        assert [r.id for r in again.runs()] == [run.id]
    assert sorted(p.name for p in (path / "runs").iterdir()) == sorted([run.id, "my-notes", "copied-run"])


def test_a_train_that_meets_a_missing_cache_file_names_it_in_one_line(tmp_path, capsys):
    """An operating-system error's message once became its error number ("reelscope
    train: 2"): the line names the file and the reason."""
    root = tmp_path / "lib"
    make_library(root).close()
    assert main(["train", "--library", str(root), "--preset", "tiny", "--prepare-only", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)["id"]
    manifest = json.loads((root / "runs" / run / "manifest.json").read_text())
    Path(manifest[0]["frames"]).unlink()
    code = main(["train", "--library", str(root), "--run", run, "--preset", "tiny", "--epochs", "1",
                 "--device", "cpu", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1, err
    assert Path(manifest[0]["frames"]).name in err and "No such file" in err, err

"""DDP: two CPU processes (gloo) launched by torchrun end with identical replicas, equal to one process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file

from reelscope.training.checkpoint import save_config
from reelscope.training.config import AudioAugConfig, VideoAugConfig, make_config
from reelscope.training.data import write_manifest
from reelscope.training.loop import train
from reelscope.training.synthetic import write_synthetic_items

torch.set_num_threads(1)

RANK_SCRIPT = textwrap.dedent("""
    import os, sys, torch
    torch.set_num_threads(1)
    from pathlib import Path
    from safetensors.torch import save_file
    from reelscope.training.checkpoint import load_config
    from reelscope.training.data import read_manifest
    from reelscope.training.loop import train
    from reelscope.training import distributed
    for arg in sys.argv[1:]:  # several runs, one after the other, in the same process group
        run_dir = Path(arg)
        result = train(load_config(run_dir), read_manifest(run_dir / "manifest.json"), run_dir)
        state = {k: v.contiguous().clone() for k, v in result.model.state_dict().items()}
        save_file(state, str(run_dir / f"rank{os.environ['RANK']}.safetensors"))
    # Ranks that measured different answers (here: told different ones) take rank 0's.
    mine = "bf16" if os.environ["RANK"] == "0" else "fp32"
    choice = distributed.rank0_choice(mine, ("bf16", "fp32"), torch.device("cpu"))
    Path(sys.argv[1], f"choice{os.environ['RANK']}.txt").write_text(choice)
    distributed.teardown()
""")


def _prepare(run_dir, cfg, items):
    run_dir.mkdir()
    save_config(run_dir, cfg)
    write_manifest(run_dir / "manifest.json", items)
    return run_dir


def _replicas(run_dir):
    return load_file(str(run_dir / "rank0.safetensors")), load_file(str(run_dir / "rank1.safetensors"))


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory):
    """One torchrun launch (2 processes, gloo) training two runs: returns their folders and items."""
    tmp = tmp_path_factory.mktemp("ddp")
    items = write_synthetic_items(tmp / "clips", 16, silent_every=6)[0]
    # GroupNorm, no SpecAugment masks, no background merging: then nothing depends on how
    # the global batch is split (BatchNorm statistics would; torchaudio's masks draw per
    # process; a merged clip takes its backdrop from its own replica's batch).
    exact = make_config("av-simclr", "tiny", batch_size=8, epochs=2, workers=0, deterministic=True,
                        norm="group", audio_aug=AudioAugConfig(time_mask=0.0, freq_mask=0.0),
                        video_aug=VideoAugConfig(merge=0.0))
    batchnorm = make_config("moco", "tiny", batch_size=8, epochs=1, workers=0, deterministic=True)
    runs = {"exact": _prepare(tmp / "exact", exact, items), "batchnorm": _prepare(tmp / "bn", batchnorm, items)}
    script = tmp / "rank.py"
    script.write_text(RANK_SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(script), str(runs["exact"]), str(runs["batchnorm"])]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return runs, items, exact


def test_replicas_take_rank0s_choice(ddp_runs):
    runs = ddp_runs[0]
    assert [(runs["exact"] / f"choice{r}.txt").read_text() for r in (0, 1)] == ["bf16", "bf16"]


def test_two_gloo_replicas_end_identical_and_match_one_process(tmp_path, ddp_runs):
    runs, items, cfg = ddp_runs
    rank0, rank1 = _replicas(runs["exact"])
    for k in rank0:
        assert torch.equal(rank0[k], rank1[k]), f"replicas differ in {k}"
    saved = load_file(str(runs["exact"] / "model.safetensors"))
    for k in saved:
        assert torch.equal(saved[k], rank0[k])

    single = train(cfg, items, tmp_path / "single")
    assert single.step == 4  # 16 videos / global batch 8 x 2 epochs, as in the DDP run
    one = load_file(str(tmp_path / "single" / "model.safetensors"))
    for k in one:
        torch.testing.assert_close(one[k], rank0[k], atol=2e-4, rtol=1e-3, msg=f"DDP != one process in {k}")


def test_batchnorm_replicas_identical_including_statistics(ddp_runs):
    runs, _, _ = ddp_runs
    rank0, rank1 = _replicas(runs["batchnorm"])
    assert any("running_mean" in k for k in rank0)
    for k in rank0:
        assert torch.equal(rank0[k], rank1[k]), f"replicas differ in {k}"

"""The distribution maps every subpackage folder, so the built wheel is complete."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP = {"core": "reelscope.core", "training": "reelscope.training", "demo": "reelscope.demo",
       "desktop": "reelscope.desktop", "resources": "reelscope.resources"}


def test_every_package_folder_is_in_the_distribution():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed, dirs = set(config["packages"]), config["package-dir"]
    for folder, name in TOP.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            package = ".".join((name, *rel))
            assert package in listed, f"{package} missing from [tool.setuptools] packages"
            assert dirs.get(package) == "/".join((folder, *rel)), f"{package} not mapped"


def test_module_entry_point_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "reelscope", "--version"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith("reelscope ")


def test_importing_reelscope_makes_openmp_wait_passively_unless_the_user_chose():
    probe = "import os, reelscope; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.strip() == "PASSIVE"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env={**env, "OMP_WAIT_POLICY": "ACTIVE"}, timeout=60)
    assert out.stdout.strip() == "ACTIVE"

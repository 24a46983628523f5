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


def _app_files():
    import importlib.util

    spec = importlib.util.spec_from_file_location("app_files", ROOT / "packaging" / "app_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_app_spec_carries_every_resource_file_and_every_module_loaded_by_name():
    import importlib.util

    app_files = _app_files()
    carried = {Path(src).resolve() for src, _ in app_files.data_files()}
    tracked = subprocess.run(["git", "ls-files", "resources"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    needed = {(ROOT / f).resolve() for f in tracked if not f.endswith(".py")} or \
        {p.resolve() for p in (ROOT / "resources").rglob("*") if p.is_file() and p.suffix != ".py"}
    assert needed and needed <= carried
    for src, dest in app_files.data_files():  # each lands where importlib.resources looks
        assert dest.startswith("reelscope/resources")
    from reelscope.desktop.main_window import VIEWS

    from reelscope.core.cli.main import COMMAND_MODULES

    hidden = app_files.hidden_imports()
    for _, module, _, _ in VIEWS:
        assert f"reelscope.desktop.{module}" in hidden
    assert set(COMMAND_MODULES) <= set(hidden)  # the frozen CLI once knew no command
    for name in hidden:
        assert importlib.util.find_spec(name) is not None, name
    spec = (ROOT / "packaging" / "reelscope.spec").read_text()
    assert "data_files()" in spec and "hidden_imports()" in spec
    assert "sys.path.insert" not in spec  # packaging/reelscope would shadow the installed package
    # PyInstaller searches the entry script's folder first: no raw reelscope/ package there.
    launcher = ROOT / "packaging" / "app" / "launcher.py"
    assert launcher.is_file() and '"app", "launcher.py"' in spec
    assert not (launcher.parent / "reelscope").exists()


def test_the_desktop_entry_and_metainfo_name_the_same_app_and_icons_exist():
    import configparser
    import xml.etree.ElementTree as ET

    entry = configparser.ConfigParser(interpolation=None)
    entry.read(ROOT / "packaging" / "linux" / "io.reelscope.Reelscope.desktop")
    icon = entry["Desktop Entry"]["Icon"]
    meta = ET.parse(ROOT / "packaging" / "linux" / "io.reelscope.Reelscope.metainfo.xml").getroot()
    assert meta.findtext("id") == icon
    assert meta.find("launchable").text == f"{icon}.desktop"
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        assert (ROOT / "resources" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{icon}.png").is_file()
    assert (ROOT / "resources" / "icons" / "hicolor" / "scalable" / "apps" / f"{icon}.svg").is_file()

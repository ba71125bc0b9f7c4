"""The vendored JavaScript of the HTML explorer: pinned by a manifest whose hashes hold, licensed to
be bundled, and shipped in the wheel."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "src" / "lineagectl" / "explore" / "assets"
MANIFEST = json.loads((ASSETS / "manifest.json").read_text(encoding="utf-8"))["files"]
# Permissive licences only: the page is one file a user passes around (no EPL/GPL code in it).
PERMISSIVE = {"MIT", "BSD-2-Clause", "BSD-3-Clause", "ISC", "Apache-2.0"}


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_each_vendored_file_has_the_manifest_hash(entry):
    assert hashlib.sha256((ASSETS / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]


def test_the_manifest_lists_every_file_and_nothing_else():
    on_disk = {p.name for p in ASSETS.iterdir()} - {"manifest.json"}
    assert on_disk == {e["file"] for e in MANIFEST}


def test_every_package_is_pinned_permissive_and_has_its_licence_text():
    packages = {(e["package"], e["version"], e["license"]) for e in MANIFEST}
    for package, version, licence in packages:
        assert licence in PERMISSIVE, package
        assert version.count(".") == 2 and not version.startswith(("^", "~")), (package, version)
        texts = [e["file"] for e in MANIFEST if e["package"] == package and e["file"].startswith("LICENSE")]
        assert texts, f"{package}: no licence text"
        assert "Permission is hereby granted" in (ASSETS / texts[0]).read_text(encoding="utf-8")
    # Code bundled inside another file names that file, which is vendored here too.
    files = {e["file"] for e in MANIFEST}
    assert all(e["bundled_in"] in files for e in MANIFEST if "bundled_in" in e)


def test_the_library_loads_the_scripts_the_manifest_pins():
    from lineagectl.explore import vendor

    pinned = {e["file"] for e in vendor.manifest()}
    assert set(vendor.SCRIPTS) <= pinned
    assert [len(s.encode()) for s in vendor.scripts()] == [(ASSETS / name).stat().st_size for name in vendor.SCRIPTS]


def test_a_built_wheel_carries_the_assets_and_the_page_files(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("lineagectl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = {f"lineagectl/explore/assets/{e['file']}" for e in MANIFEST} | {"lineagectl/explore/assets/manifest.json"}
    wanted |= {f"lineagectl/explore/web/{p.name}" for p in (ASSETS.parent / "web").iterdir()}
    assert wanted <= names, sorted(wanted - names)

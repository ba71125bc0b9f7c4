"""Refresh the JavaScript libraries the HTML explorer inlines, from the npm registry. Run by hand only.

    python scripts/refresh_vendor.py                 # the pinned versions below, downloaded again
    python scripts/refresh_vendor.py --latest        # the newest release of each (then review and test)

For each package: the registry's metadata for the version, its tarball checked against the
registry's ``dist.integrity`` (sha512), the listed files extracted into
``src/lineagectl/explore/assets/`` and ``manifest.json`` rewritten with each file's sha256, which
``tests/test_explore_assets.py`` recomputes. Packages whose code another file bundles
(``bundled_in``) give only their licence text. Nothing at build or run time calls this.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = "https://registry.npmjs.org"
ASSETS = Path(__file__).resolve().parent.parent / "src" / "lineagectl" / "explore" / "assets"
# (package, pinned version, {file in the tarball: file in assets}, what bundles its code)
PACKAGES = [
    ("cytoscape", "3.35.0", {"dist/cytoscape.min.js": "cytoscape.min.js", "LICENSE": "LICENSE.cytoscape"}, None),
    ("cytoscape-dagre", "4.0.1", {"dist/cytoscape-dagre.min.js": "cytoscape-dagre.min.js",
                                  "LICENSE": "LICENSE.cytoscape-dagre"}, None),
    # cytoscape-dagre 4 bundles dagre and graphlib in its dist file: their licences travel with it.
    ("@dagrejs/dagre", "3.1.3", {"LICENSE": "LICENSE.dagre"}, "cytoscape-dagre.min.js"),
    ("@dagrejs/graphlib", "4.0.6", {"LICENSE": "LICENSE.graphlib"}, "cytoscape-dagre.min.js"),
]
ALLOWED_LICENCES = {"MIT", "BSD-2-Clause", "BSD-3-Clause", "ISC", "Apache-2.0"}


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def _fetch(package: str, version: str) -> tuple[dict, tarfile.TarFile]:
    meta = json.loads(_get(f"{REGISTRY}/{package.replace('/', '%2F')}/{version}"))
    tarball = _get(meta["dist"]["tarball"])
    algorithm, _, digest = meta["dist"]["integrity"].partition("-")
    if base64.b64decode(digest) != hashlib.new(algorithm, tarball).digest():
        sys.exit(f"{package}@{version}: tarball does not match the registry's integrity {algorithm}")
    licence = meta.get("license")
    if licence not in ALLOWED_LICENCES:
        sys.exit(f"{package}@{version}: licence {licence!r} is not one the explorer may bundle")
    return meta, tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latest", action="store_true", help="take each package's newest release")
    latest = parser.parse_args().latest
    entries = []
    for package, pinned, files, bundled_in in PACKAGES:
        version = json.loads(_get(f"{REGISTRY}/{package.replace('/', '%2F')}/latest"))["version"] if latest else pinned
        meta, archive = _fetch(package, version)
        for inside, target in files.items():
            member = archive.extractfile(f"package/{inside}")
            if member is None:
                sys.exit(f"{package}@{version}: no {inside} in the tarball")
            data = member.read()
            (ASSETS / target).write_bytes(data)
            entries.append({"file": target, "package": package, "version": version, "license": meta["license"],
                            "source": f"{meta['dist']['tarball']}#{inside}",
                            "sha256": hashlib.sha256(data).hexdigest(),
                            **({"bundled_in": bundled_in} if bundled_in else {})})
        print(f"{package}@{version}: {', '.join(files.values())}")
    (ASSETS / "manifest.json").write_text(json.dumps({"files": entries}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Build the lab's container images (images/<name>/Dockerfile) through the docker SDK.

    python -m lab.runtime.clab.images [--tag TAG]        (scripts/build-images.sh, `make images`)

One chain so layers are shared: base -> router -> dnsnode -> client and resolver (the probe
runs on resolvers too: the dashboard measures their catchment with it).
The build context is a tar made in memory: the Dockerfile, and for the dnsnode image a
wheels/ directory (our package's wheel, built from a temp copy of the sources, plus the pinned
run-time dependencies, fetched with the host's pip), never the work tree with its .venv.
Needs a local debian:bookworm-slim (scripts/make-base-image.sh makes one where no registry
is reachable).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IMAGE_REPO = "anycast-lab"  # e.g. registry.example.net/anycast-lab for clabernetes
IMAGE_TAG = "0.1"
ROOT = Path(__file__).resolve().parents[3]  # the repository checkout (make images)
IMAGES_DIR = ROOT / "images"
BASE_IMAGE = "debian:bookworm-slim"
ORDER = ["base", "router", "dnsnode", "resolver", "client"]  # parents before children
SOURCES = ["pyproject.toml", "dnsnode", "lab"]  # what our package's wheel is built from
# what dnsnode imports at run time, pinned (the dnsnode image's build imports every module)
PY_DEPS = ["dnspython==2.9.2", "PyYAML==6.0.3", "prometheus_client==0.26.0"]
PY_VERSION = "3.11"  # bookworm's python3
LABEL = "anycast-lab.image"


class ImageError(RuntimeError):
    pass


@dataclass(frozen=True)
class Built:
    name: str
    tag: str
    seconds: float


def image_name(name: str, tag: str = IMAGE_TAG, repo: str = IMAGE_REPO) -> str:
    return f"{repo}/{name}:{tag}"


def _pip(*args: str) -> None:
    # fixed zip timestamps: the same sources give the same wheel, so docker's layer cache holds
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
    res = subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=600, env=env
    )
    if res.returncode != 0:
        raise ImageError(f"pip {' '.join(args[:2])} failed:\n{res.stderr.strip()[-1500:]}")


def wheels(out: Path) -> list[Path]:
    """Our package's wheel (from a copy of the sources: nothing is written in the work tree)
    and the pinned dependencies for bookworm's CPython on this machine's architecture."""
    src = out / "src"
    src.mkdir()
    for rel in SOURCES:
        if (ROOT / rel).is_dir():
            shutil.copytree(ROOT / rel, src / rel, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / rel, src / rel)
    dest = out / "wheels"
    _pip("wheel", "-q", "--no-deps", "--wheel-dir", str(dest), str(src))
    abi = "cp" + PY_VERSION.replace(".", "")
    _pip(
        "download", "-q", "--no-deps", "--only-binary=:all:", "--dest", str(dest),
        "--python-version", PY_VERSION, "--implementation", "cp", "--abi", abi,
        "--platform", f"manylinux2014_{platform.machine()}", *PY_DEPS,
    )  # fmt: skip
    return sorted(dest.glob("*.whl"))


def context_tar(name: str, wheel_files: list[Path] | None = None) -> bytes:
    """The build context of one image: its Dockerfile (plus wheels/ for the dnsnode image)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(IMAGES_DIR / name / "Dockerfile", arcname="Dockerfile")
        for w in wheel_files or []:
            tar.add(w, arcname=f"wheels/{w.name}")
    return buf.getvalue()


def build(
    client: Any,
    name: str,
    tag: str = IMAGE_TAG,
    log: Callable[[str], None] | None = None,
    wheel_files: list[Path] | None = None,
) -> Built:
    """Build one image; the error names the Dockerfile and the failing step's output."""
    t0 = time.monotonic()
    tail: list[str] = []
    stream = client.api.build(
        fileobj=io.BytesIO(context_tar(name, wheel_files)),
        custom_context=True,
        tag=image_name(name, tag),
        buildargs={"TAG": tag},
        labels={LABEL: name},
        rm=True,
        forcerm=True,  # intermediate containers go even when a step fails
        pull=False,  # parents are local: debian:bookworm-slim and our own images
        decode=True,
    )
    for chunk in stream:
        if "error" in chunk:
            detail = "".join(tail[-15:])
            raise ImageError(f"images/{name}/Dockerfile: {chunk['error'].strip()}\n{detail}")
        text = chunk.get("stream", "")
        if text:
            tail.append(text)
            if log:
                log(text.rstrip("\n"))
    return Built(name, image_name(name, tag), time.monotonic() - t0)


def build_all(client: Any, tag: str = IMAGE_TAG, log: Callable[[str], None] | None = None) -> list[Built]:
    try:
        client.images.get(BASE_IMAGE)
    except Exception as exc:
        raise ImageError(
            f"{BASE_IMAGE} is missing ({type(exc).__name__}): run scripts/make-base-image.sh "
            "(debootstrap + docker import; needs the Debian mirror) or pull it from a registry"
        ) from None
    with tempfile.TemporaryDirectory(prefix="anycast-lab-wheels.") as tmp:
        whl = wheels(Path(tmp))
        return [build(client, name, tag, log, whl if name == "dnsnode" else None) for name in ORDER]


def main(argv: list[str] | None = None) -> int:
    import docker

    p = argparse.ArgumentParser(prog="python -m lab.runtime.clab.images", description=__doc__.split("\n")[0])
    p.add_argument("--tag", default=IMAGE_TAG)
    p.add_argument("-v", "--verbose", action="store_true", help="print the build output")
    args = p.parse_args(argv)
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:
        print(f"dockerd is not reachable ({exc}): start it, then retry", file=sys.stderr)
        return 1
    t0 = time.monotonic()
    try:
        built = build_all(client, args.tag, print if args.verbose else None)
    except ImageError as exc:
        print(exc, file=sys.stderr)
        return 1
    for b in built:
        print(f"{b.tag:32} {b.seconds:6.1f}s")
    print(f"{len(built)} images in {time.monotonic() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

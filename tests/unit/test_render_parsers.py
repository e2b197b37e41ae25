"""Every rendered config passes its daemon's own parser (bird -p, vtysh --dryrun,
unbound-checkconf) and every YAML we render loads; for every shipped topology and both
forced daemons."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml

from lab.model.loader import load
from lab.render import RenderOptions, write

ROOT = Path(__file__).resolve().parents[2]
TOPOS = [ROOT / "topologies" / "workshop.yml", ROOT / "topologies" / "global.yml"]
TOPOS += [ROOT / "tests" / "data" / "topologies" / "good-knobs.yml"]
CASES = [(t, d) for t in TOPOS for d in (None, "frr", "bird")]

pytestmark = pytest.mark.integration


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (make setup installs it)")
    return path


def _check(cmd: list[str], what: Path) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"{what}: {' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}"


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0].stem}-{c[1] or 'mixed'}")
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    topo, daemon = request.param
    out = tmp_path_factory.mktemp("render")
    lab = load(topo, daemon)
    write(lab, out, RenderOptions(state_root=PurePosixPath(out)))
    return out


def test_bird_parses(rendered: Path) -> None:
    bird = _need("bird")
    for conf in sorted(rendered.glob("*/bird.conf")):
        _check([bird, "-p", "-c", str(conf)], conf)


def test_frr_parses(rendered: Path) -> None:
    vtysh = _need("vtysh")
    for conf in sorted(rendered.glob("*/frr.conf")):
        _check([vtysh, "--dryrun", "-f", str(conf)], conf)


def test_unbound_parses(rendered: Path) -> None:
    checkconf = _need("unbound-checkconf")
    for conf in sorted(rendered.glob("*/unbound.conf")):
        _check([checkconf, str(conf)], conf)


def test_yaml_and_zone_files_load(rendered: Path) -> None:
    import dns.zone

    for f in sorted(rendered.glob("*/*.yml")):
        assert isinstance(yaml.safe_load(f.read_text()), dict), f
    zones = sorted(rendered.glob("*/*.zone"))
    assert zones
    for z in zones:
        zone = dns.zone.from_file(str(z), origin="lab.example.", relativize=False)
        assert zone.get_soa() is not None


def test_a_broken_config_is_rejected(tmp_path: Path) -> None:
    """The parsers really check: a typo must fail."""
    bird = _need("bird")
    vtysh = _need("vtysh")
    bad_bird = tmp_path / "bird.conf"
    bad_bird.write_text("router id 198.18.0.1;\nprotocol bgp x { neighbour 198.19.0.1 as 64500; }\n")
    assert subprocess.run([bird, "-p", "-c", str(bad_bird)], capture_output=True, check=False).returncode != 0
    bad_frr = tmp_path / "frr.conf"
    bad_frr.write_text("router bgp 64500\n neighbor 198.19.0.1 remote-as 64501\n neighbor 198.19.0.1 bogus\n")
    proc = subprocess.run([vtysh, "--dryrun", "-f", str(bad_frr)], capture_output=True, check=False)
    assert proc.returncode != 0

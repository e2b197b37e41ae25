"""Every rendered config passes its daemon's own parser (bird -p, vtysh --dryrun,
unbound-checkconf, nsd-checkconf, knotc conf-check) and every YAML we render loads; for every
shipped topology (NSD and Knot sites and a Knot primary among them), the multi-router drafts
(OSPF, iBGP full mesh and reflectors, shared cluster ids) and a few generated internets (4-byte
ASNs, large action communities), each as written and on both forced daemons."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml

from lab.model.generate import generate, to_yaml
from lab.model.loader import load, loads
from lab.model.topology import Lab
from lab.render import RenderOptions, write

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "topologies"
TOPOS: list[str | int] = [str(p) for p in sorted((ROOT / "topologies").glob("*.yml"))]
TOPOS += [str(DATA / n) for n in ("good-knobs.yml", "good-multi.yml", "hot-potato.yml")]
TOPOS += [1, 8, 28]  # generate(seed): reflectors, shared cluster ids, 4-byte ASNs, actions
CASES = [(t, d) for t in TOPOS for d in (None, "frr", "bird")]


def _lab(topo: str | int, daemon: str | None) -> Lab:
    if isinstance(topo, int):
        return loads(to_yaml(generate(topo)), f"gen{topo}.yml", daemon)
    return load(topo, daemon)


def _id(case: tuple[str | int, str | None]) -> str:
    topo, daemon = case
    return f"{topo if isinstance(topo, int) else Path(topo).stem}-{daemon or 'mixed'}"


pytestmark = pytest.mark.integration


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (make setup installs it)")
    return path


def _check(cmd: list[str], what: Path) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"{what}: {' '.join(cmd)} failed:\n{proc.stdout}{proc.stderr}"


@pytest.fixture(scope="module", params=CASES, ids=_id)
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    topo, daemon = request.param
    out = tmp_path_factory.mktemp("render")
    write(_lab(topo, daemon), out, RenderOptions(state_root=PurePosixPath(out)))
    return out


def test_bird_parses(rendered: Path) -> None:
    bird = _need("bird")
    for conf in sorted(rendered.glob("*/bird.conf")):
        _check([bird, "-p", "-c", str(conf)], conf)


def test_frr_parses(rendered: Path) -> None:
    vtysh = _need("vtysh")
    for conf in sorted(rendered.glob("*/frr.conf")):
        _check([vtysh, "--dryrun", "-f", str(conf)], conf)


def test_multi_router_configs_say_what_the_contract_says() -> None:
    """OSPF on the internal links with their costs and the loopback; iBGP between loopbacks,
    next-hop-self, reflector clients with the cluster id (lab.model.topology's contract)."""
    lab = load(DATA / "good-multi.yml")
    from lab.render import render_files

    files = render_files(lab)
    for node in lab.nodes.values():
        if not node.runs_igp:
            continue
        conf = files[f"{node.name}/{'frr.conf' if node.daemon == 'frr' else 'bird.conf'}"]
        for i in node.igp_ifaces:
            want = f" ip ospf cost {i.igp_cost}" if node.daemon == "frr" else f"cost {i.igp_cost};"
            assert f"interface {i.name}" in conf or f'interface "{i.name}"' in conf, (node.name, i.name)
            assert want in conf, (node.name, i.name)
        for s in node.sessions:
            if not s.ibgp:
                continue
            if node.daemon == "frr":
                assert f" neighbor {s.peer4} update-source {s.local4}" in conf
                assert f"  neighbor {s.peer4} next-hop-self" in conf
                assert (f"  neighbor {s.peer4} route-reflector-client" in conf) == s.rr_client
            else:
                assert (
                    f"local {s.local4} as {node.asn};\n\tneighbor {s.peer4} as {node.asn};\n\tmultihop;"
                    in conf
                )
                assert "next hop self ebgp;" in conf
        if node.route_reflector:
            assert (
                f"bgp cluster-id {node.cluster_id}"
                if node.daemon == "frr"
                else f"rr cluster id {node.cluster_id};"
            ) in conf


def test_unbound_parses(rendered: Path) -> None:
    checkconf = _need("unbound-checkconf")
    for conf in sorted(rendered.glob("*/unbound.conf")):
        _check([checkconf, str(conf)], conf)


def test_nsd_parses(rendered: Path) -> None:
    checkconf = _need("nsd-checkconf")
    for conf in sorted(rendered.glob("*/nsd.conf")):
        _check([checkconf, str(conf)], conf)


def test_knot_parses(rendered: Path) -> None:
    knotc = _need("knotc")
    for conf in sorted(rendered.glob("*/knot.conf")):
        _check([knotc, "-c", str(conf), "conf-check"], conf)


def test_the_variant_renders_nsd_and_knot(tmp_path: Path) -> None:
    """The parsers above run on something: the variant has both kinds of config."""
    write(
        load(ROOT / "topologies" / "workshop-nsd-knot.yml"), tmp_path, RenderOptions(PurePosixPath(tmp_path))
    )
    assert [p.parent.name for p in sorted(tmp_path.glob("*/nsd.conf"))] == ["ams"]
    assert [p.parent.name for p in sorted(tmp_path.glob("*/knot.conf"))] == ["primary", "sin"]


def test_yaml_and_zone_files_load(rendered: Path) -> None:
    import dns.zone

    for f in sorted(rendered.glob("*/*.yml")):
        assert isinstance(yaml.safe_load(f.read_text()), dict), f
    zones = sorted(rendered.glob("*/*.zone"))
    assert zones
    for z in zones:
        zone = dns.zone.from_file(str(z), origin="lab.example.", relativize=False)
        assert zone.get_soa() is not None


def test_dnsnode_loads_its_config_and_geoip_file(rendered: Path) -> None:
    """dnsnode's own loader (the geoip file included, Knot's format) takes every dnsnode.yml."""
    from dnsnode.ops.configfile import load_config_file
    from dnsnode.steering.geofile import load_geo_file

    for conf in sorted(rendered.glob("*/dnsnode.yml")):
        cfg = load_config_file(conf)
        for zone in cfg.zones:
            if zone.geoip is not None:
                geo = load_geo_file(Path(zone.geoip.file), zone.geoip.mode)
                assert geo.names and all(n.views for n in geo.names), conf


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


def test_a_broken_nsd_or_knot_config_is_rejected(tmp_path: Path) -> None:
    nsd = _need("nsd-checkconf")
    knotc = _need("knotc")
    bad_nsd = tmp_path / "nsd.conf"
    bad_nsd.write_text('server:\n\tidentity: "x"\nzone:\n\tname: "lab.example."\n\trequest-xfr: 192.0.2.53\n')
    assert subprocess.run([nsd, str(bad_nsd)], capture_output=True, check=False).returncode != 0  # no key
    bad_knot = tmp_path / "knot.conf"
    bad_knot.write_text('zone:\n  - domain: "lab.example."\n    master: nowhere\n')  # an undefined remote
    proc = subprocess.run([knotc, "-c", str(bad_knot), "conf-check"], capture_output=True, check=False)
    assert proc.returncode != 0

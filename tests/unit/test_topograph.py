"""The topology's layered layout (pure) and `lab graph`'s picture: every node placed once and
apart, sites on top, a provider above its customers, hosts under their router; SVG and PNG."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cli.main import main
from lab.measure.picture import site_colours
from lab.model.loader import load
from lab.model.shipped import resolve, shipped
from lab.topograph.colours import site_hex
from lab.topograph.layout import layout


@pytest.mark.parametrize("name", sorted(shipped()))
def test_every_node_placed_apart_and_in_its_row(name: str) -> None:
    lab = load(resolve(name))
    lay = layout(lab)
    assert set(lay.places) == set(lab.nodes)
    spots = [(round(p.x, 3), round(p.y, 3)) for p in lay.places.values()]
    assert len(set(spots)) == len(spots), "two nodes on one spot"
    for n in lab.of_kind("site"):
        assert lay.places[n.name].y == 0
    for e in lay.edges:
        if e.kind == "p2c" and lab.nodes[e.b].kind != "site" and lab.nodes[e.a].kind != "site":
            assert lay.places[e.a].y < lay.places[e.b].y, (e.a, e.b)
        if e.kind == "lan":
            assert lay.places[e.b].y > lay.places[e.a].y  # a host under its router


def test_sites_keep_the_timelines_colours() -> None:
    lab = load(resolve("workshop-hijack"))
    hexes = site_hex(lab)
    assert set(hexes) == {"ams", "fra", "sin", "rogue"}
    assert hexes["ams"] == "#ff7f0e" and site_colours(["ams", "fra", "rogue", "sin"])["ams"] == "tab:orange"


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_lab_graph_writes_the_picture(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"workshop{suffix}"
    assert main(["graph", "workshop", "--out", str(out), "--without", "ams"]) == 0
    data = out.read_bytes()
    assert data.startswith(b"<?xml" if suffix == ".svg" else b"\x89PNG")
    if suffix == ".svg":
        assert b"alice" in data and b"without ams" in data


def test_lab_graph_refuses_other_formats_and_unknown_sites(tmp_path: Path) -> None:
    assert main(["graph", "workshop", "--out", str(tmp_path / "x.jpg")]) == 1
    assert main(["graph", "workshop", "--out", str(tmp_path / "x.svg"), "--without", "nowhere"]) == 1

from pathlib import Path

from lab.measure.picture import ANSWERED, Mark, Timeline, rows, site_colours, write
from lab.measure.report import ProbePoint


def test_a_site_keeps_its_colour_whatever_else_a_run_saw() -> None:
    alone = site_colours(["ams"])
    with_others = site_colours(["ams", "fra", "sin"])
    assert alone["ams"] == with_others["ams"]


def test_colours_are_distinct_unknown_is_grey_and_red_is_reserved() -> None:
    sites = ["sfo", "iad", "lhr", "fra", "sin", "nrt", "syd", "gru", "jnb", "?"]
    colours = site_colours(sites)
    named = [colours[s] for s in sites if s != "?"]
    assert len(set(named)) == len(named)
    assert colours["?"] == "grey"
    assert "red" not in named and "tab:red" not in named


# alice's IPv4 queries reach ams, her IPv6 queries fra (a v4/v6 split), one v6 query is lost;
# bob sends IPv4 only, and his resolver answers once and loses once.
KIND = {"d": "direct", "v": "v6", "r": "resolver"}
RAW = {
    "bob": [[0.0, "d", "sin"], [0.1, "r", "?"], [0.2, "r", None]],
    "alice": [[0.0, "d", "ams"], [0.0, "v", "fra"], [0.1, "v", None], [0.2, "d", "ams"], [0.2, "v", "fra"]],
}
RECORDS = {c: [ProbePoint(t, KIND[k], s) for t, k, s in rs] for c, rs in RAW.items()}


def test_each_client_gets_a_row_per_kind_it_sent_v4_beside_v6() -> None:
    rs = rows(RECORDS)
    assert [r.label for r in rs] == ["alice v4", "alice v6", "bob v4", "bob res"]
    v4, v6 = rs[0], rs[1]
    assert v4.by_site == {"ams": [0.0, 0.2]} and v4.lost == []
    assert v6.by_site == {"fra": [0.0, 0.2]} and v6.lost == [0.1]
    # a resolver's answer has no site: it must not take a site's colour
    assert rs[3].by_site == {ANSWERED: [0.1]} and rs[3].lost == [0.2]


def test_write_draws_a_png(tmp_path: Path) -> None:
    timeline = Timeline("t: convergence 0.2 s, lost 2", RECORDS, [Mark(0.05, "withdraw ams")], [0.07])
    out = write(timeline, tmp_path / "t.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

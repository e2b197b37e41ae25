from lab.timeline_png import site_colours


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

"""Failure-injection tests of our own network, against the real daemons (`pytest`, as root).

The anycast-lab plugin brings up topology.yml once per session (pytest.ini: lab_topology)
and offers it as the `anycast_lab` fixture; every fault is a context manager that undoes it.
"""

from lab.testing.lab import AnycastLab


def test_the_catchment_is_what_the_model_predicts(anycast_lab: AnycastLab) -> None:
    assert anycast_lab.catchment() == anycast_lab.predict() == {"ana": "lis", "ben": "rio"}
    assert anycast_lab.catchment(family=6) == {"ana": "lis", "ben": "rio"}


def test_withdraw(anycast_lab: AnycastLab) -> None:
    before = anycast_lab.catchment()  # measured now: client -> site
    with anycast_lab.faults.withdraw("rio"):  # undone on exit
        secs = anycast_lab.wait_catchment(anycast_lab.predict(without=["rio"]), timeout=20)
        assert anycast_lab.catchment()["ben"] == "lis"
    print(f"ben moved to lis in {secs:.2f} s")
    anycast_lab.wait_catchment(before, timeout=20)


def test_routers_as_their_operators_see_them(anycast_lab: AnycastLab) -> None:
    summary = anycast_lab.node("t1").vtysh_json("show bgp ipv4 unicast summary json")
    assert isinstance(summary, dict)
    assert all(p["state"] == "Established" for p in summary["peers"].values())
    assert "lis_4" in anycast_lab.node("t2").birdc("show protocols")
    best = anycast_lab.node("t2").best("198.51.100.0/25")
    assert best.best_peer == "rio" and best.as_path == (64496,)


def test_a_scenario_file_from_python(anycast_lab: AnycastLab) -> None:
    report = anycast_lab.run_scenario("scenarios/withdraw-rio.scenario.yml")
    assert report.ok, report.problems
    assert report.v4.lost == 0 and report.v4.after == {"ana": "lis", "ben": "lis"}

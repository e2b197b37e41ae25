"""`lab scenario run --runtime/--clab-deployer`: what lab it brings up, and the combinations
that are mistakes (they fail before anything is started)."""

import argparse

import pytest

from lab.cli.common import runtime_choice
from lab.cli.main import build_parser, main
from lab.errors import LabError


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["scenario", "run", "prepend", *argv])


@pytest.mark.parametrize(
    ("argv", "want"),
    [
        ((), ("netns", None)),
        (("--runtime", "netns"), ("netns", None)),
        (("--runtime", "clab"), ("clab", "containerlab")),  # lab up's default deployer
        (("--runtime", "clab", "--clab-deployer", "docker"), ("clab", "docker")),
        (("--name", "mylab"), ("netns", None)),  # the running lab's own runtime is used
    ],
)
def test_runtime_and_deployer_as_lab_up(argv: tuple[str, ...], want: tuple[str, str | None]) -> None:
    choice = runtime_choice(parse(*argv))
    assert (choice.runtime, choice.deployer_name or None) == want


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("--clab-deployer", "docker"), "needs --runtime clab"),
        (("--runtime", "netns", "--clab-deployer", "containerlab"), "needs --runtime clab"),
        (("--name", "mylab", "--runtime", "clab"), "drop them, or drop --name"),
    ],
)
def test_mistakes_are_refused_with_the_fix(argv: tuple[str, ...], says: str) -> None:
    with pytest.raises(LabError, match=says):
        args = parse(*argv)
        runtime_choice(args, running_lab=args.name)


def test_unknown_runtime_is_a_usage_error() -> None:
    with pytest.raises(SystemExit):
        parse("--runtime", "lxc")


def test_cli_exits_1_before_starting_anything(capsys: pytest.CaptureFixture[str]) -> None:
    # --name of a lab that does not exist: the option check comes first, nothing is brought up
    rc = main(["scenario", "run", "prepend", "--name", "no-such-lab", "--runtime", "clab"])
    assert rc == 1
    assert "drop them, or drop --name" in capsys.readouterr().err

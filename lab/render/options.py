"""Where rendered configs will live at run time: the only runtime knowledge a renderer needs.

Configs refer to sockets, pid files, zone files and the agent-owned BIRD include by absolute
path under `state_root/<node>/`. The runtime renders with the state_root it will use (and
copies or renders straight into it); the default keeps golden files machine-independent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from lab.model.topology import Lab

DEFAULT_STATE_ROOT = PurePosixPath("/run/anycast-lab")


@dataclass(frozen=True)
class RenderOptions:
    state_root: PurePosixPath | None = None  # default: /run/anycast-lab/<lab name>
    pathspace_prefix: str = ""  # FRR -N pathspace = prefix + node name

    def root(self, lab: Lab) -> PurePosixPath:
        return self.state_root or DEFAULT_STATE_ROOT / lab.name

    def node_dir(self, lab: Lab, node: str) -> PurePosixPath:
        return self.root(lab) / node

    def pathspace(self, node: str) -> str:
        return f"{self.pathspace_prefix}{node}"

    @staticmethod
    def source_name(lab: Lab) -> str:
        return PurePosixPath(lab.source).name

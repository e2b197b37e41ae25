"""Link impairments both runtimes apply the same way inside a node's network namespace."""

from __future__ import annotations


def loss_script(tool: str, ifname: str, loss_pct: float) -> str:
    """A shell script that drops `loss_pct` % of what arrives on `ifname` (raw PREROUTING, so
    before conntrack); idempotent: the chain is flushed and refilled on every call."""
    chain = f"LAB-LOSS-{ifname}"
    script = [
        f"{tool} -t raw -N {chain} 2>/dev/null || {tool} -t raw -F {chain}",
        f"{tool} -t raw -C PREROUTING -i {ifname} -j {chain} 2>/dev/null"
        f" || {tool} -t raw -A PREROUTING -i {ifname} -j {chain}",
    ]
    if loss_pct > 0:
        script.append(
            f"{tool} -t raw -A {chain} -m statistic --mode random --probability {loss_pct / 100:.6f} -j DROP"
        )
    return "; ".join(script)

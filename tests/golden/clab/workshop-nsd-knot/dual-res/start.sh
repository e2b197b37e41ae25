#!/bin/sh
# dual-res: resolver AS64512; rendered by anycast-lab from workshop-nsd-knot.yml
# containerlab runs this once the node's links exist (the node's `exec`): the same
# addresses, routes and processes as `lab up` on netns.
set -eu
D=/run/anycast-lab/dual-res
mkdir -p "$D"
cp /etc/anycast-lab/* "$D/"
# no lab traffic through the management interface (eth0): drop docker's default routes
ip -4 route del default 2>/dev/null || true
ip -6 route del default 2>/dev/null || true
# names resolve inside the lab only (never through docker's resolver on the host)
cat /etc/anycast-lab/resolv.conf > /etc/resolv.conf
ip -batch - <<'IP'
addr add 203.0.113.34/28 dev eth1
addr add 2001:db8:100:3::2/64 dev eth1 nodad
link set eth1 up
route add 0.0.0.0/0 via 203.0.113.33
route add ::/0 via 2001:db8:100:3::1
IP
# each process in its own session, output beside its configs (as on netns)
# and recorded as "PID START" (lab.runtime.clab: faults signal that PID, never a name)
start() { name=$1; shift; setsid "$@" </dev/null >"$D/$name.out" 2>&1 &
  echo "$! $(sed 's/.*) //' /proc/$!/stat | cut -d' ' -f20)" >"$D/$name.lab-pid"; }
ready() {
  n=0; while [ ! -e "$1" ]; do n=$((n + 1)); [ $n -le 300 ] || { echo "$1 missing after 30s" >&2; exit 1; }; sleep 0.1; done
}
start unbound unbound -d -c /run/anycast-lab/dual-res/unbound.conf

#!/bin/sh
# ams: site AS64496, bird; rendered by anycast-lab from workshop-nsd-knot.yml
# containerlab runs this once the node's links exist (the node's `exec`): the same
# addresses, routes and processes as `lab up` on netns.
set -eu
D=/run/anycast-lab/ams
mkdir -p "$D"
cp /etc/anycast-lab/* "$D/"
# no lab traffic through the management interface (eth0): drop docker's default routes
ip -4 route del default 2>/dev/null || true
ip -6 route del default 2>/dev/null || true
# names resolve inside the lab only (never through docker's resolver on the host)
cat /etc/anycast-lab/resolv.conf > /etc/resolv.conf
ip -batch - <<'IP'
addr add 198.18.0.6/32 dev lo
addr add 2001:db8:ff00::6/128 dev lo
addr add 198.51.100.129/32 dev lo
addr add 2001:db8:54::1/128 dev lo
addr add 198.51.100.53/32 dev lo
addr add 2001:db8:53::53/128 dev lo
addr add 198.19.0.11/31 dev eth1
addr add 2001:db8:ff01:6::2/126 dev eth1 nodad
link set eth1 up
IP
# each process in its own session, output beside its configs (as on netns)
# and recorded as "PID START" (lab.runtime.clab: faults signal that PID, never a name)
start() { name=$1; shift; setsid "$@" </dev/null >"$D/$name.out" 2>&1 &
  echo "$! $(sed 's/.*) //' /proc/$!/stat | cut -d' ' -f20)" >"$D/$name.lab-pid"; }
ready() {
  n=0; while [ ! -e "$1" ]; do n=$((n + 1)); [ $n -le 300 ] || { echo "$1 missing after 30s" >&2; exit 1; }; sleep 0.1; done
}
start bird bird -f -c /run/anycast-lab/ams/bird.conf -s /run/anycast-lab/ams/bird.ctl -P /run/anycast-lab/ams/bird.pid
ready /run/anycast-lab/ams/bird.ctl
start nsd nsd -d -c /run/anycast-lab/ams/nsd.conf
start agent dnsnode agent --config /run/anycast-lab/ams/agent.yml

#!/bin/sh
# tna-nyc: router AS64500, frr; rendered by anycast-lab from global.yml
# containerlab runs this once the node's links exist (the node's `exec`): the same
# addresses, routes and processes as `lab up` on netns.
set -eu
D=/run/anycast-lab/tna-nyc
mkdir -p "$D"
cp /etc/anycast-lab/* "$D/"
# FRR drops to user frr and writes its logs in the node directory
chown frr:frr "$D"
# no lab traffic through the management interface (eth0): drop docker's default routes
ip -4 route del default 2>/dev/null || true
ip -6 route del default 2>/dev/null || true
# names resolve inside the lab only (never through docker's resolver on the host)
cat /etc/anycast-lab/resolv.conf > /etc/resolv.conf
ip -batch - <<'IP'
addr add 198.18.0.1/32 dev lo
addr add 2001:db8:ff00::1/128 dev lo
addr add 198.19.0.0/31 dev eth1
addr add 2001:db8:ff01:1::1/126 dev eth1 nodad
link set eth1 up
addr add 198.19.0.8/31 dev eth2
addr add 2001:db8:ff01:5::1/126 dev eth2 nodad
link set eth2 up
addr add 198.19.0.14/31 dev eth3
addr add 2001:db8:ff01:8::1/126 dev eth3 nodad
link set eth3 up
addr add 198.19.0.24/31 dev eth4
addr add 2001:db8:ff01:d::1/126 dev eth4 nodad
link set eth4 up
addr add 198.19.0.42/31 dev eth5
addr add 2001:db8:ff01:16::1/126 dev eth5 nodad
link set eth5 up
addr add 192.0.2.1/24 dev eth6
addr add 2001:db8:2::1/64 dev eth6 nodad
link set eth6 up
IP
# each process in its own session, output beside its configs (as on netns)
# and recorded as "PID START" (lab.runtime.clab: faults signal that PID, never a name)
start() { name=$1; shift; setsid "$@" </dev/null >"$D/$name.out" 2>&1 &
  echo "$! $(sed 's/.*) //' /proc/$!/stat | cut -d' ' -f20)" >"$D/$name.lab-pid"; }
ready() {
  n=0; while [ ! -e "$1" ]; do n=$((n + 1)); [ $n -le 300 ] || { echo "$1 missing after 30s" >&2; exit 1; }; sleep 0.1; done
}
start zebra env MALLOC_MMAP_THRESHOLD_=131072 /usr/lib/frr/zebra -f /run/anycast-lab/tna-nyc/frr.conf --vty_socket /run/anycast-lab/tna-nyc -z /run/anycast-lab/tna-nyc/zserv.api -i /run/anycast-lab/tna-nyc/zebra.pid --log file:/run/anycast-lab/tna-nyc/zebra.log -P 0 --limit-fds 1024 -e 1
ready /run/anycast-lab/tna-nyc/zserv.api
start bgpd env MALLOC_MMAP_THRESHOLD_=131072 /usr/lib/frr/bgpd -f /run/anycast-lab/tna-nyc/frr.conf --vty_socket /run/anycast-lab/tna-nyc -z /run/anycast-lab/tna-nyc/zserv.api -i /run/anycast-lab/tna-nyc/bgpd.pid --log file:/run/anycast-lab/tna-nyc/bgpd.log -P 0 --limit-fds 1024 -e 1
start ospfd env MALLOC_MMAP_THRESHOLD_=131072 /usr/lib/frr/ospfd -f /run/anycast-lab/tna-nyc/frr.conf --vty_socket /run/anycast-lab/tna-nyc -z /run/anycast-lab/tna-nyc/zserv.api -i /run/anycast-lab/tna-nyc/ospfd.pid --log file:/run/anycast-lab/tna-nyc/ospfd.log -P 0 --limit-fds 1024
start ospf6d env MALLOC_MMAP_THRESHOLD_=131072 /usr/lib/frr/ospf6d -f /run/anycast-lab/tna-nyc/frr.conf --vty_socket /run/anycast-lab/tna-nyc -z /run/anycast-lab/tna-nyc/zserv.api -i /run/anycast-lab/tna-nyc/ospf6d.pid --log file:/run/anycast-lab/tna-nyc/ospf6d.log -P 0 --limit-fds 1024

#!/bin/sh
# carol: client AS64512; rendered by anycast-lab from workshop-nsd-knot.yml
# containerlab runs this once the node's links exist (the node's `exec`): the same
# addresses, routes and processes as `lab up` on netns.
set -eu
D=/run/anycast-lab/carol
mkdir -p "$D"
cp /etc/anycast-lab/* "$D/"
# no lab traffic through the management interface (eth0): drop docker's default routes
ip -4 route del default 2>/dev/null || true
ip -6 route del default 2>/dev/null || true
# names resolve inside the lab only (never through docker's resolver on the host)
cat /etc/anycast-lab/resolv.conf > /etc/resolv.conf
ip -batch - <<'IP'
addr add 203.0.113.35/28 dev eth1
addr add 2001:db8:100:3::3/64 dev eth1 nodad
link set eth1 up
route add 0.0.0.0/0 via 203.0.113.33
route add ::/0 via 2001:db8:100:3::1
IP

"""Listening sockets for UDP and TCP, IPv4 and IPv6, optionally shared by workers (SO_REUSEPORT)."""

from __future__ import annotations

import ipaddress
import socket

UDP_RCVBUF = 8 * 1024 * 1024  # absorbs bursts (dnsperf, reload pauses) instead of dropping queries


def family_of(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET


def _base(host: str, kind: socket.SocketKind, reuse_port: bool) -> socket.socket:
    family = family_of(host)
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    return sock


def udp_socket(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    sock = _base(host, socket.SOCK_DGRAM, reuse_port)
    for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        if opt is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, opt, UDP_RCVBUF)
            break
        except OSError:
            continue  # SO_RCVBUFFORCE needs CAP_NET_ADMIN; fall back to the capped SO_RCVBUF
    sock.bind((host, port))
    return sock


def tcp_socket(host: str, port: int, reuse_port: bool = False, backlog: int = 1024) -> socket.socket:
    sock = _base(host, socket.SOCK_STREAM, reuse_port)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.setblocking(False)
    return sock

"""The address guard: the service fetches URLs that callers give it, so it must not become their way into the
server's own network (loopback, private ranges, link-local, the cloud metadata service). Hosts are resolved here and
every address checked before any connection; the caller then connects to the checked address, so a DNS answer that
changes between the check and the connection (DNS rebinding) cannot slip a private address in."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import cast
from urllib.parse import urlsplit

from ..errors import BlobRefused, BlobUnreachable, BlobUnsupported
from ._locations import shown

ALLOW_HOSTS_SETTING = "TAILOR_ALLOW_HOSTS"

IPAddress = IPv4Address | IPv6Address

_DEFAULT_PORTS = {"http": 80, "https": 443}
_METADATA_ADDRESSES = frozenset(ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200"))
_CARRIER_GRADE_NAT = ip_network("100.64.0.0/10")  # not "private" to Python's ipaddress, but not public either
_NAT64 = ip_network("64:ff9b::/96")  # the last 32 bits are an IPv4 address


@dataclass(frozen=True)
class HostPort:
    host: str  # lower case, no brackets around IPv6, no trailing dot
    port: int

    @classmethod
    def of_url(cls, url: str) -> HostPort:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise BlobUnsupported(shown(url), "the URL's port is not a number from 0 to 65535") from None
        if not parts.hostname:
            raise BlobUnsupported(shown(url), "the URL names no host")
        return cls(parts.hostname.rstrip("."), port or _DEFAULT_PORTS.get(parts.scheme.lower(), 0))

    @classmethod
    def of_entry(cls, entry: str) -> HostPort:
        """An allow-list entry, "host:port" ("[::1]:10000" for IPv6)."""
        parts = urlsplit("//" + entry.strip())
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None:
            raise ValueError(f"{ALLOW_HOSTS_SETTING}: {entry!r} is not host:port (e.g. 127.0.0.1:10000)")
        return cls(parts.hostname.rstrip(".").lower(), port)

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Destination:
    """Where to connect for a URL: `address` is the checked IP to connect to, or None to connect by name (the
    guard is off, or the host is allowed)."""

    host_port: HostPort
    address: str | None


class AddressGuard:
    def __init__(self, enabled: bool, allow_hosts: frozenset[str]):
        self._enabled = enabled
        self._allowed = frozenset(HostPort.of_entry(entry) for entry in allow_hosts)

    def allows_by_name(self, host_port: HostPort) -> bool:
        """True when this host may be reached whatever it resolves to."""
        return not self._enabled or host_port in self._allowed

    def check(self, url: str, name: str) -> Destination:
        """Where to connect for `url`; BlobRefused, before any connection, when any address of its host is off
        limits. `name` is how messages name the URL."""
        host_port = HostPort.of_url(url)
        if self.allows_by_name(host_port):
            return Destination(host_port, None)
        addresses = _resolve(host_port, name)
        for address in addresses:
            reason = why_forbidden(address)
            if reason is not None:
                raise BlobRefused(
                    name,
                    f"{host_port.host} resolves to {address}, {reason}, which this server does not fetch from; "
                    f"an administrator can allow it by adding {host_port} to {ALLOW_HOSTS_SETTING}",
                )
        return Destination(host_port, str(addresses[0]))


def _resolve(host_port: HostPort, name: str) -> list[IPAddress]:
    try:
        found = socket.getaddrinfo(host_port.host, host_port.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise BlobUnreachable(name, f"cannot resolve the host {host_port.host!r} ({exc})") from None
    addresses = [
        # The host is a str (the stub's int is for a Python built without IPv6); drop an IPv6 scope ("fe80::1%eth0").
        ip_address(cast(str, sockaddr[0]).split("%", 1)[0])
        for family, _, _, _, sockaddr in found
        if family in (socket.AF_INET, socket.AF_INET6)
    ]
    if not addresses:
        raise BlobUnreachable(name, f"the host {host_port.host!r} has no IP address")
    return addresses


def why_forbidden(address: IPAddress) -> str | None:
    """Why the service must not connect to `address` (a phrase for messages), or None when it may."""
    if address in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(address, IPv6Address):
        # IPv6 forms that carry an IPv4 address reach that address: judge it as well.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and (reason := why_forbidden(embedded)) is not None:
            return reason
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address in _CARRIER_GRADE_NAT:
        return "a carrier-grade NAT address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a public address"
    return None

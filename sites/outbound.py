"""The guard on requests the console sends to addresses staff typed in.

Provider discovery (sites/services/providers.py) and webhook deliveries
(sites/services/webhooks.py) both connect only to public addresses: the
address judged is the one connected to (a pinned connection, so no DNS
rebinding between the check and the connect), and IPv6 forms that carry an
IPv4 address (NAT64, 6to4, Teredo, IPv4-compatible) are judged by that
address too.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket

# IPv6 forms that carry an IPv4 address in their last 32 bits and reach it
# through a translator or relay: is_global judges the IPv6 prefix (NAT64's
# well-known prefix and 6to4 count as global), so 64:ff9b::a9fe:a9fe would
# reach 169.254.169.254. The embedded address is checked as well.
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: never global
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated, RFC 4291


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    embedded = []
    if address.sixtofour:
        embedded.append(address.sixtofour)
    if address.teredo:
        embedded.extend(address.teredo)  # (server, client)
    if address in _NAT64_WELL_KNOWN or address in _IPV4_COMPATIBLE:
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return embedded


def address_is_public(ip: str, *, allow_loopback: bool = False) -> bool:
    """Whether connecting to `ip` reaches the public internet (and only that).

    `allow_loopback`: 127.0.0.0/8 and ::1 pass too (a receiver on this
    machine in development and tests); every other private, link-local,
    multicast or reserved address still fails.
    """
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if getattr(address, "ipv4_mapped", None):
        # ::ffff:a.b.c.d is the IPv4 socket itself; judge the IPv4 address alone.
        address = address.ipv4_mapped
    if allow_loopback and address.is_loopback:
        return True
    candidates = [address]
    if address.version == 6:
        if address in _NAT64_LOCAL_USE:
            return False
        candidates += _embedded_ipv4(address)
    return all(candidate.is_global and not candidate.is_multicast for candidate in candidates)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to an address already checked, with SNI and Host of the name."""

    def __init__(self, host, port, ip, **kwargs):
        super().__init__(host, port, **kwargs)
        self._ip = ip

    def connect(self):
        sock = socket.create_connection((self._ip, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, ip, **kwargs):
        super().__init__(host, port, **kwargs)
        self._ip = ip

    def connect(self):
        self.sock = socket.create_connection((self._ip, self.port), self.timeout)

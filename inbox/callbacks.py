"""Where decision callbacks may go: the guard against server-side request forgery (SSRF).

A callback URL is chosen by an agent, so Orchestra must not become a way to reach what only the
server can reach. Rules, checked when a proposal is submitted (addresses written as IP literals)
and again at every delivery, on the addresses the host name resolves to then:

- never: link-local addresses (169.254.0.0/16 and fe80::/10: cloud metadata services), the
  unspecified address, multicast and reserved ranges;
- when ``ORCHESTRA_WEBHOOK_ALLOWED_NETWORKS`` is set (comma-separated CIDRs, e.g.
  ``10.20.0.0/16,203.0.113.0/24``): only addresses inside those networks;
- otherwise any other address (agents of a self-hosted fleet usually live on private networks).

The delivery then connects to the vetted address itself (the URL's host is replaced by the IP, with
the original ``Host`` header and TLS server name), so a DNS answer that changes between the check
and the connection (DNS rebinding) cannot redirect it.
"""
import ipaddress
import socket
from dataclasses import dataclass, field

import httpx
from django.conf import settings


class UnsafeCallback(ValueError):
    """The callback URL points where Orchestra does not send decisions."""


@dataclass(frozen=True)
class Target:
    """Where to POST: ``url`` with the host replaced by a vetted IP, plus headers and httpx extensions."""

    url: str
    headers: dict = field(default_factory=dict)
    extensions: dict = field(default_factory=dict)


def allowed_networks() -> list:
    return [ipaddress.ip_network(n.strip(), strict=False)
            for n in settings.ORCHESTRA_WEBHOOK_ALLOWED_NETWORKS if n.strip()]


def check_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """Raise ``UnsafeCallback`` unless ``ip`` may receive callbacks (rules in the module docstring)."""
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    if ip.is_link_local or ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        raise UnsafeCallback(f"Callbacks are never sent to {ip} (link-local, unspecified, multicast or reserved).")
    networks = allowed_networks()
    if networks and not any(ip in net for net in networks):
        raise UnsafeCallback(f"{ip} is outside ORCHESTRA_WEBHOOK_ALLOWED_NETWORKS.")


def check_literal(url: str) -> None:
    """At submission: refuse a URL whose host is an IP literal that may not receive callbacks (host
    names are resolved and checked at delivery)."""
    host = httpx.URL(url).host
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return
    check_address(ip)


def resolve(url: str) -> Target:
    """Resolve the URL's host, check every address it resolves to, and pin the first one.

    Raises ``UnsafeCallback`` (an address may not receive callbacks, or the name does not resolve)."""
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parsed.host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeCallback(f"Cannot resolve {parsed.host}: {exc}") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for ip in addresses:
        check_address(ip)
    pinned = parsed.copy_with(host=str(addresses[0]))
    headers = {"Host": parsed.netloc.decode("ascii")}
    extensions = {"sni_hostname": parsed.host} if parsed.scheme == "https" else {}
    return Target(str(pinned), headers, extensions)

"""Webhook targets: which addresses a webhook step may reach, and the one HTTP POST that delivers it.

A webhook step is written by a manager but sent by the server, from inside its network.
So a target must resolve to public addresses only: loopback, private, link-local,
shared (CGNAT), multicast, reserved and cloud-metadata addresses (169.254.169.254,
fd00:ec2::254, ...) are refused, unless the host (or ``host:port``) is listed in
``CSAI_WEBHOOK_ALLOW_HOSTS``. The check runs when a step is saved (:func:`check_url`)
and again at delivery (:func:`post_json`), which connects to the address it has just
checked (the name is not resolved a second time, so DNS rebinding cannot swap it).

Delivery semantics: one POST, no redirects (a 3xx is a failure), the reply's body is
never read into the app (only its status code and the standard reason phrase), and an
``Idempotency-Key`` header carries the step id so a receiver can drop a repeat.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

import certifi
import urllib3

from playbooks.errors import PlaybookError

METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean
    "169.254.170.2",  # AWS ECS task metadata
    "100.100.100.200",  # Alibaba Cloud
    "fd00:ec2::254",  # AWS IPv6
))
BLOCKED_NAMES = ("localhost", "metadata.google.internal", "metadata")
BLOCKED_SUFFIXES = (".localhost", ".internal", ".local")
USER_AGENT = "csai-playbooks/1"


class WebhookRefused(PlaybookError):
    """The URL is not one the server may call (scheme, address)."""


@dataclass(frozen=True)
class Target:
    """A parsed webhook URL."""

    scheme: str
    host: str  # lower-case, no brackets
    port: int
    path: str  # path and query, as sent on the request line
    username: str | None = None
    password: str | None = None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_url(url: str) -> Target:
    """Split a webhook URL; only ``http`` and ``https`` with a host are accepted."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise WebhookRefused(f"'{url}' is not a valid URL; use https://host/path.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookRefused("'url' must start with http:// or https:// and name a host.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=parts.scheme, host=parts.hostname.lower().rstrip("."),
                  port=port or (443 if parts.scheme == "https" else 80), path=path,
                  username=parts.username, password=parts.password)


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a webhook URL, for messages: its path and query often hold a token."""
    try:
        target = parse_url(url)
    except WebhookRefused:
        return "the webhook URL"
    return f"{target.scheme}://{target.host_header}"


def is_allowed_host(target: Target, allow_hosts: tuple[str, ...] | list[str]) -> bool:
    """Whether ``CSAI_WEBHOOK_ALLOW_HOSTS`` lists the host (any port) or the host:port."""
    return target.host in allow_hosts or f"{target.host}:{target.port}" in allow_hosts


def blocked_reason(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why a webhook may not reach ``address`` (e.g. "a loopback address"), or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            return blocked_reason(embedded)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for test, what in (("is_unspecified", "an unspecified address"), ("is_loopback", "a loopback address"),
                       ("is_link_local", "a link-local address"), ("is_multicast", "a multicast address"),
                       ("is_private", "a private address"), ("is_reserved", "a reserved address")):
        if getattr(address, test):
            return what
    if not address.is_global:
        return "a non-public address"
    return None


def _refusal(target: Target, address: str, why: str) -> str:
    shown = target.host if target.host == address else f"{target.host} ({address})"
    return (f"webhooks may only call public addresses, and {shown} is {why}. If it is an internal "
            f"service you trust, an administrator can list {target.host} in CSAI_WEBHOOK_ALLOW_HOSTS.")


def resolve(target: Target) -> list[str]:
    """The addresses ``target.host`` resolves to (raises OSError when it does not resolve)."""
    infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def checked_addresses(target: Target, allow_hosts: tuple[str, ...] | list[str]) -> list[str]:
    """Resolve and check ``target``; raise :class:`WebhookRefused` if any address is not public.

    Names that do not resolve raise ``OSError`` (the caller decides whether that is final).
    """
    if is_allowed_host(target, allow_hosts):
        return resolve(target)
    internal_name = target.host in BLOCKED_NAMES or target.host.endswith(BLOCKED_SUFFIXES)
    try:
        addresses = resolve(target)
    except OSError:
        if internal_name:
            raise WebhookRefused(_refusal(target, target.host, "a local or internal name")) from None
        raise
    for address in addresses:
        why = blocked_reason(ipaddress.ip_address(address.split("%")[0]))
        if why:
            raise WebhookRefused(_refusal(target, address, why))
    if internal_name:
        raise WebhookRefused(_refusal(target, target.host, "a local or internal name"))
    return addresses


def check_url(url: str, allow_hosts: tuple[str, ...] | list[str], where: str = "Webhook") -> str:
    """Validate a webhook URL when a step is saved; returns it stripped, raises :class:`WebhookRefused`.

    A name that does not resolve now is accepted (it is checked again at every delivery).
    """
    target = parse_url(url)
    try:
        checked_addresses(target, allow_hosts)
    except WebhookRefused as exc:
        raise WebhookRefused(f"{where}: {exc}") from None
    except (OSError, UnicodeError):
        pass
    return url.strip()


@dataclass(frozen=True)
class Reply:
    """What is kept of a webhook's answer: the status and the standard reason phrase, never the body."""

    status: int

    @property
    def text(self) -> str:
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = ""
        return f"HTTP {self.status} {phrase}".strip()


def post_json(url: str, body, *, allow_hosts: tuple[str, ...] | list[str], timeout: float,
              idempotency_key: str) -> Reply:
    """POST ``body`` as JSON to the checked address of ``url``; no redirects, the reply body is discarded.

    Raises :class:`WebhookRefused` for a refused target, ``OSError`` when the name does not
    resolve, and ``urllib3.exceptions.HTTPError`` subclasses for network failures.
    """
    target = parse_url(url)
    address = checked_addresses(target, allow_hosts)[0].split("%")[0]
    headers = {"Host": target.host_header, "Content-Type": "application/json", "User-Agent": USER_AGENT,
               "Idempotency-Key": idempotency_key}
    if target.username is not None:
        headers.update(urllib3.util.make_headers(basic_auth=f"{target.username}:{target.password or ''}"))
    timeouts = urllib3.Timeout(connect=min(timeout, 10.0), read=timeout)
    if target.scheme == "https":
        context = ssl.create_default_context(cafile=certifi.where())
        pool = urllib3.HTTPSConnectionPool(address, target.port, timeout=timeouts, retries=False, maxsize=1,
                                           ssl_context=context, server_hostname=target.host,
                                           assert_hostname=target.host)
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, timeout=timeouts, retries=False, maxsize=1)
    with pool:
        resp = pool.urlopen("POST", target.path, body=json.dumps(body).encode(), headers=headers,
                            redirect=False, retries=False, preload_content=False, assert_same_host=False)
        status = resp.status
        resp.close()
    return Reply(status)

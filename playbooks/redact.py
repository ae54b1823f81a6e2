"""Hide secrets in playbook definitions and outbox rows from people who cannot edit playbooks.

Webhook URLs usually carry a token (chat incoming webhooks put it in the path, others in
the query string or the user-info part), so anyone who can read a full URL can post as
the integration. Only the roles that edit playbooks see them whole; everyone else sees
the scheme and host, e.g. ``https://hooks.example.com/…``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

HIDDEN = "…"
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>)\]]+")


def mask_url(url: str) -> str:
    """``scheme://host[:port]/…``: no user info, path, query or fragment. Unparseable text becomes ``…``."""
    try:
        parts = urlsplit(str(url).strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return HIDDEN
    if not parts.scheme or not host:
        return HIDDEN
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}/{HIDDEN}"


def mask_urls(text: str) -> str:
    """``text`` with every URL in it masked (error messages and results quote the URL they failed on)."""
    def masked(match: re.Match) -> str:
        url = match.group(0)
        tail = url[len(url.rstrip(".,:;!?")):]  # sentence punctuation after the URL stays
        return mask_url(url[:len(url) - len(tail)]) + tail

    return _URL_RE.sub(masked, str(text))


def mask_step(step: dict) -> dict:
    """A copy of a step definition or rendered payload with its ``url`` masked (other fields as they are)."""
    if not isinstance(step, dict) or "url" not in step:
        return step
    return {**step, "url": mask_url(step["url"])}

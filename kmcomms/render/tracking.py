"""Signed tracking addresses. A token names what it is for (a delivery's link, a
delivery's open pixel, a contact's unsubscribe) and carries an HMAC-SHA256 of that, made
with a key kept in the ledger (`kmcomms.ledger.tracking`): a token cannot be forged or guessed from another one, so the
server never redirects anywhere that was not registered (no open redirect) and nobody can
walk through deliveries or addresses (no enumeration).

    click        {base}/r/{delivery}.{link}.{signature}
    open pixel   {base}/o/{delivery}.{signature}.gif
    unsubscribe  {base}/u/{base64url(list \\n email)}.{signature}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

__all__ = ["Tracker"]

_SIGNATURE_CHARS = 22  # 132 bits of the HMAC, base64url


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


@dataclass(frozen=True)
class Tracker:
    """Makes and checks the tracking addresses under `base_url`."""

    base_url: str
    secret: str

    def _sign(self, *parts: str) -> str:
        message = "\x1f".join(parts).encode("utf-8")
        return _b64(hmac.new(self.secret.encode("ascii"), message, hashlib.sha256).digest())[:_SIGNATURE_CHARS]

    def _valid(self, signature: str, *parts: str) -> bool:
        return hmac.compare_digest(signature.encode("ascii", "replace"), self._sign(*parts).encode("ascii"))

    @property
    def _base(self) -> str:
        return self.base_url.rstrip("/")

    def click_url(self, delivery: str, link: str) -> str:
        """Where a reader clicks for link `link` of `delivery`."""
        return f"{self._base}/r/{delivery}.{link}.{self._sign('r', delivery, link)}"

    def open_url(self, delivery: str) -> str:
        """The newsletter open pixel of `delivery` (counted per delivery, not per person)."""
        return f"{self._base}/o/{delivery}.{self._sign('o', delivery)}.gif"

    def unsubscribe_url(self, contact_list: str, email: str) -> str:
        """The one-click unsubscribe address of `email` on `contact_list` (RFC 8058)."""
        subject = _b64(f"{contact_list}\n{email}".encode())
        return f"{self._base}/u/{subject}.{self._sign('u', contact_list, email)}"

    def read_click(self, token: str) -> tuple[str, str] | None:
        """(delivery, link) of a click token, or None when it is not one of ours."""
        parts = token.split(".")
        if len(parts) != 3 or not self._valid(parts[2], "r", parts[0], parts[1]):
            return None
        return parts[0], parts[1]

    def read_open(self, token: str) -> str | None:
        """The delivery of an open-pixel token (with or without ".gif"), or None."""
        parts = token.removesuffix(".gif").split(".")
        if len(parts) != 2 or not self._valid(parts[1], "o", parts[0]):
            return None
        return parts[0]

    def read_unsubscribe(self, token: str) -> tuple[str, str] | None:
        """(list, email) of an unsubscribe token, or None."""
        subject, _, signature = token.partition(".")
        raw = _unb64(subject)
        if raw is None:
            return None
        try:
            contact_list, email = raw.decode("utf-8").split("\n", 1)
        except (UnicodeDecodeError, ValueError):
            return None
        return (contact_list, email) if self._valid(signature, "u", contact_list, email) else None

"""The address of a Flower SuperLink, as ``--superlink`` gives it: ``HOST:PORT``, checked before anything
connects. A loopback SuperLink may be reached without TLS; any other only with TLS."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from offchain.errors import ConfigError

_FORM = re.compile(r"^(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<host>[A-Za-z0-9.-]+)):(?P<port>\d{1,5})$")


@dataclass(frozen=True)
class SuperLinkAddress:
    """A SuperLink's ``host`` and ``port`` (Flower 1.42 serves its Fleet, Control and Runtime APIs on one)."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> SuperLinkAddress:
        """``HOST:PORT`` or ``[IPv6]:PORT``, without a scheme; anything else is a ConfigError naming --superlink."""
        match = _FORM.match(text.strip())
        if match is None:
            raise ConfigError(f"--superlink {text!r}: expected HOST:PORT (e.g. 127.0.0.1:9093), without a scheme "
                              "such as http://")
        port = int(match["port"])
        if not 0 < port < 65536:
            raise ConfigError(f"--superlink {text!r}: the port must lie within 1..65535")
        return cls(match["v6"] or match["host"], port)

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

"""Adobe-style signing for tests: the simulator's key pairs and key server, re-exported."""

from tools.simulate.signing import KeyServer, SigningKey, signed_headers

__all__ = ["KeyServer", "SigningKey", "signed_headers"]

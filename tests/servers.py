"""Running an ASGI app on a real socket: the helper lives with the local stand-ins (the dev server
uses it too)."""

from scripts.standins.serving import serve

__all__ = ["serve"]

"""Local stand-ins for third-party services (Browserbase, the Zeus portal), shared by the tests and the dev server."""

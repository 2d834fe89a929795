"""Local fakes of third-party services, served over real HTTP for the real SDKs to call."""

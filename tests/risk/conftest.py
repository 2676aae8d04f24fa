"""The live stream's connection fixture, for the alert messages on a class's stream."""

from tests.live.conftest import connect

__all__ = ["connect"]

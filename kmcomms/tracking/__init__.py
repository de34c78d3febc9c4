"""Counting reach without third parties: signed tracking links, the open pixel and one-click
unsubscribe (`tokens`), and the small HTTP server that answers them (`server`)."""

from kmcomms.tracking.tokens import Tracker, register_links, tracker_for

__all__ = ["Tracker", "register_links", "tracker_for"]

"""The daemon: APScheduler as the clock, running publishing, reach collection, scheduled
reports and the tracking server in one process (`service`), and the demo that shows all of
it on a local workspace (`demo`). May import every stage before it; only `cli` imports it.
"""

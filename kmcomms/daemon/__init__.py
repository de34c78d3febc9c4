"""The daemon: APScheduler as the clock, running publishing, reach collection, scheduled
reports and the tracking server in one process (`service`; its jobs in `jobs`, the files and
signals it watches in `watch`, its log lines in `events`), and the demo that shows all of it
on a local workspace (`demo`). May import every stage before it; only `cli` imports it.
"""

"""Reach: what became of what went out. Records people enter (`records`, checked by `checks`,
imported from `spreadsheets`), figures collected from the channels' APIs (`collect`) and
kmcomms's own click, open and unsubscribe tracking (`tracking`, a small web server, answering
with `tracking_answers`). May import every stage before it, up to publish.
"""

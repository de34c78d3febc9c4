"""The kit for testing a channel adapter, kmcomms's own or a third party's: the top stage.

It may import anything in kmcomms; nothing in kmcomms imports it. Only test code imports
it, so it needs pytest and pytest-httpserver (`pip install kmcomms[testing]`), which
kmcomms itself does not. `contract`: the tests every remote adapter must pass
(`ChannelContract`, given a `Harness`); `fake_api`: the base of a fake platform on
loopback (`FakeApi`, `serve`); `drafts`: a draft of each kind to publish; `recording`:
`RecordingChannel`, a channel in memory for testing a workflow. See "Writing a channel"
in the README.
"""

"""The files people write, read and checked: `campaigns/*/campaign.yaml` with its Markdown
bodies (`load`, `models`, `fields`, `checks`, `placeholders`), `kmcomms.toml` (`workspace`),
what a schedule means (`schedule`), the kinds of channel (`adapters`) and starting points
for `kmcomms new` (`drafting`). May import: errors, files, logs.
"""

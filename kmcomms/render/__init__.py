"""Rendering: a planned delivery in, the exact draft its channel will receive out (`drafts`,
`renderer`, `markup`), with the checks a draft must pass before it goes (`preflight`), its
preview, the briefing PDF (`pdf`) and signed tracking addresses (`tracking`). Nothing is
sent. May import: errors, files, logs, campaign, plan, translations.
"""

"""Channels: where deliveries go, one module per adapter (the `Channel` interface in
`base`, adapters found by entry point in `registry`), with the machinery adapters share
beside them: `http` (remote APIs), `mail` and `contacts` (newsletters), `site` (the static
site). May import: errors, logs, files, campaign, plan, translations, render, ledger."""

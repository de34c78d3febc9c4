"""Publishing: the dispatcher that takes due deliveries from the ledger and hands each to its
channel exactly once (`dispatch`; its claims kept by `leases`, what came of each in
`outcomes`), what is due (`status`), approvals, notifications to people, and the runtime a
command or the daemon opens from a workspace. May import everything before it: errors,
files, logs, campaign, plan, translations, render, ledger, channels.
"""

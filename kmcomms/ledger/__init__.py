"""The ledger: the database that is the truth about what went out. Its tables (`tables`),
how the store opens and migrates (`store`), and every change of state as a named operation:
deliveries and the state diagram (`ledger`; `claims`, `sync`, `resolve`), `recipients`,
`contacts`, `reach`, `approvals`, `notifications`, `tracking`. Nothing outside this package
writes these tables.
May import: errors, files, logs, campaign, plan, translations, render.
"""

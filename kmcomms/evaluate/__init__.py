"""Evaluation: what a campaign achieved, as a pure function of plain data.

    deliveries, samples, evidence = ledger_view(engine, ["hpru-mmr"], end=as_of)
    result = evaluate(campaign, deliveries, samples, evidence, as_of)

`evaluate` (kmcomms.evaluate.compute) reads no database and no clock; `ledger_view`
(kmcomms.evaluate.ledger) reads the ledger into the input shapes, already reduced in SQL.
The shapes are in kmcomms.evaluate.model.
May import: errors, campaign, plan, ledger (reading only), reach.
"""

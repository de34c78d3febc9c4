"""kmcomms: plan, publish and evaluate knowledge-mobilisation campaigns.

The flow: campaign files → `campaign.load_paths` (validated models) → `plan.plan`
(deliveries) → ledger → render → channels → reach → evaluate → report.
"""

__version__ = "0.1.0"

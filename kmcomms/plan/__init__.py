"""Planning: loaded campaigns in, deliveries out (`deliveries`: who gets which message,
in which language, where, when), and the plan as a calendar feed (`calendar`). Pure: no
clock, no database. May import: errors, campaign.
"""

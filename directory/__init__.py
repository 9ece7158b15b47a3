"""The directory: tenants, their API tokens, users, groups and memberships.

This package owns the data and the rules that change it. It knows SQL and the
shape of the canonical SCIM documents it stores, never HTTP.
"""

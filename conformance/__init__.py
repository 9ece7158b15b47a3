"""Conformance runs against a live scimd: public tools (scim2-tester) and IdP flow replays."""

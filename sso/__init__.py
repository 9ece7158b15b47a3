"""Single sign-on: linking identity-provider identities to directory accounts.

Empty for now; the SSO linker issue fills it (Azure AD via msal and Microsoft
Graph, CSV files of ``email,object_id``, the link wizard, federated sign-in).
"""

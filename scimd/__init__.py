"""scimd: a SCIM 2.0 provisioning server with a directory store.

This package is the composition root: settings, the ASGI app factory and the
``scimd`` command line.
"""

__version__ = "0.1.0"

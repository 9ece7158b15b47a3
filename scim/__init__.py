"""The SCIM 2.0 protocol (RFC 7643, RFC 7644) over HTTP, on top of the directory."""

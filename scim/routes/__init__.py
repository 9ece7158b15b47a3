"""The SCIM endpoints, one module per resource type, plus discovery."""

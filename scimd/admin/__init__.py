"""The admin JSON API at ``/admin/v1``: what the console and the CLI are built on."""

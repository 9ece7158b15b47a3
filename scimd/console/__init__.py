"""The admin console: server-rendered pages under ``/console/`` for an admin's daily work.

The console is a client of the admin API and nothing more: every page reads, and every form
posts, through ``/admin/v1`` (in process, with the signed-in admin's credential), so each
action it offers has the API's rules, audit and tests behind it.
"""

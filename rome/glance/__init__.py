"""OpenStack Glance on ROME: ``rome glance serve`` (see :mod:`rome.glance.server`).

Glance itself is an optional dependency (``pip install 'rome-sql[glance]'``): nothing here imports it
at module level.
"""

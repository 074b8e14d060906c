"""OpenStack Keystone on ROME: ``rome keystone serve`` (see :mod:`rome.keystone.server`).

Keystone itself is an optional dependency (``pip install 'rome[keystone]'``): nothing here imports it
at module level.
"""

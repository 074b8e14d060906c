"""The version of ROME (distribution ``rome-sql`` on PyPI; the import name and the command are ``rome``)."""
VERSION = "0.1.0"
DISTRIBUTION = "rome-sql"

"""The mark of an unfinished copy: ``rome copy`` sets it in the catalog before its first row and clears
it in its last commit, so a copy that was interrupted never looks complete. Every transaction reads
the catalog anyway, so refusing a marked database costs nothing.

SQL interface (what ``rome copy`` uses; also for an operator looking at the pieces by hand):

- ``PRAGMA rome_unfinished_copy``: one row with the mark, or none;
- ``PRAGMA rome_unfinished_copy = 'text'`` sets the mark ('' clears it), in the current transaction;
- ``PRAGMA rome_open_unfinished = ON`` lets this connection use a marked database (setting the mark
  does too). Any other statement on a marked database raises OperationalError.
"""
from sqlglot import exp

from rome.errors import OperationalError, ProgrammingError
from rome.sql.context import Result

MARK = "rome_unfinished_copy"
OPEN = "rome_open_unfinished"
_TRUE, _FALSE = ("1", "on", "true", "yes"), ("0", "off", "false", "no")


def refusal(mark):
    return ("this database is an unfinished copy (%s): finish it with `rome copy --resume SRC DST`, "
            "or start over with `rome copy --force SRC DST`" % mark)


def check(session):
    """Raise OperationalError if the session's catalog is marked and the session may not use it."""
    mark = session.catalog.unfinished_copy
    if mark is not None and not session.open_unfinished:
        raise OperationalError(refusal(mark))


def pragma(session, stmt):
    """Run one of the PRAGMAs above; None for any other PRAGMA."""
    target = stmt.this
    name, value = (target.this, target.expression) if isinstance(target, exp.EQ) else (target, None)
    key = name.name.lower() if isinstance(name, (exp.Var, exp.Identifier, exp.Column)) else None
    if key == MARK:
        if value is None:
            mark = session.catalog.unfinished_copy
            return Result(("unfinished_copy",), [] if mark is None else [(mark,)])
        if not (isinstance(value, exp.Literal) and value.is_string):
            raise ProgrammingError("PRAGMA %s takes a string" % MARK)
        cat = session.catalog.copy()
        cat.unfinished_copy = value.this or None
        session.set_catalog(cat)
        session.open_unfinished = True
        return Result(rowcount=-1)
    if key == OPEN:
        if value is None:
            return Result(("open_unfinished",), [(int(session.open_unfinished),)])
        word = value.name.lower()
        if word not in _TRUE + _FALSE:
            raise ProgrammingError("PRAGMA %s takes ON or OFF" % OPEN)
        session.open_unfinished = word in _TRUE
        return Result(rowcount=-1)
    return None

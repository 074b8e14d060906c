"""``rome.retry``: run a whole transaction again when it loses a write conflict.

ROME's transactions are optimistic: a commit that finds what it read changed by another transaction
fails with :class:`rome.ConflictError` (under SQLAlchemy, an ``OperationalError`` whose ``orig`` is
one), and nothing of it is kept. The remedy is to run the transaction again from its first read, which
is what this helper does (as sqlalchemy-cockroachdb's ``run_transaction``)::

    def transfer(session):
        a = session.get(Account, 1)
        a.balance -= 10
        ...
    rome.retry(sessionmaker(engine), transfer)

``fn`` gets a Session (from a sessionmaker), a Connection (from an Engine) or the PEP 249 connection
itself, inside a transaction that is committed when ``fn`` returns; it must do all of its reads and
writes through what it is given, and may run several times, so it should have no other side effects.
Between attempts the helper sleeps a random time up to ``base_delay * 2**attempt`` (at most
``max_delay``: "full jitter", so that conflicting clients spread out), and gives up after ``attempts``
tries by raising the last conflict. Any other error is raised at once.
"""
import random
import time

from rome.errors import ConflictError

__all__ = ["retry", "is_conflict"]


def is_conflict(exc):
    """True for a ConflictError, raised by the driver or wrapped by SQLAlchemy (``exc.orig``)."""
    return isinstance(exc, ConflictError) or isinstance(getattr(exc, "orig", None), ConflictError)


def retry(target, fn, attempts=10, base_delay=0.005, max_delay=0.5, sleep=time.sleep):
    """Run ``fn`` in a transaction of ``target`` (an Engine, a sessionmaker, or a connection from
    ``rome.connect``) and commit; on a write conflict, roll back and run it again, at most
    ``attempts`` times in all. Returns what ``fn`` returned."""
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(attempts):
        try:
            return _once(target, fn)
        except Exception as e:
            if not is_conflict(e) or attempt == attempts - 1:
                raise
        sleep(random.uniform(0, min(max_delay, base_delay * 2 ** attempt)))


def _once(target, fn):
    if hasattr(target, "begin"):   # an Engine (a Connection each time) or a sessionmaker (a Session)
        with target.begin() as handle:
            return fn(handle)
    try:                           # a PEP 249 connection
        result = fn(target)
        target.commit()
        return result
    except BaseException:
        target.rollback()
        raise

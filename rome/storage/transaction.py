"""Transactions over a Store: buffered writes, recorded reads, savepoints, optimistic commit.

ISOLATION. A transaction reads from one snapshot of the store taken at its first read, overlaid with its
own buffered writes. Nothing reaches the store before commit. Every read that reaches the snapshot is
recorded in a ReadSet (point reads with the value seen, range scans with a digest of what they covered);
commit asks the store to validate that set against its latest state and apply the writes in one atomic
step. A transaction whose reads are no longer true gets Conflict and leaves nothing behind: commits are
serializable. A transaction that wrote nothing needs no validation (its snapshot was consistent) and
costs the store nothing at commit.

SAVEPOINTS. Writes go through an undo log; a savepoint is a position in it, so rolling back to one
(ROLLBACK TO SAVEPOINT, and the implicit savepoint around every statement that makes statements atomic)
costs the writes undone, not the size of the buffer. Reads are never forgotten: a read made before a
rolled-back savepoint still guards the commit (conservative, and still correct).
"""

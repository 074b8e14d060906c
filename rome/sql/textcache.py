"""A cache keyed by SQL text, bounded by an estimate of its entries' size in bytes rather than by
their number: a statement with a 2,000-value IN list of constants parses to some 800 kB, so a bound
by count let a few hundred long statements hold gigabytes (a run of ``?`` is one list parameter, see
rome.sql.parse.collapse_lists, and costs one entry whatever its length). An entry is estimated from its text's length; least recently used entries go first.
"""
import collections
import threading


class TextCache:
    OVERHEAD = 2048   # bytes an entry costs whatever its text

    def __init__(self, budget, bytes_per_char):
        self.budget = budget
        self.bytes_per_char = bytes_per_char
        self.used = 0
        self._entries = collections.OrderedDict()   # text -> (value, cost)
        self._lock = threading.Lock()

    def cost(self, text):
        return self.OVERHEAD + self.bytes_per_char * len(text)

    def __len__(self):
        return len(self._entries)

    def get(self, text):
        with self._lock:
            e = self._entries.get(text)
            if e is None:
                return None
            self._entries.move_to_end(text)
            return e[0]

    def put(self, text, value):
        """Keep value (not if it alone is over the budget); drop the least recently used to fit."""
        cost = self.cost(text)
        if cost > self.budget:
            return
        with self._lock:
            old = self._entries.pop(text, None)
            if old is not None:
                self.used -= old[1]
            self._entries[text] = (value, cost)
            self.used += cost
            while self.used > self.budget:
                _text, (_value, c) = self._entries.popitem(last=False)
                self.used -= c

    def clear(self):
        with self._lock:
            self._entries.clear()
            self.used = 0

"""How ``rome sql`` prints a result: ``table`` (aligned columns), ``csv`` or ``json``.

Everything is plain text: stored values are never interpreted as markup, never truncated, and in a
table the control characters of a value (terminal escape sequences included) are shown escaped.
BLOBs print as ``X'hex'`` in a table and as hex strings in csv and json; NULL is ``NULL`` in a
table, an empty field in csv and ``null`` in json.
"""
import csv
import json
import re

FORMATS = ("table", "csv", "json")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def table_cell(value):
    if value is None:
        return "NULL"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "X'%s'" % bytes(value).hex().upper()
    return _CONTROL.sub(lambda m: "\\x%02x" % ord(m.group()), str(value))


def _plain(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex().upper()
    return value


def write_table(out, columns, rows):
    cells = [[table_cell(v) for v in r] for r in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values):
        return " | ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip() + "\n"

    out.write(line([table_cell(c) for c in columns]))
    out.write("-+-".join("-" * w for w in widths) + "\n")
    for r in cells:
        out.write(line(r))
    out.write("(%d row%s)\n" % (len(rows), "" if len(rows) == 1 else "s"))


def write_csv(out, columns, rows):
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if v is None else _plain(v) for v in r])


def write_json(out, columns, rows):
    """An array of objects, one row a line (duplicate column names stay, as in sqlite3's shell)."""
    keys = [json.dumps(c) for c in columns]
    lines = ["{%s}" % ",".join("%s:%s" % (k, json.dumps(_plain(v), default=str)) for k, v in zip(keys, r))
             for r in rows]
    out.write("[" + ",\n".join(lines) + "]\n")


WRITERS = {"table": write_table, "csv": write_csv, "json": write_json}

"""Row values: the list of a row's column values by column id, marshalled.

Values are SQLite's storage classes (None, int, float, str, bytes), which marshal encodes compactly and
decodes fast. Column ids index the list, so a column added later is simply past the end of old rows, and
a dropped column leaves a slot nobody reads.

encode_row(values_by_id) takes a list indexed by column id (None for NULL and for unused ids);
decode_row(data) gives it back. They are marshal's own functions: rows are decoded in the innermost
loops, where a Python-level call per row would show.
"""
import marshal

encode_row = marshal.dumps
decode_row = marshal.loads

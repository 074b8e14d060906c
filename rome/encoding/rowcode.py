"""Row values: the list of a row's column values by column id, marshalled.

Values are SQLite's storage classes (None, int, float, str, bytes), which marshal encodes compactly and
decodes fast. Column ids index the list, so a column added later is simply past the end of old rows, and
a dropped column leaves a slot nobody reads.
"""
import marshal


def encode_row(values_by_id):
    """values_by_id: a list indexed by column id (None for NULL and for unused ids)."""
    return marshal.dumps(values_by_id)


def decode_row(data):
    return marshal.loads(data)

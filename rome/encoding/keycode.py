"""Order-preserving encoding of SQL values into byte strings.

Every key ROME writes is a concatenation of encoded values, and the store orders keys bytewise, so the
encoding must make byte order equal SQL order (SQLite's: NULL < numbers < text < blob). Each value starts
with a tag byte that sets that order between types:

    NULL     00
    number   02  f64 (8 bytes, big-endian, sign bit flipped, all bits flipped if negative) of the
                 value as a double d, then 01 for a float; for an integer: 02 if it equals d,
                 else 00 + i64 if below d, 03 + i64 if above (i64: big-endian, sign bit flipped)
    text     04  UTF-8, with 00 escaped as 00 FF, terminated by 00 00
    blob     05  bytes, escaped and terminated as text

Integers and floats share one tag so that 2 < 2.5 < 3 holds across them; the double orders them, and the
suffix keeps integers beyond 2**53 (which round to a double shared with their neighbours) distinct and
ordered on the right side of that double. The escaping keeps a string a
prefix of no other encoded string, so tuples compare column by column (toydb's keycode, CockroachDB's
encoding).
"""
import struct

NULL, NUMBER, TEXT, BLOB = 0x00, 0x02, 0x04, 0x05
_F64 = struct.Struct(">Q")
_D = struct.Struct(">d")
_NUMBER = struct.Struct(">BdB")  # tag, double, kind
_SIGN = 1 << 63
_MASK = (1 << 64) - 1
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 63) - 1
_EXACT = 1 << 53


def _float_bits(f):
    (bits,) = _F64.unpack(_D.pack(f))
    return bits ^ _MASK if bits & _SIGN else bits | _SIGN


def _escape(b):
    return b.replace(b"\x00", b"\x00\xff") + b"\x00\x00"


def encode_value(v):
    """Encode one SQL value (None, bool, int, float, str, bytes)."""
    if v is None:
        return b"\x00"
    t = type(v)
    if t is str:
        if "\x00" in v:
            return b"\x04" + _escape(v.encode("utf-8"))
        return b"\x04" + v.encode("utf-8") + b"\x00\x00"
    if t is int or t is bool:
        if 0 <= v < _EXACT:  # the bits of -d are d's with the sign bit set: its encoding
            return _NUMBER.pack(2, -float(v), 2)
        if not _INT_MIN <= v <= _INT_MAX:
            raise OverflowError("integer out of 64-bit range: %d" % v)
        d = float(v)
        head = b"\x02" + _F64.pack(_float_bits(d))
        if -_EXACT < v < _EXACT:
            return head + b"\x02"
        exact = int(d)
        if v == exact:
            return head + b"\x02"
        return head + (b"\x00" if v < exact else b"\x03") + _F64.pack((v + _SIGN) & _MASK)
    if t is float:
        if v != v:
            raise ValueError("NaN cannot be stored in a key")
        if v >= 0:
            return _NUMBER.pack(2, -(v + 0.0), 1)
        return b"\x02" + _F64.pack(_float_bits(v)) + b"\x01"
    if t is bytes or t is bytearray or t is memoryview:
        return b"\x05" + _escape(bytes(v))
    raise TypeError("cannot encode %r in a key" % (t.__name__,))


def encode_tuple(values):
    return b"".join([encode_value(v) for v in values])


def _unescape(buf, i):
    """The escaped bytes at buf[i:] (up to their 00 00 terminator) and the offset after them."""
    out = bytearray()
    while True:
        j = buf.index(b"\x00", i)
        out += buf[i:j]
        if buf[j + 1] == 0xFF:
            out.append(0)
            i = j + 2
        else:
            return bytes(out), j + 2


def decode_value(buf, i=0):
    """Decode the value at buf[i:]; returns (value, next offset)."""
    tag = buf[i]
    if tag == NUMBER:
        if buf[i + 1] & 0x80:  # d >= 0: its bits with the sign bit set, which read as -d
            f = -_D.unpack_from(buf, i + 1)[0]
        else:
            (bits,) = _F64.unpack_from(buf, i + 1)
            (f,) = _D.unpack(_F64.pack(bits ^ _MASK))
        kind = buf[i + 9]
        if kind == 2:
            return int(f), i + 10
        if kind == 1:
            return f, i + 10
        (u,) = _F64.unpack_from(buf, i + 10)
        return u - _SIGN, i + 18
    if tag == TEXT:
        j = buf.index(b"\x00", i + 1)
        if buf[j + 1] == 0:  # the common case: no escaped 00 inside
            return buf[i + 1:j].decode("utf-8"), j + 2
        raw, j = _unescape(buf, i + 1)
        return raw.decode("utf-8"), j
    if tag == NULL:
        return None, i + 1
    if tag == BLOB:
        return _unescape(buf, i + 1)
    raise ValueError("bad key tag %#x at %d" % (tag, i))


def decode_tuple(buf, i=0):
    """Decode every value from buf[i:] to the end, as a tuple. Text without an escaped 00 and
    integers >= 0 that a double holds exactly (most keys) are decoded inline."""
    out = []
    n = len(buf)
    while i < n:
        tag = buf[i]
        if tag == TEXT:
            j = buf.index(b"\x00", i + 1)
            if buf[j + 1] == 0:
                out.append(buf[i + 1:j].decode("utf-8"))
                i = j + 2
                continue
        elif tag == NUMBER and buf[i + 1] & 0x80 and buf[i + 9] == 2:
            out.append(int(-_D.unpack_from(buf, i + 1)[0]))
            i += 10
            continue
        v, i = decode_value(buf, i)
        out.append(v)
    return tuple(out)


_NEXT_BYTE = [bytes((i + 1,)) for i in range(255)]


def prefix_end(prefix):
    """The smallest key greater than every key starting with prefix (None: no such key)."""
    if type(prefix) is bytes and prefix and prefix[-1] != 0xFF:   # the usual case (a join's probe, once per outer row)
        return prefix[:-1] + _NEXT_BYTE[prefix[-1]]
    b = bytearray(prefix)
    while b and b[-1] == 0xFF:
        b.pop()
    if not b:
        return None
    b[-1] += 1
    return bytes(b)

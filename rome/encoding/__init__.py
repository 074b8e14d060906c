"""Byte encodings: order-preserving keys (keycode) and compact row values (rowcode)."""

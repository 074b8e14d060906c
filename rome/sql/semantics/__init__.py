"""SQLite's behaviour, as a library the rest of the engine calls: what a value is and how it compares
(:mod:`values`, :mod:`floats`), operators, scalar functions, aggregates, dates and JSON.

Nothing here plans or executes: a reader following a statement through the planner can skip this
package and take each call for "what SQLite does".
"""

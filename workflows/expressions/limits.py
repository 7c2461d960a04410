"""Bounds that keep every expression cheap, whoever wrote it and whatever data it reads."""

MAX_SOURCE_LENGTH = 10_000  # characters in one expression
MAX_DEPTH = 64  # nested sub-expressions (brackets, operands, arguments); also nesting of a rendered value
MAX_STEPS = 100_000  # expression nodes evaluated in one render() or evaluate() call
MAX_WORK = 10_000_000  # characters and items scanned or built in one render() or evaluate() call
MAX_SIZE = 1_000_000  # characters of any string, items of any list the evaluator builds
MAX_INT = 2**63  # every integer n keeps |n| < MAX_INT
MAX_ROUND_DIGITS = 15  # round(n) takes -15 <= n <= 15

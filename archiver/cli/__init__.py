"""The command line: a thin layer that parses options, calls one stage, renders its result."""

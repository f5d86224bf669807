"""The router learns from the city: a model trained on the city's own labelled complaints beside the keywords.

Pure functions over text, config and examples (no database): see the package's modules.
"""

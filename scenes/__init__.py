"""The visual vocabulary: theme, mobjects (nouns), animations (verbs) and beat scenes.

Importing this package is cheap: Manim is imported only by the modules that draw
(`scenes.beat`, `scenes.mobjects`, `scenes.visuals`), never by `spec`, `vocabulary`, `trace` or `theme`.
Nothing here imports torch: scenes see tensors only through the trace.
"""

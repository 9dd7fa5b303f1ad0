"""Mobjects (nouns) of the vocabulary. Import from the submodules: `scenes.mobjects.tensor_grid` etc."""

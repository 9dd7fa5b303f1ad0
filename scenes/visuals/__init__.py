"""Beat visuals: each takes a `VisualSpec` and a `BeatTrace` and plays its animation in steps."""

"""The Master Action Registry."""

"""Shared concepts every app uses; imports no project app."""

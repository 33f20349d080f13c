"""Presentation helpers of the CLI: views, prompts, progress, output and the error boundary."""

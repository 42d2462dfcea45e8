"""Running one task try: its context, inputs, logs, tracked run and outputs."""

"""GenAI tracing: OTLP mapping, and trackflow's trace API."""

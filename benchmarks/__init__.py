"""Side-by-side measurements against keras-hub and HF transformers (`python -m benchmarks`)."""

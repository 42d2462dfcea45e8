"""Model packaging in MLflow's model format: manifest, signatures, flavors, generic pyfunc loading."""

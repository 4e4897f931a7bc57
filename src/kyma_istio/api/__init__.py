"""The Istio custom resource as pure data: names, the pydantic model, conditions and the CRD."""

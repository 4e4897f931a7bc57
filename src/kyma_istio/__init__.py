"""kyma-istio-operator: installs and keeps Istio in line with one Kyma ``Istio`` custom resource."""

__version__ = "0.1.0"

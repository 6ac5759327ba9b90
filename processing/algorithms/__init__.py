"""One QgsProcessingAlgorithm per module; ALGORITHMS is what the provider registers."""

from .kernel_density import KernelDensity

ALGORITHMS = (KernelDensity,)

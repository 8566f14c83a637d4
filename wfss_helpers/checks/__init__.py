"""Checks of what a user passes in: arguments
(:mod:`~wfss_helpers.checks.arguments`) and files and data models
(:mod:`~wfss_helpers.checks.files`), each failing with an error that says what is
wrong and how to fix it. The lowest layer: it imports nothing else
from the package.
"""

from .arguments import (
    order_number,
    pixel_position,
    pixel_positions,
    pixel_values,
    trace_parameter_values,
    positive_number,
    wavelength_in_micron,
    trace_parameter_range,
    neighbour_positions,
)
from .files import (
    InvalidInputFileError,
    check_fits_file,
    check_processing,
    check_model,
    is_wfss,
    writable_directory,
)

__all__ = [
    "order_number",
    "pixel_position",
    "pixel_positions",
    "pixel_values",
    "trace_parameter_values",
    "positive_number",
    "wavelength_in_micron",
    "trace_parameter_range",
    "neighbour_positions",
    "InvalidInputFileError",
    "check_fits_file",
    "check_processing",
    "check_model",
    "is_wfss",
    "writable_directory",
]

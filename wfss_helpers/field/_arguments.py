"""Argument checks shared by the modules of :mod:`wfss_helpers.field`.

Whole numbers, instances of the field's classes, source ids (segment labels), grism
configurations and their orders, and the short lists of ids that messages quote. Each
check fails with an error that says what was given and what is expected.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = []


def _whole_number(value, name, *, minimum=1):
    """``value`` as an int >= ``minimum`` (an integral float such as 10.0 is taken)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a whole number, got {type(value).__name__} {value!r}."
        )
    number = float(value)
    if not np.isfinite(number) or number != np.floor(number) or number < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}.")
    return int(number)


def _check_instance(value, cls, name, how):
    """``value`` if it is a ``cls``, else a TypeError that says ``how`` to get one."""
    if not isinstance(value, cls):
        raise TypeError(
            f"{name} must be a {cls.__name__}, got {type(value).__name__}: {how}."
        )
    return value


def _as_source_id(value):
    """A source id (segment label) as an int; text of digits is accepted."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"A source id is a segment label (a whole number), got "
            f"{type(value).__name__} {value!r}."
        )
    if not float(value).is_integer():
        raise TypeError(
            f"A source id is a segment label (a whole number), got {value!r}."
        )
    return int(value)


def _some(values, n=8):
    """The first ``n`` values as text, with an ellipsis if there are more."""
    text = ", ".join(str(v) for v in list(values)[:n])
    return text + (", ..." if len(values) > n else "")


def _check_config(config):
    """``config`` if it is a grism configuration (a grismconf.Config), else an error."""
    from ..geometry.configuration import _is_grism_config

    if not _is_grism_config(config):
        raise TypeError(
            f"config must be a grismconf.Config, got {type(config).__name__} "
            f"{config!r:.80}: load it with "
            "wfss_helpers.geometry.configuration.load_grism_config(path) "
            "(the exposure's _cal.fits or the .conf file)."
        )
    return config


def _order_name(config, order):
    """The grismconf name of ``order`` (1 -> "+1"), checked against ``config``."""
    from ..geometry.configuration import order_name

    return order_name(config, order)


def _model_orders(config, orders):
    """The orders to model, as grismconf names, checked against the configuration."""
    if orders is None:
        return list(config.orders)
    if isinstance(orders, (str, bytes, numbers.Number)):
        orders = [orders]
    try:
        orders = list(orders)
    except TypeError:
        raise TypeError(
            f"orders must be an order or a list of them, e.g. [1, 2], got "
            f"{type(orders).__name__} {orders!r}."
        ) from None
    names = list(dict.fromkeys(_order_name(config, order) for order in orders))
    if not names:
        raise ValueError(
            "orders is empty: there is nothing to do. Give at least one order, e.g. "
            f"orders=[1] (the configuration has {', '.join(config.orders)}), or None "
            "for all of them."
        )
    return names

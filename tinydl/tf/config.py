"""``tf.config``: the devices tinydl can run on (the CPU, and the GPU when CuPy finds one)."""
from typing import NamedTuple

from ..backends import gpu_available


__all__ = ["PhysicalDevice", "experimental", "list_logical_devices", "list_physical_devices"]

class PhysicalDevice(NamedTuple):
    name: str
    device_type: str


def list_physical_devices(device_type=None):
    """``[PhysicalDevice('/physical_device:CPU:0', 'CPU')]``, plus the GPU when CuPy sees one."""
    devices = [PhysicalDevice("/physical_device:CPU:0", "CPU")]
    if device_type in (None, "GPU") and gpu_available():
        devices.append(PhysicalDevice("/physical_device:GPU:0", "GPU"))
    if device_type is not None:
        devices = [d for d in devices if d.device_type == str(device_type).upper()]
    return devices


def list_logical_devices(device_type=None):
    return list_physical_devices(device_type)


class experimental:  # noqa: N801 - tf.config.experimental's spelling
    @staticmethod
    def set_memory_growth(device, enable):
        """Accepted and ignored: tinydl allocates GPU memory through CuPy's pool."""

"""The device inventory: probe sysfs/udev into a tree, decide protection, summarise volumes."""

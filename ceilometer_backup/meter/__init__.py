"""The Ceilometer side: backup samples from notifications and polling."""

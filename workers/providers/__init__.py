"""Provider adapters: one module per wire format, registered in ``registry``."""

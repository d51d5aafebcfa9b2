"""Settings package: base (shared), development (local runserver), production."""

"""The Custom Vision face of the REST service (CUSTOMVISION.md): its gateway, wire schemas and routes."""

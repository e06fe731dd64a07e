"""The REST service (Image Analysis 4.0 model customization wire format, see shared API.md).

Empty until the service lands (issue 3): routes, wire schemas, auth, the error envelope, settings and the
metadata store will live here. Routes stay thin: parse, call one domain function, shape the response.
"""

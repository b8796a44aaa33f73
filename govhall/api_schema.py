"""The base of the public API's response schemas.

Every endpoint builds its answer as plain dicts and lists (the ``_summary``, ``_task`` … helpers
of each router), so a response needs pydantic's own validation and nothing more. ``ninja.Schema``
wraps every nested value in a ``DjangoGetter`` first (for attribute and dotted-path access to
model instances, resolvers, managers and files, none of which an answer uses), which made the
validation fifteen times dearer: the to-do list's page of 50 tasks took 2.2 ms against 0.15 ms
(docs/performance.md). Request schemas (query parameters, bodies) stay ``ninja.Schema``.
"""

from pydantic import BaseModel, ConfigDict


class ResponseSchema(BaseModel):
    """A response schema, filled from dicts (or from attributes, as ``ninja.Schema`` allows)."""

    model_config = ConfigDict(from_attributes=True)

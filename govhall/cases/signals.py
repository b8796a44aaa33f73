"""Signals other apps listen to, so that cases never import them.

``case_event_recorded`` is sent by every lifecycle service once a timeline line is written,
inside the service's transaction (after the case row holds its new state): receivers that keep
figures or warnings up to date do their writes in the same transaction, so a failed action leaves
no trace in them either. Keyword arguments: ``case`` (the Case, saved or about to be saved with
its new state, stage, dates and decision), ``event`` (the CaseEvent just created; ``event.action``
names what happened: submit, accept, refuse, correction_notify, correction_answer, review,
decide, result_issue, deliver, withdraw, return, special_procedure_start/end,
extension_request/approve/reject, auto_approve, auto_handover, commitment_verified/false, ...).
"""

from django.dispatch import Signal

case_event_recorded = Signal()

"""Signals other apps listen to, so that evaluations never import them.

``evaluation_recorded`` is sent inside the transaction that saves an evaluation (a first rating
or the applicant's follow-up rating). Keyword argument ``evaluation``: the saved Evaluation, with
``level`` (1 very dissatisfied … 5 very satisfied), ``is_bad`` (level ≤ 2), ``channel``
(online / window / sms), ``department_id``, ``region_id`` (the case's region),
``implementation_id``, ``hall_id`` (or None), ``case_id`` (or None for a hall visit),
``created_at``, and ``follow_up_of_id`` (None for a first rating). ``rectified`` is sent as
``evaluation_rectified`` with the same keyword when the department records a rectification.
"""

from django.dispatch import Signal

evaluation_recorded = Signal()
evaluation_rectified = Signal()

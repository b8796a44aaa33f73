"""Looking a case up by its reference: the row, or nothing, without an ORDER BY."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from govhall.cases import selectors
from tests.cases.factories import case_world, make_case, make_draft


@pytest.fixture
def world(db):
    return case_world()


def test_a_case_by_number_and_a_draft_by_its_reference_are_read_without_ordering(world):
    case = make_case(world=world, until="submitted")
    draft = make_draft(world=world)

    with CaptureQueriesContext(connection) as queries:
        by_number = selectors.case_get_for_applicant(number=case.number, user=world.applicant.user)
        by_reference = selectors.case_get_for_applicant(number=f"draft-{draft.pk}", user=world.applicant.user)
        missing = selectors.case_get_for_applicant(number="3301069999", user=world.applicant.user)
        numbered_draft = selectors.case_get_for_applicant(number=f"draft-{case.pk}", user=world.applicant.user)

    assert (by_number, by_reference, missing, numbered_draft) == (case, draft, None, None)
    assert by_number.implementation.entry.name and by_number.definition.form  # read with its item and definition
    reads = [query["sql"] for query in queries.captured_queries if 'FROM "cases_case"' in query["sql"]]
    assert len(reads) == 4
    assert not [sql for sql in reads if "ORDER BY" in sql]

"""Search over published implementations. (Being written: segmentation, index and ranking.)"""


def search_documents_refresh(*, implementation_ids: list[int]) -> None:
    """Re-index the given implementations after publication."""

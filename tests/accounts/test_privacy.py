import base64

import pytest
from cryptography.exceptions import InvalidTag

from govhall.accounts import privacy

NUMBER = "11010519491231002X"


def test_encrypted_value_decrypts_and_never_contains_the_clear_text():
    token = privacy.encrypt(NUMBER, purpose="identity_number")

    assert NUMBER not in token
    assert privacy.decrypt(token, purpose="identity_number") == NUMBER


def test_same_value_encrypts_differently_each_time_but_has_one_blind_index():
    first = privacy.encrypt(NUMBER, purpose="identity_number")
    second = privacy.encrypt(NUMBER, purpose="identity_number")

    assert first != second
    assert privacy.blind_index(NUMBER, purpose="identity_number") == privacy.blind_index(
        NUMBER, purpose="identity_number"
    )
    assert privacy.blind_index(NUMBER, purpose="identity_number") != privacy.blind_index(NUMBER, purpose="phone")


def test_ciphertext_moved_to_another_column_does_not_decrypt():
    token = privacy.encrypt("13812341234", purpose="phone")

    with pytest.raises(InvalidTag):
        privacy.decrypt(token, purpose="identity_number")


def test_rotated_key_ring_still_reads_old_values_and_seals_new_ones_with_the_new_key(settings):
    old_token = privacy.encrypt(NUMBER, purpose="identity_number")
    new_key = base64.b64encode(b"k" * 32).decode()
    settings.GOVHALL_DATA_KEYS = f"{settings.GOVHALL_DATA_KEYS},dev2:{new_key}"
    settings.GOVHALL_DATA_KEY_ID = "dev2"
    privacy.key_ring_reset()
    try:
        new_token = privacy.encrypt(NUMBER, purpose="identity_number")

        assert privacy.key_id_of(new_token) == "dev2"
        assert privacy.needs_rotation(old_token)
        assert privacy.decrypt(old_token, purpose="identity_number") == NUMBER
    finally:
        privacy.key_ring_reset()


@pytest.mark.parametrize(
    ("masker", "value", "masked"),
    [
        (privacy.mask_identity_number, NUMBER, "110***********002X"),
        (privacy.mask_phone, "13812341234", "138****1234"),
        (privacy.mask_name, "张三丰", "张**"),
    ],
)
def test_masks_keep_only_what_screens_may_show(masker, value, masked):
    assert masker(value) == masked

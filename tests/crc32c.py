"""CRC-32C (Castagnoli), a byte at a time from its definition: the tests'
own check of the checksums attntag writes and reads (docs/model-format.md)."""

_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ (0x82F63B78 if _c & 1 else 0)
    _TABLE.append(_c)


def crc32c(data, crc=0):
    """CRC-32C of data, continuing from crc (the CRC of what came before)."""
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF

#ifndef N2SP_CCHECKSUM_H
#define N2SP_CCHECKSUM_H

/* CRC32C (Castagnoli, reflected polynomial 0x82F63B78) as used by LevelDB tables and TensorFlow tensor
 * bundles, plus TensorFlow's "mask" that keeps CRCs of data containing CRCs from degenerating.
 * The hardware path (SSE4.2 crc32 instruction, ~10 GB/s) is chosen at run time; the slicing-by-8 table
 * fallback (~2 GB/s) keeps the code correct on CPUs without it. */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Returns the CRC32C of `crc`'s data followed by `data[0..<length]`. `crc` is a finished CRC
 * (0 for "no data yet"), so `n2sp_crc32c_extend(n2sp_crc32c_extend(0, a, n), b, m)` equals the CRC of a‖b. */
uint32_t n2sp_crc32c_extend(uint32_t crc, const void *data, size_t length);

/* CRC32C of `data[0..<length]`; "123456789" gives 0xE3069283. */
static inline uint32_t n2sp_crc32c(const void *data, size_t length) {
    return n2sp_crc32c_extend(0, data, length);
}

/* TensorFlow/LevelDB masking: rotate right by 15 bits, then add a constant (all mod 2^32). */
static inline uint32_t n2sp_crc32c_mask(uint32_t crc) {
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static inline uint32_t n2sp_crc32c_unmask(uint32_t masked) {
    uint32_t rot = masked - 0xa282ead8u;
    return (rot >> 17) | (rot << 15);
}

/* 1 if the SSE4.2 instruction path is in use (reported by benchmarks and tests). */
int n2sp_crc32c_uses_hardware(void);

/* The portable table implementation, exposed so tests can check both paths agree. */
uint32_t n2sp_crc32c_extend_portable(uint32_t crc, const void *data, size_t length);

#ifdef __cplusplus
}
#endif

#endif

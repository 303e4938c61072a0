/* HMAC-based one-time-password arithmetic over the compression functions of _sha.h.
 *
 * Pure C, no Python: a key's precomputed pad states (ts_key), the dynamic-truncation value of
 * HMAC(key, counter) one at a time or four interleaved on SHA-NI, job lists mixing keys, the
 * constant-time window scan, and the batch loop over items.  _cloop.c binds it to Python.
 */
#ifndef TOKENSIM_HMAC_H
#define TOKENSIM_HMAC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "_sha.h"

enum { ALG_SHA1 = 0, ALG_SHA256 = 1, ALG_SHA512 = 2 };

typedef struct {
    int alg;
    union {
        uint32_t w32[8];
        uint64_t w64[8];
    } inner, outer;
    /* SHA-1/SHA-256 pad states in the SHA-NI register layout: inner (2 vectors), outer (2 vectors) */
    uint32_t ni[16];
} ts_key;

/* dynamic-truncation value (31 bits) of HMAC(key, counter) */
typedef uint32_t (*dt_fn)(const ts_key *k, uint64_t counter);

static int use_shani = 0; /* SHA-NI code selected (cpuid at import, or forced) */

/* ------------------------------------------------------------------ HMAC over one block */

static inline uint32_t dt_extract(const uint8_t *digest, size_t len)
{
    unsigned off = digest[len - 1] & 0x0F;
    return ts_load32(digest + off) & 0x7FFFFFFFu;
}

#define TS_DEFINE_DT32(NAME, COMPRESS, NWORDS, DLEN, ATTR)                                \
    ATTR static uint32_t NAME(const ts_key *k, uint64_t counter)                          \
    {                                                                                     \
        uint32_t st[8];                                                                   \
        uint8_t blk[64];                                                                  \
        int i;                                                                            \
        memset(blk, 0, sizeof blk);                                                       \
        ts_store64(blk, counter);                                                         \
        blk[8] = 0x80;                                                                    \
        ts_store64(blk + 56, (uint64_t)(64 + 8) * 8);                                     \
        memcpy(st, k->inner.w32, sizeof(uint32_t) * (NWORDS));                            \
        COMPRESS(st, blk);                                                                \
        memset(blk, 0, sizeof blk);                                                       \
        for (i = 0; i < (NWORDS); i++)                                                    \
            ts_store32(blk + 4 * i, st[i]);                                               \
        blk[DLEN] = 0x80;                                                                 \
        ts_store64(blk + 56, (uint64_t)(64 + (DLEN)) * 8);                                \
        memcpy(st, k->outer.w32, sizeof(uint32_t) * (NWORDS));                            \
        COMPRESS(st, blk);                                                                \
        for (i = 0; i < (NWORDS); i++)                                                    \
            ts_store32(blk + 4 * i, st[i]);                                               \
        return dt_extract(blk, DLEN);                                                     \
    }

TS_DEFINE_DT32(dt_sha1_portable, sha1_compress_portable, 5, 20, )
TS_DEFINE_DT32(dt_sha256_portable, sha256_compress_portable, 8, 32, )
#if TOKENSIM_HAVE_SHANI
TS_DEFINE_DT32(dt_sha1_shani, sha1_compress_shani, 5, 20, TOKENSIM_SHANI_TARGET)
TS_DEFINE_DT32(dt_sha256_shani, sha256_compress_shani, 8, 32, TOKENSIM_SHANI_TARGET)
#endif

static uint32_t dt_sha512(const ts_key *k, uint64_t counter)
{
    uint64_t st[8];
    uint8_t blk[128];
    int i;
    memset(blk, 0, sizeof blk);
    ts_store64(blk, counter);
    blk[8] = 0x80;
    ts_store64(blk + 120, (uint64_t)(128 + 8) * 8); /* 128-bit length: high half stays zero */
    memcpy(st, k->inner.w64, sizeof st);
    sha512_compress_portable(st, blk);
    memset(blk, 0, sizeof blk);
    for (i = 0; i < 8; i++)
        ts_store64(blk + 8 * i, st[i]);
    blk[64] = 0x80;
    ts_store64(blk + 120, (uint64_t)(128 + 64) * 8);
    memcpy(st, k->outer.w64, sizeof st);
    sha512_compress_portable(st, blk);
    for (i = 0; i < 8; i++)
        ts_store64(blk + 8 * i, st[i]);
    return dt_extract(blk, 64);
}

/* ------------------------------------------------------------------ HMAC, L counters at once (SHA-NI) */

/* 31-bit dynamic truncation from big-endian digest words; `last` is the index of the last word. */
static inline uint32_t dt_words(const uint32_t *w, int last)
{
    unsigned off = w[last] & 0x0F, i = off >> 2, r = off & 3;
    uint64_t two = ((uint64_t)w[i] << 32) | w[i + 1];
    return (uint32_t)(two >> (32 - 8 * r)) & 0x7FFFFFFFu;
}

#if TOKENSIM_HAVE_SHANI
TOKENSIM_SHANI_TARGET __attribute__((always_inline))
static inline void hmac_sha1_ni(const int L, const ts_key *const *ks, const uint64_t *ctr, uint32_t *out)
{
    __m128i AB[4], EV[4], M0[4], M1[4], M2[4], M3[4];
    const __m128i zero = _mm_setzero_si128();
    int l;
    TS_FOR_L {
        uint64_t c = ctr[l];
        AB[l] = _mm_loadu_si128((const __m128i *)(ks[l]->ni + 0));
        EV[l] = _mm_loadu_si128((const __m128i *)(ks[l]->ni + 4));
        M0[l] = _mm_set_epi32((int)(uint32_t)(c >> 32), (int)(uint32_t)c, (int)0x80000000u, 0);
        M1[l] = zero;
        M2[l] = zero;
        M3[l] = _mm_set_epi32(0, 0, 0, (64 + 8) * 8);
    }
    sha1_ni_lanes(L, AB, EV, M0, M1, M2, M3);
    TS_FOR_L {
        M0[l] = AB[l];
        M1[l] = _mm_or_si128(EV[l], _mm_set_epi32(0, (int)0x80000000u, 0, 0));
        M2[l] = zero;
        M3[l] = _mm_set_epi32(0, 0, 0, (64 + 20) * 8);
        AB[l] = _mm_loadu_si128((const __m128i *)(ks[l]->ni + 8));
        EV[l] = _mm_loadu_si128((const __m128i *)(ks[l]->ni + 12));
    }
    sha1_ni_lanes(L, AB, EV, M0, M1, M2, M3);
    TS_FOR_L {
        uint32_t w[8];
        _mm_storeu_si128((__m128i *)w, _mm_shuffle_epi32(AB[l], 0x1B));
        w[4] = (uint32_t)_mm_extract_epi32(EV[l], 3);
        out[l] = dt_words(w, 4);
    }
}

TOKENSIM_SHANI_TARGET __attribute__((always_inline))
static inline void hmac_sha256_ni(const int L, const ts_key *const *ks, const uint64_t *ctr,
                                  uint32_t *out)
{
    __m128i S0[4], S1[4], M0[4], M1[4], M2[4], M3[4];
    const __m128i zero = _mm_setzero_si128();
    int l;
    TS_FOR_L {
        uint64_t c = ctr[l];
        S0[l] = _mm_loadu_si128((const __m128i *)(ks[l]->ni + 0));
        S1[l] = _mm_loadu_si128((const __m128i *)(ks[l]->ni + 4));
        M0[l] = _mm_set_epi32(0, (int)0x80000000u, (int)(uint32_t)c, (int)(uint32_t)(c >> 32));
        M1[l] = zero;
        M2[l] = zero;
        M3[l] = _mm_set_epi32((64 + 8) * 8, 0, 0, 0);
    }
    sha256_ni_lanes(L, S0, S1, M0, M1, M2, M3);
    TS_FOR_L {
        M0[l] = _mm_shuffle_epi32(_mm_unpackhi_epi64(S0[l], S1[l]), 0xB1); /* A B C D */
        M1[l] = _mm_shuffle_epi32(_mm_unpacklo_epi64(S0[l], S1[l]), 0xB1); /* E F G H */
        M2[l] = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
        M3[l] = _mm_set_epi32((64 + 32) * 8, 0, 0, 0);
        S0[l] = _mm_loadu_si128((const __m128i *)(ks[l]->ni + 8));
        S1[l] = _mm_loadu_si128((const __m128i *)(ks[l]->ni + 12));
    }
    sha256_ni_lanes(L, S0, S1, M0, M1, M2, M3);
    TS_FOR_L {
        uint32_t w[8];
        _mm_storeu_si128((__m128i *)w, _mm_shuffle_epi32(_mm_unpackhi_epi64(S0[l], S1[l]), 0xB1));
        _mm_storeu_si128((__m128i *)(w + 4), _mm_shuffle_epi32(_mm_unpacklo_epi64(S0[l], S1[l]), 0xB1));
        out[l] = dt_words(w, 7);
    }
}

#define TS_NI_VARIANT(NAME, BODY, L)                                                      \
    TOKENSIM_SHANI_TARGET static void NAME(const ts_key *const *k, const uint64_t *c, uint32_t *o) \
    {                                                                                     \
        BODY(L, k, c, o);                                                                 \
    }
TS_NI_VARIANT(hmac_sha1_ni1, hmac_sha1_ni, 1)
TS_NI_VARIANT(hmac_sha1_ni2, hmac_sha1_ni, 2)
TS_NI_VARIANT(hmac_sha1_ni3, hmac_sha1_ni, 3)
TS_NI_VARIANT(hmac_sha1_ni4, hmac_sha1_ni, 4)
TS_NI_VARIANT(hmac_sha256_ni1, hmac_sha256_ni, 1)
TS_NI_VARIANT(hmac_sha256_ni2, hmac_sha256_ni, 2)
TS_NI_VARIANT(hmac_sha256_ni3, hmac_sha256_ni, 3)
TS_NI_VARIANT(hmac_sha256_ni4, hmac_sha256_ni, 4)

typedef void (*lanes_fn)(const ts_key *const *ks, const uint64_t *ctr, uint32_t *out);
static const lanes_fn NI_LANES[2][5] = {
    {NULL, hmac_sha1_ni1, hmac_sha1_ni2, hmac_sha1_ni3, hmac_sha1_ni4},
    {NULL, hmac_sha256_ni1, hmac_sha256_ni2, hmac_sha256_ni3, hmac_sha256_ni4},
};
#endif

#define TS_MAX_LANES 4

static dt_fn dt_for(int alg);

/* Truncation values of n (key, counter) jobs.  Runs of up to four consecutive jobs of the same
 * algorithm share one interleaved SHA-NI call; SHA-512 and the portable code go one by one. */
static void hash_jobs(const ts_key *const *ks, const uint64_t *ctr, size_t n, uint32_t *out)
{
    size_t i = 0;
    while (i < n) {
        int alg = ks[i]->alg;
#if TOKENSIM_HAVE_SHANI
        if (use_shani && alg != ALG_SHA512) {
            size_t L = 1;
            while (L < TS_MAX_LANES && i + L < n && ks[i + L]->alg == alg)
                L++;
            NI_LANES[alg][L](ks + i, ctr + i, out + i);
            i += L;
            continue;
        }
#endif
        out[i] = dt_for(alg)(ks[i], ctr[i]);
        i++;
    }
}

/* Truncation values of counters start .. start + n - 1, n <= TS_CHUNK (no wrap: callers check). */
#define TS_CHUNK 64
static void window_values(const ts_key *k, uint64_t start, uint64_t n, uint32_t *out)
{
    const ts_key *ks[TS_CHUNK];
    uint64_t ctr[TS_CHUNK];
    uint64_t i;
    for (i = 0; i < n; i++) {
        ks[i] = k;
        ctr[i] = start + i;
    }
    hash_jobs(ks, ctr, (size_t)n, out);
}

static dt_fn dt_for(int alg)
{
    switch (alg) {
    case ALG_SHA1:
#if TOKENSIM_HAVE_SHANI
        if (use_shani)
            return dt_sha1_shani;
#endif
        return dt_sha1_portable;
    case ALG_SHA256:
#if TOKENSIM_HAVE_SHANI
        if (use_shani)
            return dt_sha256_shani;
#endif
        return dt_sha256_portable;
    default:
        return dt_sha512;
    }
}

/* ------------------------------------------------------------------ key set-up */

static const uint32_t IV_SHA1[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
static const uint32_t IV_SHA256[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                      0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
static const uint64_t IV_SHA512[8] = {0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull,
                                      0xa54ff53a5f1d36f1ull, 0x510e527fade682d1ull, 0x9b05688c2b3e6c1full,
                                      0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull};

static void compress_any(int alg, void *st, const uint8_t *blk)
{
    /* key set-up is not hot: always the portable code */
    if (alg == ALG_SHA1)
        sha1_compress_portable((uint32_t *)st, blk);
    else if (alg == ALG_SHA256)
        sha256_compress_portable((uint32_t *)st, blk);
    else
        sha512_compress_portable((uint64_t *)st, blk);
}

static void init_state(int alg, void *st)
{
    if (alg == ALG_SHA1)
        memcpy(st, IV_SHA1, sizeof IV_SHA1);
    else if (alg == ALG_SHA256)
        memcpy(st, IV_SHA256, sizeof IV_SHA256);
    else
        memcpy(st, IV_SHA512, sizeof IV_SHA512);
}

static size_t block_len(int alg) { return alg == ALG_SHA512 ? 128 : 64; }
static size_t digest_len(int alg) { return alg == ALG_SHA1 ? 20 : alg == ALG_SHA256 ? 32 : 64; }

static void serialize_state(int alg, const void *st, uint8_t *out)
{
    size_t i;
    if (alg == ALG_SHA512)
        for (i = 0; i < 8; i++)
            ts_store64(out + 8 * i, ((const uint64_t *)st)[i]);
    else
        for (i = 0; i < digest_len(alg) / 4; i++)
            ts_store32(out + 4 * i, ((const uint32_t *)st)[i]);
}

/* Whole-message hash, used only to shorten keys longer than one block (RFC 2104). */
static void hash_message(int alg, const uint8_t *msg, size_t len, uint8_t *out)
{
    uint64_t st[8];
    uint8_t blk[128];
    size_t bl = block_len(alg), done = 0, rest;
    init_state(alg, st);
    for (; len - done >= bl; done += bl)
        compress_any(alg, st, msg + done);
    rest = len - done;
    memset(blk, 0, sizeof blk);
    memcpy(blk, msg + done, rest);
    blk[rest] = 0x80;
    if (rest + 1 > bl - (bl == 128 ? 16 : 8)) {
        compress_any(alg, st, blk);
        memset(blk, 0, sizeof blk);
    }
    ts_store64(blk + bl - 8, (uint64_t)len * 8);
    compress_any(alg, st, blk);
    serialize_state(alg, st, out);
}

static void secure_zero(void *p, size_t n)
{
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n--)
        *v++ = 0;
}

/* SHA-1: ABCD vector (A in lane 3) then (e, 0, 0, 0); SHA-256: (F, E, B, A) then (H, G, D, C). */
static void ni_layout(int alg, const uint32_t *st, uint32_t *out)
{
    if (alg == ALG_SHA1) {
        uint32_t v[8] = {st[3], st[2], st[1], st[0], 0, 0, 0, st[4]};
        memcpy(out, v, sizeof v);
    } else if (alg == ALG_SHA256) {
        uint32_t v[8] = {st[5], st[4], st[1], st[0], st[7], st[6], st[3], st[2]};
        memcpy(out, v, sizeof v);
    } else {
        memset(out, 0, 8 * sizeof(uint32_t));
    }
}

static int ts_key_setup(ts_key *self, const uint8_t *key, size_t len, int alg)
{
    uint8_t k0[128], pad[128];
    size_t bl = block_len(alg), i;
    memset(k0, 0, sizeof k0);
    if (len > bl)
        hash_message(alg, key, len, k0);
    else
        memcpy(k0, key, len);
    self->alg = alg;
    for (i = 0; i < bl; i++)
        pad[i] = k0[i] ^ 0x36;
    init_state(alg, &self->inner);
    compress_any(alg, &self->inner, pad);
    for (i = 0; i < bl; i++)
        pad[i] = k0[i] ^ 0x5c;
    init_state(alg, &self->outer);
    compress_any(alg, &self->outer, pad);
    secure_zero(k0, sizeof k0);
    secure_zero(pad, sizeof pad);
    ni_layout(alg, self->inner.w32, self->ni);
    ni_layout(alg, self->outer.w32, self->ni + 8);
    return 0;
}

/* ------------------------------------------------------------------ window scan */

/* Reduction modulo 10**digits with compile-time divisors (no data-dependent division). */
static inline uint32_t mod_pow10(uint32_t v, int digits)
{
    switch (digits) {
    case 6: return v % 1000000u;
    case 7: return v % 10000000u;
    default: return v % 100000000u;
    }
}

/* Constant-time window scan: every counter computed and compared; returns the offset of the
 * first match or UINT64_MAX. */
static uint64_t scan_window(const ts_key *k, uint64_t start, uint64_t count, uint32_t want, int digits)
{
    uint64_t found = UINT64_MAX, base, i;
    uint32_t vals[TS_CHUNK];
    for (base = 0; base < count; base += TS_CHUNK) {
        uint64_t n = count - base < TS_CHUNK ? count - base : TS_CHUNK;
        window_values(k, start + base, n, vals);
        for (i = 0; i < n; i++) {
            uint32_t diff = mod_pow10(vals[i], digits) ^ want;
            uint64_t eq = ((uint64_t)diff - 1) >> 63;   /* 1 iff diff == 0 */
            uint64_t take = eq & (found >> 63);         /* and nothing found yet */
            uint64_t mask = (uint64_t)0 - take;
            found = (found & ~mask) | ((base + i) & mask);
        }
    }
    return found;
}

/* ------------------------------------------------------------------ batch verification */

#define MISS INT64_MIN

typedef struct {
    const ts_key *key;
    void *owner;      /* the caller's object holding the key (kept alive by the caller) */
    uint64_t start;   /* first counter of the window after clipping at 0 and 2**64-1 */
    int64_t lead;     /* centre - start, subtracted from the offset found */
    int64_t result;   /* signed offset from the centre, or MISS */
    uint32_t count;   /* window length after clipping */
    uint32_t want;
    int digits;
} Item;

static void item_result(Item *it, uint64_t found)
{
    it->result = found == UINT64_MAX ? MISS : (int64_t)found - it->lead;
}

/* Constant-time compare of one item's window values (see scan_window). */
static uint64_t first_match(const uint32_t *vals, uint32_t count, uint32_t want, int digits)
{
    uint64_t found = UINT64_MAX, i;
    for (i = 0; i < count; i++) {
        uint32_t diff = mod_pow10(vals[i], digits) ^ want;
        uint64_t take = (((uint64_t)diff - 1) >> 63) & (found >> 63);
        uint64_t mask = (uint64_t)0 - take;
        found = (found & ~mask) | (i & mask);
    }
    return found;
}

/* All items of a batch, without the GIL.  Small windows are flattened into one job list so the
 * interleaved SHA-NI lanes stay full across item boundaries; wide windows are scanned alone. */
#define TS_JOBS 64
#define TS_SMALL_WINDOW 16
static void run_items(Item *items, ptrdiff_t m)
{
    const ts_key *ks[TS_JOBS];
    uint64_t ctr[TS_JOBS];
    uint32_t vals[TS_JOBS];
    ptrdiff_t first = 0, i; /* items [first, i) are queued in the job list */
    size_t njobs = 0;
    for (i = 0; i <= m; i++) {
        uint32_t c = i < m ? items[i].count : 0;
        if (i < m && c > TS_SMALL_WINDOW) {
            item_result(&items[i], scan_window(items[i].key, items[i].start, c, items[i].want, items[i].digits));
            if (first == i)
                first = i + 1;
            else
                items[i].count = 0xFFFFFFFFu; /* done: skipped when the queue is flushed */
            continue;
        }
        if (i == m || njobs + c > TS_JOBS) {
            size_t off = 0;
            ptrdiff_t j;
            hash_jobs(ks, ctr, njobs, vals);
            for (j = first; j < i; j++) {
                Item *it = &items[j];
                if (it->count == 0xFFFFFFFFu)
                    continue;
                item_result(it, first_match(vals + off, it->count, it->want, it->digits));
                off += it->count;
            }
            njobs = 0;
            first = i;
            if (i == m)
                break;
        }
        {
            uint32_t k;
            for (k = 0; k < c; k++) {
                ks[njobs] = items[i].key;
                ctr[njobs] = items[i].start + k;
                njobs++;
            }
        }
    }
}

#endif /* TOKENSIM_HMAC_H */

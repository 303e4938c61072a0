/* tokens.hotloop._cloop: the compiled verification hot loop.
 *
 * Key(key: bytes, alg: int)          alg 0 = SHA1, 1 = SHA256, 2 = SHA512; HMAC pads hashed once
 *   .code(counter, digits=6) -> str
 *   .codes(start, count, digits=6) -> list[str]
 *   .scan(code, start, count, digits=6) -> int | None     constant time over the window
 * verify(keys, codes, centres, behind, ahead, digits, lo=0, hi=-1) -> list[int | None]
 *   items [lo, hi): signed offset of the first matching counter from the centre, or None;
 *   parsed with the GIL held, hashed without it
 * implementation() -> str / set_implementation(name)    "shani" or "portable" (tests, benchmarks)
 *
 * Cost per code: two compression calls (inner block = counter + padding, outer block = inner
 * digest + padding), both starting from the key's precomputed pad states.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#include "_sha.h"

enum { ALG_SHA1 = 0, ALG_SHA256 = 1, ALG_SHA512 = 2 };

typedef struct {
    PyObject_HEAD
    int alg;
    union {
        uint32_t w32[8];
        uint64_t w64[8];
    } inner, outer;
    /* SHA-1/SHA-256 pad states in the SHA-NI register layout: inner (2 vectors), outer (2 vectors) */
    uint32_t ni[16];
} KeyObject;

/* dynamic-truncation value (31 bits) of HMAC(key, counter) */
typedef uint32_t (*dt_fn)(const KeyObject *k, uint64_t counter);

static PyObject *InputError = NULL;
static int use_shani = 0;

/* ------------------------------------------------------------------ HMAC over one block */

static inline uint32_t dt_extract(const uint8_t *digest, size_t len)
{
    unsigned off = digest[len - 1] & 0x0F;
    return ts_load32(digest + off) & 0x7FFFFFFFu;
}

#define TS_DEFINE_DT32(NAME, COMPRESS, NWORDS, DLEN, ATTR)                            \
    ATTR static uint32_t NAME(const KeyObject *k, uint64_t counter)                   \
    {                                                                                 \
        uint32_t st[8];                                                               \
        uint8_t blk[64];                                                              \
        int i;                                                                        \
        memset(blk, 0, sizeof blk);                                                   \
        ts_store64(blk, counter);                                                     \
        blk[8] = 0x80;                                                                \
        ts_store64(blk + 56, (uint64_t)(64 + 8) * 8);                                 \
        memcpy(st, k->inner.w32, sizeof(uint32_t) * (NWORDS));                       \
        COMPRESS(st, blk);                                                            \
        memset(blk, 0, sizeof blk);                                                   \
        for (i = 0; i < (NWORDS); i++)                                                \
            ts_store32(blk + 4 * i, st[i]);                                           \
        blk[DLEN] = 0x80;                                                             \
        ts_store64(blk + 56, (uint64_t)(64 + (DLEN)) * 8);                            \
        memcpy(st, k->outer.w32, sizeof(uint32_t) * (NWORDS));                        \
        COMPRESS(st, blk);                                                            \
        for (i = 0; i < (NWORDS); i++)                                                \
            ts_store32(blk + 4 * i, st[i]);                                           \
        return dt_extract(blk, DLEN);                                                 \
    }

TS_DEFINE_DT32(dt_sha1_portable, sha1_compress_portable, 5, 20, )
TS_DEFINE_DT32(dt_sha256_portable, sha256_compress_portable, 8, 32, )
#if TOKENSIM_HAVE_SHANI
TS_DEFINE_DT32(dt_sha1_shani, sha1_compress_shani, 5, 20, TOKENSIM_SHANI_TARGET)
TS_DEFINE_DT32(dt_sha256_shani, sha256_compress_shani, 8, 32, TOKENSIM_SHANI_TARGET)
#endif

static uint32_t dt_sha512(const KeyObject *k, uint64_t counter)
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
static inline void hmac_sha1_ni(const int L, const KeyObject *const *ks, const uint64_t *ctr, uint32_t *out)
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
static inline void hmac_sha256_ni(const int L, const KeyObject *const *ks, const uint64_t *ctr,
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

#define TS_NI_VARIANT(NAME, BODY, L)                                                        \
    TOKENSIM_SHANI_TARGET static void NAME(const KeyObject *const *k, const uint64_t *c, uint32_t *o) \
    {                                                                                       \
        BODY(L, k, c, o);                                                                   \
    }
TS_NI_VARIANT(hmac_sha1_ni1, hmac_sha1_ni, 1)
TS_NI_VARIANT(hmac_sha1_ni2, hmac_sha1_ni, 2)
TS_NI_VARIANT(hmac_sha1_ni3, hmac_sha1_ni, 3)
TS_NI_VARIANT(hmac_sha1_ni4, hmac_sha1_ni, 4)
TS_NI_VARIANT(hmac_sha256_ni1, hmac_sha256_ni, 1)
TS_NI_VARIANT(hmac_sha256_ni2, hmac_sha256_ni, 2)
TS_NI_VARIANT(hmac_sha256_ni3, hmac_sha256_ni, 3)
TS_NI_VARIANT(hmac_sha256_ni4, hmac_sha256_ni, 4)

typedef void (*lanes_fn)(const KeyObject *const *ks, const uint64_t *ctr, uint32_t *out);
static const lanes_fn NI_LANES[2][5] = {
    {NULL, hmac_sha1_ni1, hmac_sha1_ni2, hmac_sha1_ni3, hmac_sha1_ni4},
    {NULL, hmac_sha256_ni1, hmac_sha256_ni2, hmac_sha256_ni3, hmac_sha256_ni4},
};
#endif

#define TS_MAX_LANES 4

static dt_fn dt_for(int alg);

/* Truncation values of n (key, counter) jobs.  Runs of up to four consecutive jobs of the same
 * algorithm share one interleaved SHA-NI call; SHA-512 and the portable code go one by one. */
static void hash_jobs(const KeyObject *const *ks, const uint64_t *ctr, size_t n, uint32_t *out)
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
static void window_values(const KeyObject *k, uint64_t start, uint64_t n, uint32_t *out)
{
    const KeyObject *ks[TS_CHUNK];
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

static int key_setup(KeyObject *self, const uint8_t *key, size_t len, int alg)
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

/* ------------------------------------------------------------------ argument checks */


static int parse_digits(PyObject *o, int *digits)
{
    long v;
    if (o == NULL) {
        *digits = 6;
        return 0;
    }
    if (!PyLong_CheckExact(o)) {
        PyErr_Format(InputError, "digits must be 6, 7 or 8 (got %R)", o);
        return -1;
    }
    v = PyLong_AsLong(o);
    if (v < 6 || v > 8) {
        PyErr_Clear();
        PyErr_Format(InputError, "digits must be 6, 7 or 8 (got %R)", o);
        return -1;
    }
    *digits = (int)v;
    return 0;
}

/* A non-negative int below 2**64 (bool refused). */
static int parse_u64(PyObject *o, const char *what, uint64_t *out)
{
    unsigned long long v;
    if (!PyLong_Check(o) || PyBool_Check(o)) {
        PyErr_Format(InputError, "%s must be an int (got %.80s)", what, Py_TYPE(o)->tp_name);
        return -1;
    }
    v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(InputError, "%s must be from 0 to 2**64-1 (got %R)", what, o);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* A code: str of exactly `digits` ASCII digits -> its value. */
static int parse_code(PyObject *o, int digits, uint32_t *out)
{
    Py_ssize_t n, i;
    const char *s;
    uint32_t v = 0;
    if (!PyUnicode_Check(o)) {
        PyErr_Format(InputError, "a code must be a str (got %.80s)", Py_TYPE(o)->tp_name);
        return -1;
    }
    if (PyUnicode_IS_COMPACT_ASCII(o)) { /* the usual case: no call, no copy */
        n = PyUnicode_GET_LENGTH(o);
        s = (const char *)PyUnicode_DATA(o);
    } else {
        s = PyUnicode_AsUTF8AndSize(o, &n);
    }
    if (s == NULL) {
        PyErr_Clear();
        PyErr_SetString(InputError, "a code must be ASCII digits");
        return -1;
    }
    if (n != digits) {
        PyErr_Format(InputError, "a code must have %d digits (got %zd characters)", digits, n);
        return -1;
    }
    for (i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i] - '0';
        if (c > 9) {
            PyErr_SetString(InputError, "a code must contain only the digits 0-9");
            return -1;
        }
        v = v * 10 + c;
    }
    *out = v;
    return 0;
}

/* Windows hold at most 2**24 counters (0.6 s of hashing) and stay below 2**64. */
#define TS_MAX_WINDOW ((uint64_t)1 << 24)
static int check_window(uint64_t start, uint64_t count)
{
    if (count > TS_MAX_WINDOW) {
        PyErr_SetString(InputError, "a window holds at most 2**24 counters");
        return -1;
    }
    if (count > 0 && start > UINT64_MAX - (count - 1)) {
        PyErr_SetString(InputError, "counter window runs past 2**64-1");
        return -1;
    }
    return 0;
}

static PyObject *format_code(uint32_t value, int digits)
{
    char buf[8];
    int i;
    for (i = digits - 1; i >= 0; i--) {
        buf[i] = (char)('0' + value % 10);
        value /= 10;
    }
    return PyUnicode_FromStringAndSize(buf, digits);
}

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
static uint64_t scan_window(const KeyObject *k, uint64_t start, uint64_t count, uint32_t want, int digits)
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

/* ------------------------------------------------------------------ Key type */

static PyTypeObject KeyType;

static PyObject *Key_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"key", "alg", NULL};
    Py_buffer key;
    int alg;
    KeyObject *self;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*i", kwlist, &key, &alg))
        return NULL;
    if (alg < ALG_SHA1 || alg > ALG_SHA512) {
        PyBuffer_Release(&key);
        PyErr_Format(InputError, "unknown algorithm id %d", alg);
        return NULL;
    }
    self = (KeyObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        PyBuffer_Release(&key);
        return NULL;
    }
    key_setup(self, (const uint8_t *)key.buf, (size_t)key.len, alg);
    PyBuffer_Release(&key);
    return (PyObject *)self;
}

static void Key_dealloc(KeyObject *self)
{
    secure_zero(&self->inner, sizeof self->inner);
    secure_zero(&self->outer, sizeof self->outer);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Key_code(KeyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"counter", "digits", NULL};
    PyObject *ctr_o, *dig_o = NULL;
    uint64_t ctr;
    int digits;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O", kwlist, &ctr_o, &dig_o))
        return NULL;
    if (parse_digits(dig_o, &digits) < 0 || parse_u64(ctr_o, "counter", &ctr) < 0)
        return NULL;
    {
        uint32_t v;
        if (check_window(ctr, 1) < 0)
            return NULL;
        window_values(self, ctr, 1, &v);
        return format_code(mod_pow10(v, digits), digits);
    }
}

static PyObject *Key_codes(KeyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"start", "count", "digits", NULL};
    PyObject *start_o, *count_o, *dig_o = NULL, *list;
    uint64_t start, count, i;
    uint32_t *vals;
    int digits;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|O", kwlist, &start_o, &count_o, &dig_o))
        return NULL;
    if (parse_digits(dig_o, &digits) < 0 || parse_u64(start_o, "start", &start) < 0 ||
        parse_u64(count_o, "count", &count) < 0 || check_window(start, count) < 0)
        return NULL;
    vals = PyMem_Malloc(count ? count * sizeof(uint32_t) : 1);
    if (vals == NULL)
        return PyErr_NoMemory();
    Py_BEGIN_ALLOW_THREADS
    for (i = 0; i < count; i += TS_CHUNK)
        window_values(self, start + i, count - i < TS_CHUNK ? count - i : TS_CHUNK, vals + i);
    Py_END_ALLOW_THREADS
    list = PyList_New((Py_ssize_t)count);
    for (i = 0; list != NULL && i < count; i++) {
        PyObject *s = format_code(mod_pow10(vals[i], digits), digits);
        if (s == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, s);
    }
    PyMem_Free(vals);
    return list;
}

static PyObject *Key_scan(KeyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"code", "start", "count", "digits", NULL};
    PyObject *code_o, *start_o, *count_o, *dig_o = NULL;
    uint64_t start, count, found;
    uint32_t want;
    int digits;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO|O", kwlist, &code_o, &start_o, &count_o, &dig_o))
        return NULL;
    if (parse_digits(dig_o, &digits) < 0 || parse_code(code_o, digits, &want) < 0 ||
        parse_u64(start_o, "start", &start) < 0 || parse_u64(count_o, "count", &count) < 0 ||
        check_window(start, count) < 0)
        return NULL;
    if (count > 16) {
        Py_BEGIN_ALLOW_THREADS
        found = scan_window(self, start, count, want, digits);
        Py_END_ALLOW_THREADS
    } else {
        found = scan_window(self, start, count, want, digits);
    }
    if (found == UINT64_MAX)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong(found);
}

static PyObject *Key_get_alg(KeyObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromLong(self->alg);
}

static PyObject *Key_repr(KeyObject *self)
{
    static const char *names[] = {"SHA1", "SHA256", "SHA512"};
    return PyUnicode_FromFormat("<%s %s>", Py_TYPE(self)->tp_name, names[self->alg]);
}

static PyMethodDef Key_methods[] = {
    {"code", (PyCFunction)(void (*)(void))Key_code, METH_VARARGS | METH_KEYWORDS,
     "code(counter, digits=6) -> str"},
    {"codes", (PyCFunction)(void (*)(void))Key_codes, METH_VARARGS | METH_KEYWORDS,
     "codes(start, count, digits=6) -> list[str]"},
    {"scan", (PyCFunction)(void (*)(void))Key_scan, METH_VARARGS | METH_KEYWORDS,
     "scan(code, start, count, digits=6) -> int | None (constant time over the window)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Key_getset[] = {
    {"alg_id", (getter)Key_get_alg, NULL, "0 = SHA1, 1 = SHA256, 2 = SHA512", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject KeyType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "tokens.hotloop._cloop.Key",
    .tp_basicsize = sizeof(KeyObject),
    .tp_dealloc = (destructor)Key_dealloc,
    .tp_repr = (reprfunc)Key_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "HMAC key with precomputed pad states: Key(key: bytes, alg: int)",
    .tp_methods = Key_methods,
    .tp_getset = Key_getset,
    .tp_new = Key_new,
};

/* ------------------------------------------------------------------ batch verification */

#define MISS INT64_MIN

typedef struct {
    const KeyObject *key;
    uint64_t start;   /* first counter of the window after clipping at 0 and 2**64-1 */
    int64_t lead;     /* centre - start, subtracted from the offset found */
    int64_t result;   /* signed offset from the centre, or MISS */
    uint32_t count;   /* window length after clipping */
    uint32_t want;
    int digits;
} Item;

static int parse_window_side(PyObject *o, const char *what, uint64_t *out)
{
    if (parse_u64(o, what, out) < 0)
        return -1;
    if (*out >= TS_MAX_WINDOW / 2) {
        PyErr_Format(InputError, "%s must be below 2**23 steps", what);
        return -1;
    }
    return 0;
}

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
static void run_items(Item *items, Py_ssize_t m)
{
    const KeyObject *ks[TS_JOBS];
    uint64_t ctr[TS_JOBS];
    uint32_t vals[TS_JOBS];
    Py_ssize_t first = 0, i; /* items [first, i) are queued in the job list */
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
            Py_ssize_t j;
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

/* Re-raise the pending error as InputError("item i: ..."). */
static void item_error(Py_ssize_t i)
{
    PyObject *et, *ev, *tb, *msg;
    PyErr_Fetch(&et, &ev, &tb);
    PyErr_NormalizeException(&et, &ev, &tb);
    msg = PyUnicode_FromFormat("item %zd: %S", i, ev ? ev : Py_None);
    if (msg != NULL) {
        PyErr_SetObject(InputError, msg);
        Py_DECREF(msg);
    }
    Py_XDECREF(et);
    Py_XDECREF(ev);
    Py_XDECREF(tb);
}

static PyObject *fast_sequence(PyObject *o, const char *what)
{
    PyObject *f;
    if (PyUnicode_Check(o) || PyBytes_Check(o) || PyByteArray_Check(o)) {
        PyErr_Format(InputError, "%s must be a sequence, not a single %.80s", what, Py_TYPE(o)->tp_name);
        return NULL;
    }
    f = PySequence_Fast(o, "not a sequence");
    if (f == NULL && PyErr_ExceptionMatches(PyExc_TypeError)) {
        PyErr_Clear();
        PyErr_Format(InputError, "%s must be a sequence (got %.80s)", what, Py_TYPE(o)->tp_name);
    }
    return f;
}

/* verify(keys, codes, centres, behind, ahead, digits, lo, hi) -> list[int | None] for items [lo, hi).
 * Parsing holds the GIL; the hashing loop runs without it, so several threads calling this on
 * different ranges overlap one's parsing with the others' hashing. */
static PyObject *mod_verify(PyObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"keys", "codes", "centres", "behind", "ahead", "digits", "lo", "hi", NULL};
    PyObject *keys_o, *codes_o, *centres_o, *behind_o, *ahead_o, *dig_o;
    PyObject *keys_f = NULL, *codes_f = NULL, *centres_f = NULL, *digits_f = NULL, *list = NULL;
    Py_ssize_t lo = 0, hi = -1, n, i, m, held = 0; /* held: keys [0, held) of items are INCREF'd */
    uint64_t behind, ahead;
    int scalar_digits = 0;
    Item *items = NULL;
    (void)self;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOO|nn", kwlist, &keys_o, &codes_o, &centres_o, &behind_o,
                                     &ahead_o, &dig_o, &lo, &hi))
        return NULL;
    if (parse_window_side(behind_o, "behind", &behind) < 0 || parse_window_side(ahead_o, "ahead", &ahead) < 0)
        return NULL;
    if (PyLong_Check(dig_o)) {
        if (parse_digits(dig_o, &scalar_digits) < 0)
            return NULL;
    } else if ((digits_f = fast_sequence(dig_o, "digits")) == NULL) {
        return NULL;
    }
    if ((keys_f = fast_sequence(keys_o, "keys")) == NULL || (codes_f = fast_sequence(codes_o, "codes")) == NULL ||
        (centres_f = fast_sequence(centres_o, "centres")) == NULL)
        goto done;
    n = PySequence_Fast_GET_SIZE(keys_f);
    if (PySequence_Fast_GET_SIZE(codes_f) != n || PySequence_Fast_GET_SIZE(centres_f) != n ||
        (digits_f != NULL && PySequence_Fast_GET_SIZE(digits_f) != n)) {
        PyErr_SetString(InputError, "keys, codes, centres (and a digits sequence) must have the same length");
        goto done;
    }
    if (hi < 0 || hi > n)
        hi = n;
    if (lo < 0 || lo > hi) {
        PyErr_SetString(InputError, "bad item range");
        goto done;
    }
    m = hi - lo;
    items = PyMem_Malloc((m ? (size_t)m : 1) * sizeof(Item));
    if (items == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    {
        PyObject **ks = PySequence_Fast_ITEMS(keys_f), **cs = PySequence_Fast_ITEMS(codes_f);
        PyObject **ts = PySequence_Fast_ITEMS(centres_f);
        PyObject **ds = digits_f ? PySequence_Fast_ITEMS(digits_f) : NULL;
        PyTypeObject *key_type = &KeyType; /* last key type seen: skips the subtype walk */
        for (i = lo; i < hi; i++) {
            Item *it = &items[i - lo];
            uint64_t centre, wlo, whi;
            if (Py_TYPE(ks[i]) == key_type) {
                /* same type as the previous key */
            } else if (PyObject_TypeCheck(ks[i], &KeyType)) {
                key_type = Py_TYPE(ks[i]);
            } else {
                PyErr_Format(InputError, "item %zd: key must be a compiled PreparedKey (got %.80s)", i,
                             Py_TYPE(ks[i])->tp_name);
                goto done;
            }
            it->digits = scalar_digits;
            if ((ds != NULL && parse_digits(ds[i], &it->digits) < 0) ||
                parse_code(cs[i], it->digits, &it->want) < 0 || parse_u64(ts[i], "centre", &centre) < 0) {
                item_error(i);
                goto done;
            }
            wlo = centre < behind ? 0 : centre - behind;
            whi = UINT64_MAX - centre < ahead ? UINT64_MAX : centre + ahead;
            Py_INCREF(ks[i]); /* the caller's list may change while the GIL is released */
            it->key = (const KeyObject *)ks[i];
            held++;
            it->start = wlo;
            it->count = (uint32_t)(whi - wlo + 1);
            it->lead = (int64_t)(centre - wlo);
        }
    }
    Py_BEGIN_ALLOW_THREADS
    run_items(items, m);
    Py_END_ALLOW_THREADS
    if ((list = PyList_New(m)) == NULL)
        goto done;
    for (i = 0; i < m; i++) {
        PyObject *v;
        if (items[i].result == MISS) {
            v = Py_None;
            Py_INCREF(v);
        } else if ((v = PyLong_FromLongLong(items[i].result)) == NULL) {
            Py_CLEAR(list);
            goto done;
        }
        PyList_SET_ITEM(list, i, v);
    }
done:
    for (i = 0; i < held; i++)
        Py_DECREF((PyObject *)items[i].key);
    PyMem_Free(items);
    Py_XDECREF(keys_f);
    Py_XDECREF(codes_f);
    Py_XDECREF(centres_f);
    Py_XDECREF(digits_f);
    return list;
}

/* ------------------------------------------------------------------ module */

static PyObject *mod_implementation(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyUnicode_FromString(use_shani ? "shani" : "portable");
}

static PyObject *mod_set_implementation(PyObject *self, PyObject *arg)
{
    const char *name;
    (void)self;
    if (!PyUnicode_Check(arg) || (name = PyUnicode_AsUTF8(arg)) == NULL) {
        PyErr_SetString(InputError, "implementation must be 'shani' or 'portable'");
        return NULL;
    }
    if (strcmp(name, "portable") == 0) {
        use_shani = 0;
    } else if (strcmp(name, "shani") == 0) {
        if (!tokensim_cpu_has_shani()) {
            PyErr_SetString(InputError, "this CPU has no SHA extensions");
            return NULL;
        }
        use_shani = 1;
    } else {
        PyErr_SetString(InputError, "implementation must be 'shani' or 'portable'");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *mod_cpu_has_shani(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBool_FromLong(tokensim_cpu_has_shani());
}

static PyMethodDef module_methods[] = {
    {"implementation", mod_implementation, METH_NOARGS, "'shani' or 'portable'"},
    {"set_implementation", mod_set_implementation, METH_O, "select 'shani' or 'portable' (process-wide)"},
    {"verify", (PyCFunction)(void (*)(void))mod_verify, METH_VARARGS | METH_KEYWORDS,
     "verify(keys, codes, centres, behind, ahead, digits, lo=0, hi=-1) -> list[int | None]"},
    {"cpu_has_shani", mod_cpu_has_shani, METH_NOARGS, "whether cpuid reports SHA extensions"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cloop_module = {
    PyModuleDef_HEAD_INIT, "_cloop", "Compiled HOTP/TOTP verification hot loop.", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__cloop(void)
{
    PyObject *m, *errors;
    errors = PyImport_ImportModule("tokens.errors");
    if (errors == NULL)
        return NULL;
    InputError = PyObject_GetAttrString(errors, "InputError");
    Py_DECREF(errors);
    if (InputError == NULL)
        return NULL;
    if (PyType_Ready(&KeyType) < 0)
        return NULL;
    use_shani = tokensim_cpu_has_shani();
    m = PyModule_Create(&cloop_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&KeyType);
    if (PyModule_AddObject(m, "Key", (PyObject *)&KeyType) < 0)
        return NULL;
    return m;
}

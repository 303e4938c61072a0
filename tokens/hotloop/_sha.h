/* SHA-1, SHA-256 and SHA-512 compression functions for the tokensim hot loop.
 *
 * Portable C for all three (FIPS 180-4), plus x86 SHA-NI versions of SHA-1 and SHA-256 compiled
 * with function-level target attributes, so this header builds on every compiler and CPU; the
 * caller picks the SHA-NI path at run time (cpuid) via tokensim_cpu_has_shani().
 *
 * State words are host integers; blocks are raw bytes (big-endian words, as the standards say).
 */
#ifndef TOKENSIM_SHA_H
#define TOKENSIM_SHA_H

#include <stdint.h>
#include <string.h>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && !defined(TOKENSIM_NO_SHANI)
#define TOKENSIM_HAVE_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#define TOKENSIM_SHANI_TARGET __attribute__((target("sha,sse4.1,ssse3")))
#else
#define TOKENSIM_HAVE_SHANI 0
#endif

static inline uint32_t ts_load32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline uint64_t ts_load64(const uint8_t *p)
{
    return ((uint64_t)ts_load32(p) << 32) | (uint64_t)ts_load32(p + 4);
}

static inline void ts_store32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static inline void ts_store64(uint8_t *p, uint64_t v)
{
    ts_store32(p, (uint32_t)(v >> 32));
    ts_store32(p + 4, (uint32_t)v);
}

#define TS_ROTL32(x, n) (((x) << (n)) | ((x) >> (32 - (n))))
#define TS_ROTR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define TS_ROTR64(x, n) (((x) >> (n)) | ((x) << (64 - (n))))

/* ---------------------------------------------------------------- SHA-1, portable */

#define TS_SHA1_W(t) \
    (w[(t) & 15] = TS_ROTL32(w[((t) + 13) & 15] ^ w[((t) + 8) & 15] ^ w[((t) + 2) & 15] ^ w[(t) & 15], 1))
#define TS_SHA1_ROUND(f, k, wt)                                   \
    do {                                                         \
        uint32_t tmp = TS_ROTL32(a, 5) + (f) + e + (k) + (wt);   \
        e = d; d = c; c = TS_ROTL32(b, 30); b = a; a = tmp;      \
    } while (0)

static void sha1_compress_portable(uint32_t st[5], const uint8_t block[64])
{
    uint32_t w[16];
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4];
    int t;
    for (t = 0; t < 16; t++) {
        w[t] = ts_load32(block + 4 * t);
        TS_SHA1_ROUND(d ^ (b & (c ^ d)), 0x5A827999u, w[t]);
    }
    for (; t < 20; t++)
        TS_SHA1_ROUND(d ^ (b & (c ^ d)), 0x5A827999u, TS_SHA1_W(t));
    for (; t < 40; t++)
        TS_SHA1_ROUND(b ^ c ^ d, 0x6ED9EBA1u, TS_SHA1_W(t));
    for (; t < 60; t++)
        TS_SHA1_ROUND((b & c) | (d & (b | c)), 0x8F1BBCDCu, TS_SHA1_W(t));
    for (; t < 80; t++)
        TS_SHA1_ROUND(b ^ c ^ d, 0xCA62C1D6u, TS_SHA1_W(t));
    st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e;
}

/* ---------------------------------------------------------------- SHA-256, portable */

static const uint32_t TS_K256[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u,
    0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u,
    0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u,
    0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
    0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

static void sha256_compress_portable(uint32_t st[8], const uint8_t block[64])
{
    uint32_t w[64];
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
    int t;
    for (t = 0; t < 16; t++)
        w[t] = ts_load32(block + 4 * t);
    for (t = 16; t < 64; t++) {
        uint32_t s0 = TS_ROTR32(w[t - 15], 7) ^ TS_ROTR32(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = TS_ROTR32(w[t - 2], 17) ^ TS_ROTR32(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    for (t = 0; t < 64; t++) {
        uint32_t S1 = TS_ROTR32(e, 6) ^ TS_ROTR32(e, 11) ^ TS_ROTR32(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + S1 + ch + TS_K256[t] + w[t];
        uint32_t S0 = TS_ROTR32(a, 2) ^ TS_ROTR32(a, 13) ^ TS_ROTR32(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

/* ---------------------------------------------------------------- SHA-512, portable */

static const uint64_t TS_K512[80] = {
    0x428a2f98d728ae22ull, 0x7137449123ef65cdull, 0xb5c0fbcfec4d3b2full, 0xe9b5dba58189dbbcull,
    0x3956c25bf348b538ull, 0x59f111f1b605d019ull, 0x923f82a4af194f9bull, 0xab1c5ed5da6d8118ull,
    0xd807aa98a3030242ull, 0x12835b0145706fbeull, 0x243185be4ee4b28cull, 0x550c7dc3d5ffb4e2ull,
    0x72be5d74f27b896full, 0x80deb1fe3b1696b1ull, 0x9bdc06a725c71235ull, 0xc19bf174cf692694ull,
    0xe49b69c19ef14ad2ull, 0xefbe4786384f25e3ull, 0x0fc19dc68b8cd5b5ull, 0x240ca1cc77ac9c65ull,
    0x2de92c6f592b0275ull, 0x4a7484aa6ea6e483ull, 0x5cb0a9dcbd41fbd4ull, 0x76f988da831153b5ull,
    0x983e5152ee66dfabull, 0xa831c66d2db43210ull, 0xb00327c898fb213full, 0xbf597fc7beef0ee4ull,
    0xc6e00bf33da88fc2ull, 0xd5a79147930aa725ull, 0x06ca6351e003826full, 0x142929670a0e6e70ull,
    0x27b70a8546d22ffcull, 0x2e1b21385c26c926ull, 0x4d2c6dfc5ac42aedull, 0x53380d139d95b3dfull,
    0x650a73548baf63deull, 0x766a0abb3c77b2a8ull, 0x81c2c92e47edaee6ull, 0x92722c851482353bull,
    0xa2bfe8a14cf10364ull, 0xa81a664bbc423001ull, 0xc24b8b70d0f89791ull, 0xc76c51a30654be30ull,
    0xd192e819d6ef5218ull, 0xd69906245565a910ull, 0xf40e35855771202aull, 0x106aa07032bbd1b8ull,
    0x19a4c116b8d2d0c8ull, 0x1e376c085141ab53ull, 0x2748774cdf8eeb99ull, 0x34b0bcb5e19b48a8ull,
    0x391c0cb3c5c95a63ull, 0x4ed8aa4ae3418acbull, 0x5b9cca4f7763e373ull, 0x682e6ff3d6b2b8a3ull,
    0x748f82ee5defb2fcull, 0x78a5636f43172f60ull, 0x84c87814a1f0ab72ull, 0x8cc702081a6439ecull,
    0x90befffa23631e28ull, 0xa4506cebde82bde9ull, 0xbef9a3f7b2c67915ull, 0xc67178f2e372532bull,
    0xca273eceea26619cull, 0xd186b8c721c0c207ull, 0xeada7dd6cde0eb1eull, 0xf57d4f7fee6ed178ull,
    0x06f067aa72176fbaull, 0x0a637dc5a2c898a6ull, 0x113f9804bef90daeull, 0x1b710b35131c471bull,
    0x28db77f523047d84ull, 0x32caab7b40c72493ull, 0x3c9ebe0a15c9bebcull, 0x431d67c49c100d4cull,
    0x4cc5d4becb3e42b6ull, 0x597f299cfc657e2aull, 0x5fcb6fab3ad6faecull, 0x6c44198c4a475817ull,
};

static void sha512_compress_portable(uint64_t st[8], const uint8_t block[128])
{
    uint64_t w[80];
    uint64_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
    int t;
    for (t = 0; t < 16; t++)
        w[t] = ts_load64(block + 8 * t);
    for (t = 16; t < 80; t++) {
        uint64_t s0 = TS_ROTR64(w[t - 15], 1) ^ TS_ROTR64(w[t - 15], 8) ^ (w[t - 15] >> 7);
        uint64_t s1 = TS_ROTR64(w[t - 2], 19) ^ TS_ROTR64(w[t - 2], 61) ^ (w[t - 2] >> 6);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    for (t = 0; t < 80; t++) {
        uint64_t S1 = TS_ROTR64(e, 14) ^ TS_ROTR64(e, 18) ^ TS_ROTR64(e, 41);
        uint64_t ch = (e & f) ^ (~e & g);
        uint64_t t1 = h + S1 + ch + TS_K512[t] + w[t];
        uint64_t S0 = TS_ROTR64(a, 28) ^ TS_ROTR64(a, 34) ^ TS_ROTR64(a, 39);
        uint64_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint64_t t2 = S0 + maj;
        h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

#if TOKENSIM_HAVE_SHANI

/* ---------------------------------------------------------------- CPU detection */

static int tokensim_cpu_has_shani(void)
{
    unsigned int eax, ebx, ecx, edx;
    int sse41, ssse3;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
        return 0;
    ssse3 = (ecx >> 9) & 1;
    sse41 = (ecx >> 19) & 1;
    if (__get_cpuid_max(0, 0) < 7)
        return 0;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    return ssse3 && sse41 && ((ebx >> 29) & 1);
}

/* ---------------------------------------------------------------- SHA-1, SHA-NI
 * Register layout of the SHA extensions: A (resp. W[t]) in the highest 32-bit lane.  Twenty
 * groups of four rounds; group g consumes message vector W_g, for g >= 4
 *   W_g = sha1msg2(sha1msg1(W_{g-4}, W_{g-3}) ^ W_{g-2}, W_{g-1}).
 * The E input of group g >= 1 is sha1nexte(ABCD before group g-1, W_g). */

#define TS_SHA1_SCHED(Wa, Wb, Wc, Wd) \
    Wa = _mm_sha1msg2_epu32(_mm_xor_si128(_mm_sha1msg1_epu32(Wa, Wb), Wc), Wd)
#define TS_SHA1_GROUP(Wv, f)                          \
    do {                                              \
        E = _mm_sha1nexte_epu32(SAVED, Wv);           \
        SAVED = ABCD;                                 \
        ABCD = _mm_sha1rnds4_epu32(ABCD, E, f);       \
    } while (0)

TOKENSIM_SHANI_TARGET
static inline void sha1_compress_shani(uint32_t st[5], const uint8_t block[64])
{
    const __m128i MASK = _mm_set_epi64x(0x0001020304050607LL, 0x08090a0b0c0d0e0fLL);
    __m128i ABCD, ABCD_SAVE, E, E0_SAVE, SAVED, M0, M1, M2, M3;

    ABCD = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)st), 0x1B);
    E0_SAVE = _mm_set_epi32((int)st[4], 0, 0, 0);
    ABCD_SAVE = ABCD;

    M0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 0)), MASK);
    M1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 16)), MASK);
    M2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 32)), MASK);
    M3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 48)), MASK);

    /* group 0 */
    E = _mm_add_epi32(E0_SAVE, M0);
    SAVED = ABCD;
    ABCD = _mm_sha1rnds4_epu32(ABCD, E, 0);
    TS_SHA1_GROUP(M1, 0);
    TS_SHA1_GROUP(M2, 0);
    TS_SHA1_GROUP(M3, 0);
    TS_SHA1_SCHED(M0, M1, M2, M3); TS_SHA1_GROUP(M0, 0);   /* g = 4 */
    TS_SHA1_SCHED(M1, M2, M3, M0); TS_SHA1_GROUP(M1, 1);   /* 5 */
    TS_SHA1_SCHED(M2, M3, M0, M1); TS_SHA1_GROUP(M2, 1);
    TS_SHA1_SCHED(M3, M0, M1, M2); TS_SHA1_GROUP(M3, 1);
    TS_SHA1_SCHED(M0, M1, M2, M3); TS_SHA1_GROUP(M0, 1);
    TS_SHA1_SCHED(M1, M2, M3, M0); TS_SHA1_GROUP(M1, 1);   /* 9 */
    TS_SHA1_SCHED(M2, M3, M0, M1); TS_SHA1_GROUP(M2, 2);   /* 10 */
    TS_SHA1_SCHED(M3, M0, M1, M2); TS_SHA1_GROUP(M3, 2);
    TS_SHA1_SCHED(M0, M1, M2, M3); TS_SHA1_GROUP(M0, 2);
    TS_SHA1_SCHED(M1, M2, M3, M0); TS_SHA1_GROUP(M1, 2);
    TS_SHA1_SCHED(M2, M3, M0, M1); TS_SHA1_GROUP(M2, 2);   /* 14 */
    TS_SHA1_SCHED(M3, M0, M1, M2); TS_SHA1_GROUP(M3, 3);   /* 15 */
    TS_SHA1_SCHED(M0, M1, M2, M3); TS_SHA1_GROUP(M0, 3);
    TS_SHA1_SCHED(M1, M2, M3, M0); TS_SHA1_GROUP(M1, 3);
    TS_SHA1_SCHED(M2, M3, M0, M1); TS_SHA1_GROUP(M2, 3);
    TS_SHA1_SCHED(M3, M0, M1, M2); TS_SHA1_GROUP(M3, 3);   /* 19 */

    E = _mm_sha1nexte_epu32(SAVED, E0_SAVE);
    ABCD = _mm_shuffle_epi32(_mm_add_epi32(ABCD, ABCD_SAVE), 0x1B);
    _mm_storeu_si128((__m128i *)st, ABCD);
    st[4] = (uint32_t)_mm_extract_epi32(E, 3);
}

/* ---------------------------------------------------------------- SHA-256, SHA-NI
 * State kept as ABEF / CDGH; W_g for g >= 4:
 *   W_g = sha256msg2(sha256msg1(W_{g-4}, W_{g-3}) + alignr(W_{g-1}, W_{g-2}, 4), W_{g-1}). */

#define TS_SHA256_SCHED(Wa, Wb, Wc, Wd) \
    Wa = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32(Wa, Wb), _mm_alignr_epi8(Wd, Wc, 4)), Wd)
#define TS_SHA256_GROUP(g, Wv)                                                        \
    do {                                                                             \
        MSG = _mm_add_epi32(Wv, _mm_loadu_si128((const __m128i *)&TS_K256[4 * (g)])); \
        S1 = _mm_sha256rnds2_epu32(S1, S0, MSG);                                     \
        S0 = _mm_sha256rnds2_epu32(S0, S1, _mm_shuffle_epi32(MSG, 0x0E));            \
    } while (0)

TOKENSIM_SHANI_TARGET
static inline void sha256_compress_shani(uint32_t st[8], const uint8_t block[64])
{
    const __m128i MASK = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
    __m128i S0, S1, TMP, MSG, S0_SAVE, S1_SAVE, M0, M1, M2, M3;

    TMP = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[0]), 0xB1); /* CDAB */
    S1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&st[4]), 0x1B);  /* EFGH */
    S0 = _mm_alignr_epi8(TMP, S1, 8);                                         /* ABEF */
    S1 = _mm_blend_epi16(S1, TMP, 0xF0);                                      /* CDGH */
    S0_SAVE = S0;
    S1_SAVE = S1;

    M0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 0)), MASK);
    M1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 16)), MASK);
    M2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 32)), MASK);
    M3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block + 48)), MASK);

    TS_SHA256_GROUP(0, M0);
    TS_SHA256_GROUP(1, M1);
    TS_SHA256_GROUP(2, M2);
    TS_SHA256_GROUP(3, M3);
    TS_SHA256_SCHED(M0, M1, M2, M3); TS_SHA256_GROUP(4, M0);
    TS_SHA256_SCHED(M1, M2, M3, M0); TS_SHA256_GROUP(5, M1);
    TS_SHA256_SCHED(M2, M3, M0, M1); TS_SHA256_GROUP(6, M2);
    TS_SHA256_SCHED(M3, M0, M1, M2); TS_SHA256_GROUP(7, M3);
    TS_SHA256_SCHED(M0, M1, M2, M3); TS_SHA256_GROUP(8, M0);
    TS_SHA256_SCHED(M1, M2, M3, M0); TS_SHA256_GROUP(9, M1);
    TS_SHA256_SCHED(M2, M3, M0, M1); TS_SHA256_GROUP(10, M2);
    TS_SHA256_SCHED(M3, M0, M1, M2); TS_SHA256_GROUP(11, M3);
    TS_SHA256_SCHED(M0, M1, M2, M3); TS_SHA256_GROUP(12, M0);
    TS_SHA256_SCHED(M1, M2, M3, M0); TS_SHA256_GROUP(13, M1);
    TS_SHA256_SCHED(M2, M3, M0, M1); TS_SHA256_GROUP(14, M2);
    TS_SHA256_SCHED(M3, M0, M1, M2); TS_SHA256_GROUP(15, M3);

    S0 = _mm_add_epi32(S0, S0_SAVE);
    S1 = _mm_add_epi32(S1, S1_SAVE);
    TMP = _mm_shuffle_epi32(S0, 0x1B);                  /* FEBA */
    S1 = _mm_shuffle_epi32(S1, 0xB1);                   /* DCHG */
    S0 = _mm_blend_epi16(TMP, S1, 0xF0);                /* DCBA */
    S1 = _mm_alignr_epi8(S1, TMP, 8);                   /* HGFE */
    _mm_storeu_si128((__m128i *)&st[0], S0);
    _mm_storeu_si128((__m128i *)&st[4], S1);
}

/* ---------------------------------------------------------------- multi-lane SHA-NI
 * The SHA instructions have a latency several times their issue interval, so one stream leaves
 * the unit mostly idle.  These versions run L independent blocks (L = 1..4, a compile-time
 * constant after inlining) interleaved group by group.  State and message vectors stay in the
 * instructions' native layout so HMAC can chain inner digest -> outer block without byte swaps:
 *   SHA-1:   ABCD with A in lane 3, E vector (e, 0, 0, 0) with e in lane 3, W[0] in lane 3
 *   SHA-256: S0 = (F, E, B, A), S1 = (H, G, D, C) from lane 0 up, W[0] in lane 0 */

#define TS_FOR_L for (l = 0; l < L; l++)

#define TS_SHA1_GROUP_L(Mv, f)                                  \
    TS_FOR_L {                                                  \
        Et[l] = _mm_sha1nexte_epu32(SV[l], Mv[l]);              \
        SV[l] = AB[l];                                          \
        AB[l] = _mm_sha1rnds4_epu32(AB[l], Et[l], f);           \
    }
#define TS_SHA1_SCHED_L(Wa, Wb, Wc, Wd) \
    TS_FOR_L { Wa[l] = _mm_sha1msg2_epu32(_mm_xor_si128(_mm_sha1msg1_epu32(Wa[l], Wb[l]), Wc[l]), Wd[l]); }

TOKENSIM_SHANI_TARGET __attribute__((always_inline))
static inline void sha1_ni_lanes(const int L, __m128i *AB, __m128i *EV, __m128i *M0, __m128i *M1,
                                 __m128i *M2, __m128i *M3)
{
    __m128i ABS[4], ES[4], SV[4], Et[4];
    int l;
    TS_FOR_L {
        ABS[l] = AB[l];
        ES[l] = EV[l];
        Et[l] = _mm_add_epi32(EV[l], M0[l]);
        SV[l] = AB[l];
        AB[l] = _mm_sha1rnds4_epu32(AB[l], Et[l], 0);
    }
    TS_SHA1_GROUP_L(M1, 0);
    TS_SHA1_GROUP_L(M2, 0);
    TS_SHA1_GROUP_L(M3, 0);
    TS_SHA1_SCHED_L(M0, M1, M2, M3); TS_SHA1_GROUP_L(M0, 0);
    TS_SHA1_SCHED_L(M1, M2, M3, M0); TS_SHA1_GROUP_L(M1, 1);
    TS_SHA1_SCHED_L(M2, M3, M0, M1); TS_SHA1_GROUP_L(M2, 1);
    TS_SHA1_SCHED_L(M3, M0, M1, M2); TS_SHA1_GROUP_L(M3, 1);
    TS_SHA1_SCHED_L(M0, M1, M2, M3); TS_SHA1_GROUP_L(M0, 1);
    TS_SHA1_SCHED_L(M1, M2, M3, M0); TS_SHA1_GROUP_L(M1, 1);
    TS_SHA1_SCHED_L(M2, M3, M0, M1); TS_SHA1_GROUP_L(M2, 2);
    TS_SHA1_SCHED_L(M3, M0, M1, M2); TS_SHA1_GROUP_L(M3, 2);
    TS_SHA1_SCHED_L(M0, M1, M2, M3); TS_SHA1_GROUP_L(M0, 2);
    TS_SHA1_SCHED_L(M1, M2, M3, M0); TS_SHA1_GROUP_L(M1, 2);
    TS_SHA1_SCHED_L(M2, M3, M0, M1); TS_SHA1_GROUP_L(M2, 2);
    TS_SHA1_SCHED_L(M3, M0, M1, M2); TS_SHA1_GROUP_L(M3, 3);
    TS_SHA1_SCHED_L(M0, M1, M2, M3); TS_SHA1_GROUP_L(M0, 3);
    TS_SHA1_SCHED_L(M1, M2, M3, M0); TS_SHA1_GROUP_L(M1, 3);
    TS_SHA1_SCHED_L(M2, M3, M0, M1); TS_SHA1_GROUP_L(M2, 3);
    TS_SHA1_SCHED_L(M3, M0, M1, M2); TS_SHA1_GROUP_L(M3, 3);
    TS_FOR_L {
        EV[l] = _mm_sha1nexte_epu32(SV[l], ES[l]);
        AB[l] = _mm_add_epi32(AB[l], ABS[l]);
    }
}

#define TS_SHA256_GROUP_L(g, Mv)                                                \
    do {                                                                       \
        const __m128i Kg = _mm_loadu_si128((const __m128i *)&TS_K256[4 * (g)]); \
        TS_FOR_L {                                                             \
            MSG[l] = _mm_add_epi32(Mv[l], Kg);                                 \
            S1[l] = _mm_sha256rnds2_epu32(S1[l], S0[l], MSG[l]);               \
            S0[l] = _mm_sha256rnds2_epu32(S0[l], S1[l], _mm_shuffle_epi32(MSG[l], 0x0E)); \
        }                                                                      \
    } while (0)
#define TS_SHA256_SCHED_L(Wa, Wb, Wc, Wd)                                                        \
    TS_FOR_L {                                                                                   \
        Wa[l] = _mm_sha256msg2_epu32(                                                            \
            _mm_add_epi32(_mm_sha256msg1_epu32(Wa[l], Wb[l]), _mm_alignr_epi8(Wd[l], Wc[l], 4)), Wd[l]); \
    }

TOKENSIM_SHANI_TARGET __attribute__((always_inline))
static inline void sha256_ni_lanes(const int L, __m128i *S0, __m128i *S1, __m128i *M0, __m128i *M1,
                                   __m128i *M2, __m128i *M3)
{
    __m128i S0S[4], S1S[4], MSG[4];
    int l;
    TS_FOR_L {
        S0S[l] = S0[l];
        S1S[l] = S1[l];
    }
    TS_SHA256_GROUP_L(0, M0);
    TS_SHA256_GROUP_L(1, M1);
    TS_SHA256_GROUP_L(2, M2);
    TS_SHA256_GROUP_L(3, M3);
    TS_SHA256_SCHED_L(M0, M1, M2, M3); TS_SHA256_GROUP_L(4, M0);
    TS_SHA256_SCHED_L(M1, M2, M3, M0); TS_SHA256_GROUP_L(5, M1);
    TS_SHA256_SCHED_L(M2, M3, M0, M1); TS_SHA256_GROUP_L(6, M2);
    TS_SHA256_SCHED_L(M3, M0, M1, M2); TS_SHA256_GROUP_L(7, M3);
    TS_SHA256_SCHED_L(M0, M1, M2, M3); TS_SHA256_GROUP_L(8, M0);
    TS_SHA256_SCHED_L(M1, M2, M3, M0); TS_SHA256_GROUP_L(9, M1);
    TS_SHA256_SCHED_L(M2, M3, M0, M1); TS_SHA256_GROUP_L(10, M2);
    TS_SHA256_SCHED_L(M3, M0, M1, M2); TS_SHA256_GROUP_L(11, M3);
    TS_SHA256_SCHED_L(M0, M1, M2, M3); TS_SHA256_GROUP_L(12, M0);
    TS_SHA256_SCHED_L(M1, M2, M3, M0); TS_SHA256_GROUP_L(13, M1);
    TS_SHA256_SCHED_L(M2, M3, M0, M1); TS_SHA256_GROUP_L(14, M2);
    TS_SHA256_SCHED_L(M3, M0, M1, M2); TS_SHA256_GROUP_L(15, M3);
    TS_FOR_L {
        S0[l] = _mm_add_epi32(S0[l], S0S[l]);
        S1[l] = _mm_add_epi32(S1[l], S1S[l]);
    }
}

#else
static int tokensim_cpu_has_shani(void) { return 0; }
#endif /* TOKENSIM_HAVE_SHANI */

#endif /* TOKENSIM_SHA_H */

/*
 * phase13.c — native performance baseline for Qallow phase 13 (harmonic
 * propagation on a ring of N pockets), uncapped.
 *
 * Build (what bench/native/baseline.ts does):
 *   gcc -O3 -march=native -fopenmp -ffp-contract=off -o phase13 phase13.c -lm
 * Add -DSCALAR for the plain reference loop (natural layout, two buffers,
 * one chunk at a time), used to cross-check the vectorised path.  LANES
 * defaults to 16 with AVX-512, 8 with AVX, else 4; -DLANES=8 forces AVX width.
 *
 * Usage: ./phase13 N T K [threads]
 * Prints one JSON line:
 *   {"pockets":N,"ticks":T,"coupling":K,"threads":n,"impl":"simd16",
 *    "seconds":s,"updatesPerSecond":u,"last":{"avg_coherence":A,
 *    "phase_drift":D,"phase_energy":E}}
 * K is echoed as the double that was parsed (%.17g); the simulation uses
 * (float)K, like the original CLI's (float)atof and like Math.fround.
 * A, D, E are the final tick's values printed with %.9g (binary32 values,
 * recoverable exactly).  JSON has no inf/nan, so a non-finite value is
 * printed as the string "NaN", "Infinity" or "-Infinity".
 * Only the tick loop is timed.  Bad arguments: message on stderr, exit 2.
 *
 * Arithmetic: exactly golden/NOTES.md §4 in binary32, every operation rounded
 * on its own (no FMA: -ffp-contract=off), same operation order.  Reductions
 * follow SPEC §1: the ring is cut into chunks of CHUNK = 4096 pockets; each
 * chunk is summed sequentially in float32 starting from 0, and the chunk
 * partials are added in chunk order in float32 starting from 0.  For
 * N <= 4096 this is exactly the original sequential order.  The same rule is
 * used for the initial mean m0 and drift D0, and the sum of the new phases
 * of tick t gives the mean used by tick t+1.
 *
 * How it is made fast: the sequential per-chunk sums are what stop a plain
 * loop from vectorising.  Here each SIMD lane runs ONE chunk's sequential
 * sum, and LANES chunks are processed side by side.  To make that a purely
 * vertical SIMD computation, the state arrays are stored chunk-interleaved:
 * a group of LANES consecutive chunks occupies LANES*CHUNK floats, and
 * pocket i (chunk c = i/CHUNK, position j = i%CHUNK) lives at
 *     (c/LANES)*LANES*CHUNK + j*LANES + c%LANES.
 * So the vector at (group, j) holds position j of LANES chunks, and its left
 * and right neighbours (same chunk, j-1 / j+1) are the aligned vectors one
 * slot before / after.  Only the chunk edges (j = 0, j = CHUNK-1) and the
 * ring's last pocket need their neighbours gathered from other lanes or
 * groups; that is done with scalar index math a few times per group, never
 * in the hot loop.  Slots past the end of the ring (ragged last chunk,
 * missing chunks in the last group) are computed but masked out of the sums
 * (a masked lane adds +0.0f, which leaves a float sum unchanged: the
 * accumulators start at +0 and can never become -0) and stored as 0.
 * The state is updated IN PLACE (one phase array, one coherence array): the
 * loop keeps the old values of positions j-1 and j in registers and loads
 * j+1 before j is overwritten, and the old first/last value of every chunk
 * (the only values other chunks read) is kept in a small double-buffered
 * halo table.  That is 8 bytes read + 8 written per pocket and tick, instead
 * of 8 + 8 + 8 (write-allocate) with a second pair of arrays, which matters
 * because from about N = 1M up the loop is memory-bound.  Groups are spread
 * over threads with OpenMP schedule(static); the result does not depend on
 * the thread count.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <omp.h>
#include <immintrin.h>

#define CHUNK 4096
#define CHUNK_SHIFT 12

/* ---------------------------------------------------------------- common */

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline float clampf(float v, float lo, float hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Page-aligned; arrays of 2 MiB or more are 2 MiB aligned and asked for
 * transparent huge pages (fewer TLB misses on the big state arrays). */
static void *alloc_floats(size_t n) {
    const size_t huge = (size_t)2 << 20;
    size_t bytes = n * sizeof(float);
    size_t align = bytes >= huge ? huge : 4096;
    bytes = (bytes + align - 1) & ~(align - 1);
    void *p = aligned_alloc(align, bytes ? bytes : align);
    if (p && align == huge) madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

/* Sum per-chunk partials in chunk order (SPEC §1). */
static float combine(const float *part, size_t nc) {
    float s = 0.0f;
    for (size_t c = 0; c < nc; c++) s = s + part[c];
    return s;
}

typedef struct {
    float avg_coherence, phase_drift, phase_energy;
} LastRow;

/* Phase 13 tick-0 values for pocket i. */
static inline float init_phi(size_t i, float nf) {
    return ((float)i / nf) * 0.4f;
}
static inline float init_kappa(size_t i) {
    return 0.78f + 0.02f * (float)(i % 3);
}

/* m0 and D0 with the chunked rule, straight from the init formulas. */
static void initial_mean_drift(size_t n, size_t nc, float *part, float *m0, float *d0) {
    const float nf = (float)n;
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < nc; c++) {
        size_t lo = c * CHUNK, hi = lo + CHUNK < n ? lo + CHUNK : n;
        float s = 0.0f;
        for (size_t i = lo; i < hi; i++) s = s + init_phi(i, nf);
        part[c] = s;
    }
    const float m = combine(part, nc) / nf;
#pragma omp parallel for schedule(static)
    for (size_t c = 0; c < nc; c++) {
        size_t lo = c * CHUNK, hi = lo + CHUNK < n ? lo + CHUNK : n;
        float s = 0.0f;
        for (size_t i = lo; i < hi; i++) s = s + fabsf(init_phi(i, nf) - m);
        part[c] = s;
    }
    *m0 = m;
    *d0 = combine(part, nc) / nf;
}

#ifdef SCALAR
/* ------------------------------------------- scalar reference (natural layout) */

#define IMPL_NAME "scalar"

static int simulate(size_t n, long ticks, float k, int *threads_used, double *seconds, LastRow *last) {
    const size_t nc = (n + CHUNK - 1) / CHUNK;
    const float nf = (float)n;
    float *phi = alloc_floats(n), *kap = alloc_floats(n);
    float *phi2 = alloc_floats(n), *kap2 = alloc_floats(n);
    float *pd = alloc_floats(nc), *pe = alloc_floats(nc), *pc = alloc_floats(nc), *ps = alloc_floats(nc);
    if (!phi || !kap || !phi2 || !kap2 || !pd || !pe || !pc || !ps) return -1;
    for (size_t i = 0; i < n; i++) {
        phi[i] = init_phi(i, nf);
        kap[i] = init_kappa(i);
    }
    float m, h;
    initial_mean_drift(n, nc, pd, &m, &h);
    const float g = k * 120.0f, dl = k * 15.0f, a = k * 60.0f;
    const float bk = 0.0004f + k * 0.25f;
    int nth = 1;
    double t0 = now_seconds();
    for (long t = 1; t <= ticks; t++) {
        const float p = clampf(1.0f - h, 0.0f, 1.0f);
        const float b = bk + p * 0.0003f;
#pragma omp parallel for schedule(static)
        for (size_t c = 0; c < nc; c++) {
            if (c == 0) nth = omp_get_num_threads();
            size_t lo = c * CHUNK, hi = lo + CHUNK < n ? lo + CHUNK : n;
            float da = 0.0f, ea = 0.0f, ca = 0.0f, sa = 0.0f;
            for (size_t i = lo; i < hi; i++) {
                size_t L = i == 0 ? n - 1 : i - 1;
                size_t R = i == n - 1 ? 0 : i + 1;
                float nb = 0.5f * (phi[L] + phi[R]);
                float d = nb - phi[i];
                float pn = (phi[i] + g * d) - ((dl * phi[i]) * 0.01f);
                float nu = 0.5f * (kap[L] + kap[R]);
                float kn = clampf((kap[i] + a * (nu - kap[i])) + b, 0.0f, 1.0f);
                float x = pn - m;
                da = da + fabsf(x);
                ea = ea + (0.5f * x) * x;
                ca = ca + kn;
                sa = sa + pn;
                phi2[i] = pn;
                kap2[i] = kn;
            }
            pd[c] = da; pe[c] = ea; pc[c] = ca; ps[c] = sa;
        }
        const float drift = combine(pd, nc), energy = combine(pe, nc);
        const float coh = combine(pc, nc), psum = combine(ps, nc);
        h = h * 0.85f + (drift / nf) * 0.15f;
        last->avg_coherence = coh / nf;
        last->phase_drift = drift / nf;
        last->phase_energy = energy;
        m = psum / nf;
        float *tp = phi; phi = phi2; phi2 = tp;
        tp = kap; kap = kap2; kap2 = tp;
    }
    *seconds = now_seconds() - t0;
    *threads_used = nth;
    free(phi); free(kap); free(phi2); free(kap2);
    free(pd); free(pe); free(pc); free(ps);
    return 0;
}

#else
/* ------------------------------------------------ chunk-lane SIMD version */

#ifndef LANES
#  if defined(__AVX512F__)
#    define LANES 16
#  elif defined(__AVX__)
#    define LANES 8
#  else
#    define LANES 4
#  endif
#endif
#if LANES == 16
#  define IMPL_NAME "simd16"
#  define LANE_SHIFT 4
#elif LANES == 8
#  define IMPL_NAME "simd8"
#  define LANE_SHIFT 3
#elif LANES == 4
#  define IMPL_NAME "simd4"
#  define LANE_SHIFT 2
#else
#  error "LANES must be 4, 8 or 16"
#endif

typedef float vf __attribute__((vector_size(LANES * 4)));
typedef int32_t vi __attribute__((vector_size(LANES * 4)));
#define GROUP ((size_t)LANES * CHUNK) /* floats per group of LANES chunks */

#define LD(p) (*(const vf *)(p))
#define ST(p, v) (*(vf *)(p) = (v))

static inline vf splat(float s) {
    vf v;
    for (int l = 0; l < LANES; l++) v[l] = s;
    return v;
}
static inline vi splati(int32_t s) {
    vi v;
    for (int l = 0; l < LANES; l++) v[l] = s;
    return v;
}

/* clamp(v, 0, 1) exactly as NOTES §2.2 (v < 0 ? 0 : v > 1 ? 1 : v; NaN and
 * -0 pass through).  x86 MAXPS/MINPS return their SECOND operand when the
 * comparison is false or unordered, so max(0, v) then min(1, t) is that
 * clamp in two instructions. */
#if LANES == 16 && defined(__AVX512F__)
static inline vf clamp01(vf v) {
    return (vf)_mm512_min_ps(_mm512_set1_ps(1.0f), _mm512_max_ps(_mm512_setzero_ps(), (__m512)v));
}
#elif LANES == 8 && defined(__AVX__)
static inline vf clamp01(vf v) {
    return (vf)_mm256_min_ps(_mm256_set1_ps(1.0f), _mm256_max_ps(_mm256_setzero_ps(), (__m256)v));
}
#elif LANES == 4 && defined(__SSE__)
static inline vf clamp01(vf v) {
    return (vf)_mm_min_ps(_mm_set1_ps(1.0f), _mm_max_ps(_mm_setzero_ps(), (__m128)v));
}
#else
static inline vf clamp01(vf v) {
    vi lt0 = v < splat(0.0f);
    v = (vf)(~lt0 & (vi)v);
    vi gt1 = v > splat(1.0f);
    return (vf)(((vi)v & ~gt1) | (gt1 & (vi)splat(1.0f)));
}
#endif

typedef struct {
    size_t n, nc, ng;
    size_t jl;            /* last position in the ring's last chunk (0..CHUNK-1) */
    float g, dl, a, b, m; /* b and m change every tick */
} Ctx;

/* Old (previous-tick) first and last value of every chunk, by chunk index.
 * Written while the chunk is updated in place, read by the neighbouring
 * chunks on the next tick; two copies, alternating by tick parity. */
typedef struct {
    float *fp, *fk; /* value at position 0 */
    float *lp, *lk; /* value at the chunk's last position */
} Halo;

typedef struct {
    vf drift, energy, coh, psum;
} Acc;

/* Update one vector of pockets (LANES chunks at one position) from the old
 * values of the pocket and its two neighbours.  Returns the new values in
 * *pn / *kn (zeroed in lanes outside the ring when masked). */
static inline __attribute__((always_inline)) void
pocket_step(const Ctx *cx, vf pL, vf pC, vf pR, vf kL, vf kC, vf kR,
            vf *pn_out, vf *kn_out, Acc *acc, int masked, vi mask) {
    const vi absmask = splati(0x7fffffff);

    vf nb = 0.5f * (pL + pR);
    vf d = nb - pC;
    vf pn = (pC + cx->g * d) - ((cx->dl * pC) * 0.01f);
    vf nu = 0.5f * (kL + kR);
    vf kn = (kC + cx->a * (nu - kC)) + cx->b;
    kn = clamp01(kn);
    vf x = pn - cx->m;
    vf ax = (vf)((vi)x & absmask);
    vf ex = (0.5f * x) * x;
    if (masked) {
        /* Slots past the end of the ring are kept at exactly 0 (otherwise
         * ring values would diffuse into them and decay into slow
         * subnormals) and add +0.0f, a no-op, to the sums. */
        ax = (vf)((vi)ax & mask);
        ex = (vf)((vi)ex & mask);
        kn = (vf)((vi)kn & mask);
        pn = (vf)((vi)pn & mask);
    }
    acc->drift = acc->drift + ax;
    acc->energy = acc->energy + ex;
    acc->coh = acc->coh + kn;
    acc->psum = acc->psum + pn;
    *pn_out = pn;
    *kn_out = kn;
}

/* One group (LANES consecutive chunks), updated in place.  The loop keeps a
 * window of old values in registers (j-1, j) and loads j+1 before j is
 * overwritten, so each pocket is read once and written once per tick. */
static inline __attribute__((always_inline)) void
group_body(const Ctx *cx_shared, size_t gi, float *restrict P, float *restrict K,
           const Halo *hc, const Halo *hn, float *restrict part, int masked) {
    const Ctx cxv = *cx_shared; /* private copy: stores cannot alias it */
    const Ctx *cx = &cxv;
    const size_t nc = cx->nc, c0 = gi * LANES;
    float *restrict p = P + gi * GROUP;
    float *restrict k = K + gi * GROUP;
    Acc acc;
    acc.drift = acc.energy = acc.coh = acc.psum = splat(0.0f);

    /* lim[l]: last valid position of lane l's chunk, -1 if lane l has none */
    vi lim;
    for (int l = 0; l < LANES; l++) {
        size_t c = c0 + (size_t)l;
        lim[l] = c + 1 < nc ? CHUNK - 1 : (c + 1 == nc ? (int32_t)cx->jl : -1);
    }
    size_t jmax = CHUNK - 1;  /* last position processed in this group */
    int ragged = 0;           /* ring's last chunk is here and ends before jmax */
    int lastlane = (int)(nc - 1 - c0); /* meaningful only in the last group */
    if (masked) {
        if (nc - c0 == 1) jmax = cx->jl;
        ragged = cx->jl < jmax;
    }
    vi mask = splati(-1);

    /* ---- j = 0: left neighbour is the previous chunk's last pocket */
    vf pC = LD(p), kC = LD(k);
    vf pR = LD(p + LANES), kR = LD(k + LANES); /* old j = 1 */
    vf pRw = pR, kRw = kR;                      /* unpatched copy for the window */
    vf pL, kL;
    for (int l = 0; l < LANES; l++) {
        size_t c = c0 + (size_t)l;
        if (c < nc) {
            size_t cl = c == 0 ? nc - 1 : c - 1;
            pL[l] = hc->lp[cl];
            kL[l] = hc->lk[cl];
            if (lim[l] == 0) { /* a one-pocket last chunk: right neighbour is pocket 0 */
                pR[l] = hc->fp[0];
                kR[l] = hc->fk[0];
            }
        } else {
            pL[l] = kL[l] = pR[l] = kR[l] = 0.0f;
        }
    }
    if (masked) mask = splati(0) <= lim;
    vf pn, kn;
    pocket_step(cx, pL, pC, pR, kL, kC, kR, &pn, &kn, &acc, masked, mask);
    ST(p, pn);
    ST(k, kn);
    for (int l = 0; l < LANES; l++) {
        size_t c = c0 + (size_t)l;
        if (c < nc) {
            hn->fp[c] = pn[l];
            hn->fk[c] = kn[l];
            if (lim[l] == 0) {
                hn->lp[c] = pn[l];
                hn->lk[c] = kn[l];
            }
        }
    }

    if (jmax > 0) {
        vf pP = pC, kP = kC; /* old j-1 */
        pC = pRw;            /* old j */
        kC = kRw;
        size_t j = 1;
        /* fast positions: both neighbours in the same lane */
#define INNER(hi)                                                                 \
        for (; j < (hi); j++) {                                                   \
            const size_t o = j * LANES;                                           \
            vf pR2 = LD(p + o + LANES), kR2 = LD(k + o + LANES);                  \
            if (masked) mask = splati((int32_t)j) <= lim;                          \
            pocket_step(cx, pP, pC, pR2, kP, kC, kR2, &pn, &kn, &acc, masked, mask); \
            ST(p + o, pn);                                                        \
            ST(k + o, kn);                                                        \
            pP = pC; kP = kC;                                                     \
            pC = pR2; kC = kR2;                                                   \
        }
        if (ragged && cx->jl > 0) {
            const size_t jl = cx->jl;
            INNER(jl)
            /* j = jl: the last pocket of the ring wraps to pocket 0 */
            const size_t o = jl * LANES;
            vf pR2 = LD(p + o + LANES), kR2 = LD(k + o + LANES);
            vf pR3 = pR2, kR3 = kR2;
            pR3[lastlane] = hc->fp[0];
            kR3[lastlane] = hc->fk[0];
            mask = splati((int32_t)jl) <= lim;
            pocket_step(cx, pP, pC, pR3, kP, kC, kR3, &pn, &kn, &acc, masked, mask);
            ST(p + o, pn);
            ST(k + o, kn);
            hn->lp[nc - 1] = pn[lastlane];
            hn->lk[nc - 1] = kn[lastlane];
            pP = pC; kP = kC;
            pC = pR2; kC = kR2;
            j = jl + 1;
        }
        INNER(jmax)
#undef INNER
        /* j = jmax: right neighbour is the next chunk's first pocket */
        for (int l = 0; l < LANES; l++) {
            size_t c = c0 + (size_t)l;
            if (c < nc) {
                size_t cr = c + 1 == nc ? 0 : c + 1;
                pR[l] = hc->fp[cr];
                kR[l] = hc->fk[cr];
            } else {
                pR[l] = kR[l] = 0.0f;
            }
        }
        if (masked) mask = splati((int32_t)jmax) <= lim;
        pocket_step(cx, pP, pC, pR, kP, kC, kR, &pn, &kn, &acc, masked, mask);
        ST(p + jmax * LANES, pn);
        ST(k + jmax * LANES, kn);
        for (int l = 0; l < LANES; l++) {
            size_t c = c0 + (size_t)l;
            if (c < nc && lim[l] == (int32_t)jmax) {
                hn->lp[c] = pn[l];
                hn->lk[c] = kn[l];
            }
        }
    }

    const size_t stride = cx->ng * LANES;
    float *pp = part + c0;
    ST(pp, acc.drift);
    ST(pp + stride, acc.energy);
    ST(pp + 2 * stride, acc.coh);
    ST(pp + 3 * stride, acc.psum);
}

static void group_full(const Ctx *cx, size_t gi, float *restrict P, float *restrict K,
                       const Halo *hc, const Halo *hn, float *restrict part) {
    group_body(cx, gi, P, K, hc, hn, part, 0);
}

static void group_masked(const Ctx *cx, size_t gi, float *restrict P, float *restrict K,
                         const Halo *hc, const Halo *hn, float *restrict part) {
    group_body(cx, gi, P, K, hc, hn, part, 1);
}

static int simulate(size_t n, long ticks, float k, int *threads_used, double *seconds, LastRow *last) {
    Ctx cx;
    cx.n = n;
    cx.nc = (n + CHUNK - 1) / CHUNK;
    cx.ng = (cx.nc + LANES - 1) / LANES;
    cx.jl = n - (cx.nc - 1) * CHUNK - 1;
    const size_t nc = cx.nc, ng = cx.ng;
    const size_t slots = ng * GROUP;
    const float nf = (float)n;
    /* the last group needs masking unless it holds LANES full chunks */
    const int last_masked = !(nc == ng * LANES && cx.jl == CHUNK - 1);
    const size_t nfull = last_masked ? ng - 1 : ng;

    float *P = alloc_floats(slots), *K = alloc_floats(slots);
    float *part = alloc_floats(4 * ng * LANES);
    float *hbuf = alloc_floats(8 * nc);
    if (!P || !K || !part || !hbuf) return -1;
    Halo halo[2];
    for (int s = 0; s < 2; s++) {
        halo[s].fp = hbuf + (size_t)(4 * s + 0) * nc;
        halo[s].fk = hbuf + (size_t)(4 * s + 1) * nc;
        halo[s].lp = hbuf + (size_t)(4 * s + 2) * nc;
        halo[s].lk = hbuf + (size_t)(4 * s + 3) * nc;
    }

    /* Tick-0 state, first touched with the tick loop's static schedule. */
#pragma omp parallel for schedule(static)
    for (size_t gi = 0; gi < ng; gi++) {
        for (size_t j = 0; j < CHUNK; j++) {
            for (size_t l = 0; l < LANES; l++) {
                size_t c = gi * LANES + l, i = c * CHUNK + j, s = gi * GROUP + j * LANES + l;
                int valid = c < nc && i < n;
                P[s] = valid ? init_phi(i, nf) : 0.0f;
                K[s] = valid ? init_kappa(i) : 0.0f;
            }
        }
    }
    for (size_t c = 0; c < nc; c++) {
        size_t first = c * CHUNK, lastp = c + 1 < nc ? first + CHUNK - 1 : n - 1;
        halo[0].fp[c] = init_phi(first, nf);
        halo[0].fk[c] = init_kappa(first);
        halo[0].lp[c] = init_phi(lastp, nf);
        halo[0].lk[c] = init_kappa(lastp);
    }
    float m, h;
    initial_mean_drift(n, nc, part, &m, &h);

    cx.g = k * 120.0f;
    cx.dl = k * 15.0f;
    cx.a = k * 60.0f;
    const float bk = 0.0004f + k * 0.25f;
    cx.m = m;
    cx.b = bk + clampf(1.0f - h, 0.0f, 1.0f) * 0.0003f;

    int nth = 1;
    double t0 = now_seconds();
#pragma omp parallel
    {
#pragma omp single
        nth = omp_get_num_threads();
        for (long t = 1; t <= ticks; t++) {
            const Halo *hc = &halo[(t - 1) & 1], *hn = &halo[t & 1];
#pragma omp for schedule(static)
            for (size_t gi = 0; gi < ng; gi++) {
                if (gi < nfull) group_full(&cx, gi, P, K, hc, hn, part);
                else group_masked(&cx, gi, P, K, hc, hn, part);
            }
#pragma omp single
            {
                const size_t stride = ng * LANES;
                const float drift = combine(part, nc), energy = combine(part + stride, nc);
                const float coh = combine(part + 2 * stride, nc), psum = combine(part + 3 * stride, nc);
                h = h * 0.85f + (drift / nf) * 0.15f;
                last->avg_coherence = coh / nf;
                last->phase_drift = drift / nf;
                last->phase_energy = energy;
                cx.m = psum / nf;
                cx.b = bk + clampf(1.0f - h, 0.0f, 1.0f) * 0.0003f;
            }
        }
    }
    *seconds = now_seconds() - t0;
    *threads_used = nth;
    free(P); free(K); free(part); free(hbuf);
    return 0;
}
#endif

/* ------------------------------------------------------------------ CLI */

static void usage(const char *msg) {
    fprintf(stderr, "phase13: %s\nusage: phase13 N T K [threads]\n"
                    "  N pockets (integer >= 2), T ticks (integer >= 1),\n"
                    "  K coupling (finite, >= 0), threads (integer >= 1, default: OpenMP default)\n",
            msg);
    exit(2);
}

static long long parse_int(const char *s, const char *name, long long lo, long long hi) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) {
        char buf[160];
        snprintf(buf, sizeof buf, "invalid %s '%s' (integer in [%lld, %lld] expected)", name, s, lo, hi);
        usage(buf);
    }
    return v;
}

static void print_value(float v) {
    if (isnan(v)) fputs("\"NaN\"", stdout);
    else if (isinf(v)) fputs(v > 0 ? "\"Infinity\"" : "\"-Infinity\"", stdout);
    else printf("%.9g", (double)v);
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) usage("expected 3 or 4 arguments");
    const size_t n = (size_t)parse_int(argv[1], "pockets N", 2, (long long)1 << 31);
    const long ticks = (long)parse_int(argv[2], "ticks T", 1, (long long)1 << 40);
    char *end;
    errno = 0;
    const double kd = strtod(argv[3], &end);
    if (end == argv[3] || *end != '\0' || !isfinite(kd) || kd < 0.0)
        usage("invalid coupling K (finite number >= 0 expected)");
    const float k = (float)kd; /* same as the original CLI's (float)atof */
    if (argc == 5) {
        int th = (int)parse_int(argv[4], "threads", 1, 4096);
        omp_set_num_threads(th);
    }

    int threads = 0;
    double seconds = 0.0;
    LastRow last = {0.0f, 0.0f, 0.0f};
    if (simulate(n, ticks, k, &threads, &seconds, &last) != 0) {
        fprintf(stderr, "phase13: out of memory for N=%zu\n", n);
        return 1;
    }
    const double ups = seconds > 0.0 ? (double)n * (double)ticks / seconds : 0.0;
    printf("{\"pockets\":%zu,\"ticks\":%ld,\"coupling\":%.17g,\"threads\":%d,\"impl\":\"%s\","
           "\"seconds\":%.9g,\"updatesPerSecond\":%.9g,\"last\":{\"avg_coherence\":",
           n, ticks, kd, threads, IMPL_NAME, seconds, ups);
    print_value(last.avg_coherence);
    fputs(",\"phase_drift\":", stdout);
    print_value(last.phase_drift);
    fputs(",\"phase_energy\":", stdout);
    print_value(last.phase_energy);
    fputs("}}\n", stdout);
    return 0;
}

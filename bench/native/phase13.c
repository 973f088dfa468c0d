/*
 * phase13.c — native performance baseline for Qallow phase 13 (harmonic
 * propagation on a ring of N pockets), uncapped.
 *
 * Build (what bench/native/baseline.ts does):
 *   gcc -O3 -march=native -fopenmp -ffp-contract=off -o phase13 phase13.c -lm
 * Add -DSCALAR for the plain reference loop (natural layout, one chunk at a
 * time), used to cross-check the vectorised path.  -DLANES=8 forces 8 lanes
 * (AVX width) on an AVX-512 machine.
 *
 * Usage: ./phase13 N T K [threads]
 * Prints one JSON line:
 *   {"pockets":N,"ticks":T,"coupling":K,"threads":n,"seconds":s,
 *    "updatesPerSecond":u,"last":{"avg_coherence":A,"phase_drift":D,
 *    "phase_energy":E}}
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
 * accumulators start at +0 and can never become -0).  Groups are spread over
 * threads with OpenMP schedule(static); the result does not depend on the
 * thread count.
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

static void *alloc_floats(size_t n) {
    size_t bytes = n * sizeof(float);
    bytes = (bytes + 4095u) & ~(size_t)4095u;
    void *p = aligned_alloc(4096, bytes ? bytes : 4096);
    if (p && bytes >= (size_t)8 << 20) madvise(p, bytes, MADV_HUGEPAGE);
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
#  else
#    define LANES 8
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

#define AS_VF(p) (*(vf *)(p))
#define AS_CVF(p) (*(const vf *)(p))

static inline vf splat(float s) {
    vf v;
    for (int l = 0; l < LANES; l++) v[l] = s;
    return v;
}

static inline size_t slot_of(size_t i) {
    size_t c = i >> CHUNK_SHIFT, j = i & (CHUNK - 1);
    return (c >> LANE_SHIFT) * GROUP + j * LANES + (c & (LANES - 1));
}

typedef struct {
    size_t n, nc, ng;
    size_t last_chunk_len; /* pockets in chunk nc-1 (1..CHUNK) */
    float g, dl, a, b, m;  /* per-tick constants; b and m change per tick */
} Ctx;

typedef struct {
    vf drift, energy, coh, psum;
} Acc;

/* One vector of pockets: LANES chunks at one position j. */
static inline __attribute__((always_inline)) void
pocket_step(const Ctx *cx, vf pL, vf pC, vf pR, vf kL, vf kC, vf kR,
            float *restrict pout, float *restrict kout, Acc *acc,
            int masked, vi mask) {
    const vf zero = splat(0.0f), one = splat(1.0f);
    const vi absmask = (vi)splat(0.0f) + 0x7fffffff;

    vf nb = 0.5f * (pL + pR);
    vf d = nb - pC;
    vf pn = (pC + cx->g * d) - ((cx->dl * pC) * 0.01f);
    vf nu = 0.5f * (kL + kR);
    vf kn = (kC + cx->a * (nu - kC)) + cx->b;
    /* clamp(kn, 0, 1): NaN passes through, exactly like NOTES §2.2 */
    vi lt0 = kn < zero;
    kn = (vf)(~lt0 & (vi)kn);
    vi gt1 = kn > one;
    kn = (vf)(((vi)kn & ~gt1) | (gt1 & (vi)one));
    vf x = pn - cx->m;
    vf ax = (vf)((vi)x & absmask);
    vf ex = (0.5f * x) * x;
    if (masked) {
        /* Slots past the end of the ring are kept at exactly 0.  Otherwise
         * the ring's values would diffuse into them and decay into
         * subnormals, which are very slow; they must not reach the sums. */
        ax = (vf)((vi)ax & mask);
        ex = (vf)((vi)ex & mask);
        kn = (vf)((vi)kn & mask);
        pn = (vf)((vi)pn & mask);
    }
    AS_VF(pout) = pn;
    AS_VF(kout) = kn;
    acc->drift = acc->drift + ax;
    acc->energy = acc->energy + ex;
    acc->coh = acc->coh + kn;
    acc->psum = acc->psum + pn;
}

/* Position j of group gi with neighbours gathered by true ring index. */
static inline __attribute__((always_inline)) void
edge_step(const Ctx *cx, size_t gi, size_t j, const float *restrict P, const float *restrict K,
          float *restrict Pn, float *restrict Kn, Acc *acc, int masked, vi mask) {
    vf pL, pR, kL, kR;
    const size_t n = cx->n;
    for (int l = 0; l < LANES; l++) {
        size_t c = gi * LANES + (size_t)l;
        size_t i = c * CHUNK + j;
        if (c < cx->nc && i < n) {
            size_t Li = i == 0 ? n - 1 : i - 1;
            size_t Ri = i == n - 1 ? 0 : i + 1;
            size_t sl = slot_of(Li), sr = slot_of(Ri);
            pL[l] = P[sl]; pR[l] = P[sr];
            kL[l] = K[sl]; kR[l] = K[sr];
        } else {
            pL[l] = pR[l] = kL[l] = kR[l] = 0.0f;
        }
    }
    size_t off = gi * GROUP + j * LANES;
    pocket_step(cx, pL, AS_CVF(P + off), pR, kL, AS_CVF(K + off), kR,
                Pn + off, Kn + off, acc, masked, mask);
}

/* Positions lo..hi-1 (all with both neighbours inside their own lane). */
static inline __attribute__((always_inline)) void
run_inner(const Ctx *cx, size_t gi, size_t lo, size_t hi, const float *restrict P,
          const float *restrict K, float *restrict Pn, float *restrict Kn, Acc *acc,
          int masked, vi lim) {
    const float *p = P + gi * GROUP, *k = K + gi * GROUP;
    float *pn = Pn + gi * GROUP, *kn = Kn + gi * GROUP;
    vi mask = lim;
    for (size_t j = lo; j < hi; j++) {
        size_t o = j * LANES;
        if (masked) mask = (vi)splat(0.0f) + (int32_t)j <= lim;
        pocket_step(cx, AS_CVF(p + o - LANES), AS_CVF(p + o), AS_CVF(p + o + LANES),
                    AS_CVF(k + o - LANES), AS_CVF(k + o), AS_CVF(k + o + LANES),
                    pn + o, kn + o, acc, masked, mask);
    }
}

static inline __attribute__((always_inline)) void
group_body(const Ctx *cx_shared, size_t gi, const float *restrict P, const float *restrict K,
           float *restrict Pn, float *restrict Kn, float *restrict part, int masked) {
    /* private copy: the output stores cannot alias it, so the constants stay in registers */
    const Ctx cxl = *cx_shared;
    const Ctx *cx = &cxl;
    Acc acc;
    acc.drift = acc.energy = acc.coh = acc.psum = splat(0.0f);
    /* lim[l] = last valid position of lane l's chunk, -1 if no chunk */
    vi lim;
    size_t jmax = CHUNK - 1, jl = CHUNK - 1; /* jl: last position of the ring's last chunk */
    int lastlane_ragged = 0;
    for (int l = 0; l < LANES; l++) {
        size_t c = gi * LANES + (size_t)l;
        lim[l] = c + 1 < cx->nc ? CHUNK - 1 : (c + 1 == cx->nc ? (int32_t)cx->last_chunk_len - 1 : -1);
    }
    if (masked) {
        size_t first = gi * LANES;
        jl = cx->last_chunk_len - 1;
        if (cx->nc - first == 1) jmax = jl; /* only one (possibly short) chunk in this group */
        lastlane_ragged = jl < jmax;
    }
    vi m0 = lim;
    if (masked) m0 = (vi)splat(0.0f) + 0 <= lim;
    edge_step(cx, gi, 0, P, K, Pn, Kn, &acc, masked, m0);
    if (jmax > 0) {
        if (lastlane_ragged && jl > 0) {
            run_inner(cx, gi, 1, jl, P, K, Pn, Kn, &acc, masked, lim);
            vi mj = (vi)splat(0.0f) + (int32_t)jl <= lim;
            edge_step(cx, gi, jl, P, K, Pn, Kn, &acc, masked, mj);
            run_inner(cx, gi, jl + 1, jmax, P, K, Pn, Kn, &acc, masked, lim);
        } else {
            run_inner(cx, gi, 1, jmax, P, K, Pn, Kn, &acc, masked, lim);
        }
        vi mj = (vi)splat(0.0f) + (int32_t)jmax <= lim;
        edge_step(cx, gi, jmax, P, K, Pn, Kn, &acc, masked, mj);
    }
    float *pp = part + gi * LANES;
    AS_VF(pp) = acc.drift;
    AS_VF(pp + cx->ng * LANES) = acc.energy;
    AS_VF(pp + 2 * cx->ng * LANES) = acc.coh;
    AS_VF(pp + 3 * cx->ng * LANES) = acc.psum;
}

static void group_full(const Ctx *cx, size_t gi, const float *restrict P, const float *restrict K,
                       float *restrict Pn, float *restrict Kn, float *restrict part) {
    group_body(cx, gi, P, K, Pn, Kn, part, 0);
}

static void group_masked(const Ctx *cx, size_t gi, const float *restrict P, const float *restrict K,
                         float *restrict Pn, float *restrict Kn, float *restrict part) {
    group_body(cx, gi, P, K, Pn, Kn, part, 1);
}

static int simulate(size_t n, long ticks, float k, int *threads_used, double *seconds, LastRow *last) {
    Ctx cx;
    cx.n = n;
    cx.nc = (n + CHUNK - 1) / CHUNK;
    cx.ng = (cx.nc + LANES - 1) / LANES;
    cx.last_chunk_len = n - (cx.nc - 1) * CHUNK;
    const size_t nc = cx.nc, ng = cx.ng;
    const size_t slots = ng * GROUP;
    const float nf = (float)n;
    /* the last group needs masking unless it is LANES full chunks */
    const int last_masked = !(nc == ng * LANES && cx.last_chunk_len == CHUNK);

    float *P = alloc_floats(slots), *K = alloc_floats(slots);
    float *P2 = alloc_floats(slots), *K2 = alloc_floats(slots);
    float *part = alloc_floats(4 * ng * LANES);
    float *cpart = alloc_floats(nc);
    if (!P || !K || !P2 || !K2 || !part || !cpart) return -1;

    /* First touch with the same static schedule as the tick loop. */
#pragma omp parallel for schedule(static)
    for (size_t gi = 0; gi < ng; gi++) {
        for (size_t j = 0; j < CHUNK; j++) {
            for (size_t l = 0; l < LANES; l++) {
                size_t c = gi * LANES + l, i = c * CHUNK + j, s = gi * GROUP + j * LANES + l;
                int valid = c < nc && i < n;
                P[s] = valid ? init_phi(i, nf) : 0.0f;
                K[s] = valid ? init_kappa(i) : 0.0f;
                P2[s] = 0.0f;
                K2[s] = 0.0f;
            }
        }
    }
    float m, h;
    initial_mean_drift(n, nc, cpart, &m, &h);

    cx.g = k * 120.0f;
    cx.dl = k * 15.0f;
    cx.a = k * 60.0f;
    const float bk = 0.0004f + k * 0.25f;
    cx.m = m;
    cx.b = bk + clampf(1.0f - h, 0.0f, 1.0f) * 0.0003f;

    float *pa = P, *ka = K, *pb = P2, *kb = K2;
    int nth = 1;
    double t0 = now_seconds();
#pragma omp parallel
    {
#pragma omp single
        nth = omp_get_num_threads();
        for (long t = 1; t <= ticks; t++) {
            const size_t nfull = last_masked ? ng - 1 : ng;
#pragma omp for schedule(static)
            for (size_t gi = 0; gi < ng; gi++) {
                if (gi < nfull) group_full(&cx, gi, pa, ka, pb, kb, part);
                else group_masked(&cx, gi, pa, ka, pb, kb, part);
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
                float *tp = pa; pa = pb; pb = tp;
                tp = ka; ka = kb; kb = tp;
            }
        }
    }
    *seconds = now_seconds() - t0;
    *threads_used = nth;
    free(P); free(K); free(P2); free(K2); free(part); free(cpart);
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

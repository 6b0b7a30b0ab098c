/* stats.c - distribution-free statistics for the bench gate (see stats.h):
 * random numbers, description, ranks, exact null distributions, the
 * Wilcoxon and Mann-Whitney tests and intervals, Holm, the bootstrap.  The
 * comparisons and verdicts built on them are in stats_verdict.c. */
#include "bench/stats.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- random numbers ---------------------------------------------------- */

void rng_seed(struct rng *r, uint64_t seed)
{
	r->state = seed;
}

uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double rng_uniform(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t rng_below(struct rng *r, uint64_t bound)
{
	/* Values below 2^64 mod bound would make the low residues more likely. */
	uint64_t threshold = (0 - bound) % bound;
	uint64_t v;

	do
		v = rng_next(r);
	while (v < threshold);
	return v % bound;
}

/* ---- normal distribution ----------------------------------------------- */

double stats_norm_cdf(double z)
{
	return 0.5 * erfc(-z * 0.70710678118654752440);
}

double stats_norm_quantile(double p)
{
	double lo = -40.0, hi = 40.0;

	if (!(p > 0.0))
		return p == 0.0 ? -INFINITY : NAN;
	if (!(p < 1.0))
		return p == 1.0 ? INFINITY : NAN;
	/* Bisection on an erfc-accurate CDF: slow but obviously right, and
	 * it runs a handful of times per comparison. */
	for (int i = 0; i < 200; i++) {
		double mid = 0.5 * (lo + hi);

		if (mid == lo || mid == hi)
			break;
		if (stats_norm_cdf(mid) < p)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

/* ---- sorting, quantiles, description ----------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double *sorted_copy(const double *x, size_t n)
{
	double *s = xcalloc(n, sizeof(*s));

	if (n > 0)
		memcpy(s, x, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	return s;
}

double stats_quantile_sorted(const double *sorted, size_t n, double p)
{
	double h;
	size_t i;

	if (n == 0)
		return NAN;
	h = (double)(n - 1) * p;
	i = (size_t)floor(h);
	if (i + 1 >= n)
		return sorted[n - 1];
	return sorted[i] + (h - (double)i) * (sorted[i + 1] - sorted[i]);
}

double stats_median(const double *x, size_t n)
{
	double *s, m;

	if (n == 0)
		return NAN;
	s = sorted_copy(x, n);
	m = stats_quantile_sorted(s, n, 0.5);
	free(s);
	return m;
}

static double mad_about(const double *x, size_t n, double center)
{
	double *dev = xcalloc(n, sizeof(*dev));
	double m;

	for (size_t i = 0; i < n; i++)
		dev[i] = fabs(x[i] - center);
	m = stats_median(dev, n);
	free(dev);
	return m;
}

void stats_describe(const double *x, size_t n, struct describe *out)
{
	double sum = 0.0, ss = 0.0, *s;

	out->n = n;
	if (n == 0) {
		out->mean = out->median = out->stdev = out->cv = NAN;
		out->min = out->max = out->mad = out->q1 = out->q3 = NAN;
		return;
	}
	s = sorted_copy(x, n);
	for (size_t i = 0; i < n; i++)
		sum += x[i];
	out->mean = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - out->mean) * (x[i] - out->mean);
	out->stdev = n > 1 ? sqrt(ss / (double)(n - 1)) : NAN;
	out->cv = out->stdev / out->mean;
	out->min = s[0];
	out->max = s[n - 1];
	out->median = stats_quantile_sorted(s, n, 0.5);
	out->q1 = stats_quantile_sorted(s, n, 0.25);
	out->q3 = stats_quantile_sorted(s, n, 0.75);
	out->mad = mad_about(x, n, out->median);
	free(s);
}

size_t stats_flag_outliers(const double *x, size_t n, bool *flags)
{
	struct describe d;
	double iqr, lo_fence, hi_fence, mad_limit;
	size_t count = 0;

	if (n == 0)
		return 0;
	stats_describe(x, n, &d);
	iqr = d.q3 - d.q1;
	lo_fence = d.q1 - 1.5 * iqr;
	hi_fence = d.q3 + 1.5 * iqr;
	mad_limit = 3.5 * 1.4826 * d.mad;
	for (size_t i = 0; i < n; i++) {
		bool tukey = iqr > 0 && (x[i] < lo_fence || x[i] > hi_fence);
		bool mad = d.mad > 0 && fabs(x[i] - d.median) > mad_limit;

		flags[i] = tukey || mad;
		count += flags[i];
	}
	return count;
}

/* ---- ranks --------------------------------------------------------------- */

struct ranked {
	double v;
	size_t i;
};

static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->v != y->v)
		return (x->v > y->v) - (x->v < y->v);
	return (x->i > y->i) - (x->i < y->i);
}

/* Mid-ranks (1-based) of v[0..n) into rank[]; returns sum(t^3 - t) over
 * tie groups of size t, the quantity every tie correction needs. */
static double midranks(const double *v, size_t n, double *rank)
{
	struct ranked *r = xcalloc(n, sizeof(*r));
	double ties = 0.0;

	for (size_t i = 0; i < n; i++)
		r[i] = (struct ranked){v[i], i};
	qsort(r, n, sizeof(*r), cmp_ranked);
	for (size_t a = 0; a < n;) {
		size_t b = a + 1;
		double t, mid;

		while (b < n && r[b].v == r[a].v)
			b++;
		t = (double)(b - a);
		mid = 0.5 * (double)(a + 1 + b);
		for (size_t j = a; j < b; j++)
			rank[r[j].i] = mid;
		ties += t * t * t - t;
		a = b;
	}
	free(r);
	return ties;
}

/* ---- exact null distributions ------------------------------------------ */

/* P(W+ = s), s = 0..n(n+1)/2: each rank r enters the sum with
 * probability 1/2, so fold ranks in one at a time.  Probabilities rather
 * than counts keep every term positive and in range. */
static double *signrank_pmf(size_t n)
{
	size_t total = n * (n + 1) / 2;
	double *p = xcalloc(total + 1, sizeof(*p));

	p[0] = 1.0;
	for (size_t r = 1; r <= n; r++) {
		size_t top = r * (r + 1) / 2;

		for (size_t s = top; s >= r; s--)
			p[s] = 0.5 * (p[s] + p[s - r]);
		for (size_t s = 0; s < r && s <= top; s++)
			p[s] *= 0.5;
	}
	return p;
}

/* P(U = u), u = 0..nx*ny: U + k(k+1)/2 is the rank sum of a random
 * k-subset of 1..nx+ny (k the smaller size), so count subsets by sum. */
static double *mann_whitney_pmf(size_t nx, size_t ny)
{
	size_t k = nx < ny ? nx : ny, big = nx + ny;
	size_t smax = k * big - k * (k - 1) / 2, width = smax + 1, off = k * (k + 1) / 2;
	double *cnt = xcalloc((k + 1) * width, sizeof(*cnt));
	double *p = xcalloc(nx * ny + 1, sizeof(*p)), total = 0.0;

	cnt[0] = 1.0;
	for (size_t e = 1; e <= big; e++) {
		for (size_t j = (e < k ? e : k); j >= 1; j--) {
			double *row = cnt + j * width, *prev = cnt + (j - 1) * width;

			for (size_t s = smax; s >= e; s--)
				row[s] += prev[s - e];
		}
	}
	for (size_t u = 0; u <= nx * ny; u++)
		total += cnt[k * width + u + off];
	for (size_t u = 0; u <= nx * ny; u++)
		p[u] = cnt[k * width + u + off] / total;
	free(cnt);
	return p;
}

static double cdf_from_pmf(const double *pmf, size_t top, long w)
{
	double c = 0.0;

	if (w < 0)
		return 0.0;
	if ((size_t)w >= top)
		return 1.0;
	for (long s = 0; s <= w; s++)
		c += pmf[s];
	return c;
}

double stats_signrank_cdf(size_t n, long w)
{
	double *pmf = signrank_pmf(n), c;

	c = cdf_from_pmf(pmf, n * (n + 1) / 2, w);
	free(pmf);
	return c;
}

double stats_mann_whitney_cdf(size_t nx, size_t ny, long u)
{
	double *pmf = mann_whitney_pmf(nx, ny), c;

	c = cdf_from_pmf(pmf, nx * ny, u);
	free(pmf);
	return c;
}

/* ---- order-statistic confidence intervals ------------------------------ */

/* The k of an order-statistic CI among `total` sorted values whose null
 * statistic is symmetric on 0..total: the largest k with
 * P(T <= k-1) <= alpha/2.  k == 0 means unachievable. */
struct ci_rank {
	size_t k;
	double achieved;
};

static struct ci_rank ci_rank_exact(const double *pmf, size_t total, double alpha)
{
	struct ci_rank out = {0, 1.0};
	double cdf = 0.0;

	/* Relative slack so an exact tie with alpha/2 is not lost to rounding. */
	for (size_t j = 0; 2 * j + 1 <= total; j++) {
		cdf += pmf[j];
		if (cdf > 0.5 * alpha * (1.0 + 1e-12))
			break;
		out.k = j + 1;
		out.achieved = 1.0 - 2.0 * cdf;
	}
	return out;
}

static struct ci_rank ci_rank_normal(size_t total, double sigma, double alpha)
{
	struct ci_rank out = {0, 1.0};
	double mu = 0.5 * (double)total;
	double k = floor(mu - stats_norm_quantile(1.0 - 0.5 * alpha) * sigma + 0.5);

	if (k < 1.0)
		return out;
	if (k > (double)(total + 1) / 2.0)
		k = floor((double)(total + 1) / 2.0);
	out.k = (size_t)k;
	out.achieved = 1.0 - 2.0 * stats_norm_cdf((k - 0.5 - mu) / sigma);
	return out;
}

static void ci_bounds(const double *sorted, size_t total, struct ci_rank r, double *lo, double *hi)
{
	if (r.k == 0) {
		*lo = -INFINITY;
		*hi = INFINITY;
		return;
	}
	*lo = sorted[r.k - 1];
	*hi = sorted[total - r.k];
}

static int check_confidence(double confidence, struct error *err)
{
	if (!(confidence > 0.0 && confidence < 1.0))
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "stats: confidence %g is not strictly between 0 and 1",
		                 confidence);
	return 0;
}

/* ---- one sample: Walsh averages, signed-rank --------------------------- */

static double *sorted_walsh(const double *d, size_t n, size_t *total)
{
	double *w;
	size_t t = 0;

	*total = n * (n + 1) / 2;
	w = xcalloc(*total, sizeof(*w));
	for (size_t i = 0; i < n; i++)
		for (size_t j = i; j < n; j++)
			w[t++] = 0.5 * (d[i] + d[j]);
	qsort(w, *total, sizeof(*w), cmp_double);
	return w;
}

double stats_hodges_lehmann(const double *d, size_t n)
{
	size_t total;
	double *w, m;

	if (n == 0)
		return NAN;
	w = sorted_walsh(d, n, &total);
	m = stats_quantile_sorted(w, total, 0.5);
	free(w);
	return m;
}

static double signrank_sigma(size_t n, double ties)
{
	double dn = (double)n;

	return sqrt(dn * (dn + 1.0) * (2.0 * dn + 1.0) / 24.0 - ties / 48.0);
}

/* Normal tails with R's continuity correction: 0.5 towards the mean. */
static void normal_tails(double stat, double mu, double sigma, double *two, double *greater,
                         double *less)
{
	double z = stat - mu, zc;

	if (!(sigma > 0)) {
		*two = *greater = *less = 1.0;
		return;
	}
	zc = (z - (z > 0 ? 0.5 : z < 0 ? -0.5 : 0.0)) / sigma;
	*greater = stats_norm_cdf(-(z - 0.5) / sigma);
	*less = stats_norm_cdf((z + 0.5) / sigma);
	*two = fmin(1.0, 2.0 * fmin(stats_norm_cdf(zc), stats_norm_cdf(-zc)));
}

static void exact_tails(const double *pmf, size_t top, long stat, double *two, double *greater,
                        double *less)
{
	/* Symmetry P(T >= t) = P(T <= top - t) keeps the upper tail a sum of
	 * small terms instead of 1 minus a number close to 1. */
	*less = cdf_from_pmf(pmf, top, stat);
	*greater = cdf_from_pmf(pmf, top, (long)top - stat);
	*two = fmin(1.0, 2.0 * fmin(*less, *greater));
}

void stats_wilcoxon_signed_rank(const double *d, size_t n, struct wilcoxon *out)
{
	double *absd = xcalloc(n, sizeof(*absd)), *rank = xcalloc(n, sizeof(*rank));
	bool *pos = xcalloc(n, sizeof(*pos));
	size_t m = 0;
	double ties;

	for (size_t i = 0; i < n; i++) {
		if (d[i] == 0.0)
			continue;
		absd[m] = fabs(d[i]);
		pos[m++] = d[i] > 0;
	}
	ties = midranks(absd, m, rank);
	out->n_used = m;
	out->w_plus = 0.0;
	for (size_t i = 0; i < m; i++)
		if (pos[i])
			out->w_plus += rank[i];
	/* R's rule: any zero or tie leaves the exact distribution's model. */
	out->exact = m > 0 && m == n && ties == 0.0 && m <= STATS_EXACT_MAX;
	if (out->exact) {
		double *pmf = signrank_pmf(m);

		exact_tails(pmf, m * (m + 1) / 2, (long)out->w_plus, &out->p_two_sided,
		            &out->p_greater, &out->p_less);
		free(pmf);
	} else {
		normal_tails(out->w_plus, 0.25 * (double)m * ((double)m + 1.0),
		             m ? signrank_sigma(m, ties) : 0.0, &out->p_two_sided, &out->p_greater,
		             &out->p_less);
	}
	free(absd);
	free(rank);
	free(pos);
}

static struct ci_rank signrank_ci_rank(size_t n, double alpha)
{
	struct ci_rank r;
	double *pmf;

	if (n > STATS_EXACT_MAX)
		return ci_rank_normal(n * (n + 1) / 2, signrank_sigma(n, 0.0), alpha);
	pmf = signrank_pmf(n);
	r = ci_rank_exact(pmf, n * (n + 1) / 2, alpha);
	free(pmf);
	return r;
}

int stats_wilcoxon_ci(const double *d, size_t n, double confidence, double *lo, double *hi,
                      double *achieved, struct error *err)
{
	struct ci_rank r;
	size_t total;
	double *w;

	if (n == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "stats: confidence interval of no data");
	if (check_confidence(confidence, err) < 0)
		return -1;
	r = signrank_ci_rank(n, 1.0 - confidence);
	w = sorted_walsh(d, n, &total);
	ci_bounds(w, total, r, lo, hi);
	*achieved = r.achieved;
	free(w);
	return 0;
}

size_t stats_signrank_min_n(double confidence)
{
	double half_alpha = (1.0 - confidence) / 2.0, p_zero = 1.0;
	size_t n = 0;

	if (!(confidence > 0.0 && confidence < 1.0))
		return 0;
	/* the interval's outermost choice is W_(1)..W_(M): finite once the
	 * all-positive outcome alone is rare enough */
	while (p_zero > half_alpha) {
		p_zero /= 2.0;
		n++;
	}
	return n;
}

/* ---- two samples: Mann-Whitney ----------------------------------------- */

static void mann_whitney_test(const double *x, size_t nx, const double *y, size_t ny,
                              struct mann_whitney *out)
{
	size_t big = nx + ny;
	double *all = xcalloc(big, sizeof(*all)), *rank = xcalloc(big, sizeof(*rank));
	double ties, ry = 0.0, dn = (double)big, prod = (double)nx * (double)ny, sigma;

	memcpy(all, x, nx * sizeof(*all));
	memcpy(all + nx, y, ny * sizeof(*all));
	ties = midranks(all, big, rank);
	for (size_t j = nx; j < big; j++)
		ry += rank[j];
	out->u = ry - 0.5 * (double)ny * ((double)ny + 1.0);
	out->exact = ties == 0.0 && nx <= STATS_EXACT_MAX && ny <= STATS_EXACT_MAX;
	if (out->exact) {
		double *pmf = mann_whitney_pmf(nx, ny);

		exact_tails(pmf, nx * ny, (long)out->u, &out->p_two_sided, &out->p_greater,
		            &out->p_less);
		free(pmf);
	} else {
		sigma = sqrt(prod / 12.0 * ((dn + 1.0) - ties / (dn * (dn - 1.0))));
		normal_tails(out->u, 0.5 * prod, sigma, &out->p_two_sided, &out->p_greater,
		             &out->p_less);
	}
	free(all);
	free(rank);
}

static struct ci_rank mann_whitney_ci_rank(size_t nx, size_t ny, double alpha)
{
	struct ci_rank r;
	double *pmf, prod = (double)nx * (double)ny;

	if (nx > STATS_EXACT_MAX || ny > STATS_EXACT_MAX)
		return ci_rank_normal(nx * ny, sqrt(prod * (double)(nx + ny + 1) / 12.0), alpha);
	pmf = mann_whitney_pmf(nx, ny);
	r = ci_rank_exact(pmf, nx * ny, alpha);
	free(pmf);
	return r;
}

int stats_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, double confidence,
                       struct mann_whitney *out, struct error *err)
{
	struct ci_rank r;
	size_t total = nx * ny, t = 0;
	double *diff;

	if (nx == 0 || ny == 0)
		return error_set(err, EXIT_RUNNER_ERROR, 0,
		                 "stats: Mann-Whitney needs two non-empty samples (%zu, %zu)", nx,
		                 ny);
	if (check_confidence(confidence, err) < 0)
		return -1;
	mann_whitney_test(x, nx, y, ny, out);
	diff = xcalloc(total, sizeof(*diff));
	for (size_t i = 0; i < nx; i++)
		for (size_t j = 0; j < ny; j++)
			diff[t++] = y[j] - x[i];
	qsort(diff, total, sizeof(*diff), cmp_double);
	out->shift = stats_quantile_sorted(diff, total, 0.5);
	r = mann_whitney_ci_rank(nx, ny, 1.0 - confidence);
	ci_bounds(diff, total, r, &out->shift_lo, &out->shift_hi);
	out->achieved = r.achieved;
	free(diff);
	return 0;
}

/* ---- multiplicity -------------------------------------------------------- */

void stats_holm(const double *p, size_t m, double *adjusted)
{
	struct ranked *r = xcalloc(m, sizeof(*r));
	double running = 0.0;

	for (size_t i = 0; i < m; i++)
		r[i] = (struct ranked){p[i], i};
	qsort(r, m, sizeof(*r), cmp_ranked);
	/* Step-down: the j-th smallest is multiplied by m - j and the running
	 * maximum keeps the adjusted values in the order of the raw ones. */
	for (size_t j = 0; j < m; j++) {
		double a = fmin(1.0, (double)(m - j) * r[j].v);

		running = fmax(running, a);
		adjusted[r[j].i] = running;
	}
	free(r);
}

/* ---- bootstrap ----------------------------------------------------------- */

void stats_bootstrap_median_ci(const double *d, size_t n, size_t resamples, double confidence,
                               struct rng *r, double *lo, double *hi)
{
	double *buf, *med;

	if (n == 0 || resamples == 0) {
		*lo = *hi = NAN;
		return;
	}
	buf = xcalloc(n, sizeof(*buf));
	med = xcalloc(resamples, sizeof(*med));
	for (size_t b = 0; b < resamples; b++) {
		for (size_t i = 0; i < n; i++)
			buf[i] = d[rng_below(r, n)];
		qsort(buf, n, sizeof(*buf), cmp_double);
		med[b] = stats_quantile_sorted(buf, n, 0.5);
	}
	qsort(med, resamples, sizeof(*med), cmp_double);
	*lo = stats_quantile_sorted(med, resamples, 0.5 * (1.0 - confidence));
	*hi = stats_quantile_sorted(med, resamples, 0.5 * (1.0 + confidence));
	free(buf);
	free(med);
}

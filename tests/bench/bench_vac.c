// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * bench_vac: vac.ko's costs as ratios against baselines measured in the
 * same run, so that machine noise (and TCG's distortion) hits both sides.
 * Runs inside the test VM (tests/bench/run boots it); loads vac.ko and
 * vac_test.ko from $VAC_KO and $VAC_TEST_KO.
 *
 *   bench_vac [--smoke] [JSON]
 *
 * Prints a table and writes it as JSON to JSON, else to
 * $VAC_VM_SHARE/bench.json, else to ./bench.json.  --smoke runs a few
 * rounds only, to show that every figure can be measured.  The exit
 * status says whether the figures were measured, never whether a target
 * was met.
 *
 * Kernel figures come from vac_test.ko's "bench" command: ns per
 * vac_id_alloc() + vac_id_free() pair against KVM's own pattern (a bitmap
 * under a spinlock, find_first_zero_bit()), both filled to the same level,
 * in interleaved rounds; the 1- and 64-instance sets are measured in turn,
 * several times.  Netlink figures are round trips through libvac against a
 * CTRL_CMD_GETFAMILY round trip over libnl-genl, the floor of generic
 * netlink, again in interleaved rounds.  A ratio is the median of ratios
 * taken within a round (kernel: the median over the repetitions of those
 * medians), so it need not equal value / baseline exactly; the flat
 * figures are the one exception, a ratio of two such ratios.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cpuid.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "vt.h"

#define MAX_ROUNDS	128
#define KIND		VAC_RES_VPIDS
#define KIND_NAME	"vpids"
#define CAP		65535		/* cap_vpids: the real VPID space */
#define CAP_STR		"65535"
#define NL_INSTANCES	1000

/* How much to measure; --smoke shrinks it. */
struct plan {
	unsigned int k_reps;		/* kernel: 1- and 64-instance sets, in turn */
	unsigned int k_rounds;		/* kernel: rounds per bench command */
	unsigned int k_iters[3];	/* kernel: pairs per batch at 0, 50, 99% */
	unsigned int nl_rounds;		/* netlink: rounds */
	unsigned int nl_trips;		/* netlink: round trips per batch */
	unsigned int dump_rounds;	/* 1,000-instance dump against gets */
};

static const struct plan full_plan = {
	.k_reps = 5, .k_rounds = 21, .k_iters = { 2000, 250, 120 },
	.nl_rounds = 61, .nl_trips = 20, .dump_rounds = 11,
};

static const struct plan smoke_plan = {
	.k_reps = 1, .k_rounds = 3, .k_iters = { 200, 20, 10 },
	.nl_rounds = 3, .nl_trips = 5, .dump_rounds = 1,
};

/* ---- figures: one table row and one JSON object each ---- */

struct figure {
	const char *id;			/* stable key */
	const char *group;		/* "kernel" or "netlink" */
	const char *what;
	const char *unit;
	const char *vs;			/* the baseline, in a word */
	const char *baseline_what;
	double value, baseline, ratio;
	double min_ratio;		/* kernel: fastest value / fastest baseline */
	double target;			/* highest ratio allowed; 0: none */
	char note[200];
	bool measured;
};

static struct figure figures[24];
static unsigned int nfigures;

/* The baselines, in a word for the table and in full. */
static const char *const baselines[][2] = {
	{ "bare", "KVM's pattern today, vmx.c allocate_vpid(): a bitmap under "
		  "a spinlock, find_first_zero_bit(), filled alike" },
	{ "1inst", "the same ratio to bare, with 1 instance registered" },
	{ "genl", "CTRL_CMD_GETFAMILY do round trip over libnl-genl, the "
		  "floor of generic netlink" },
	{ "gets", "1,000 VAC_CMD_INSTANCE_GET do round trips, one per instance" },
};

static struct figure *figure(const char *id, const char *group,
			     const char *what, const char *unit,
			     unsigned int baseline, double target)
{
	struct figure *f = &figures[nfigures++];

	f->id = id;
	f->group = group;
	f->what = what;
	f->unit = unit;
	f->vs = baselines[baseline][0];
	f->baseline_what = baselines[baseline][1];
	f->target = target;
	return f;
}

static void measured(struct figure *f, double value, double baseline,
		     double ratio)
{
	f->value = value;
	f->baseline = baseline;
	f->ratio = ratio;
	f->measured = true;
}

static void note(struct figure *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->note, sizeof(f->note), fmt, ap);
	va_end(ap);
}

static const char *verdict(const struct figure *f, char *buf, size_t len)
{
	if (!f->measured)
		return "NOT MEASURED";
	if (!f->target)
		return "-";
	if (f->ratio <= f->target)
		return "met";
	snprintf(buf, len, "missed by %.0f%%", (f->ratio / f->target - 1) * 100);
	return buf;
}

static void print_table(void)
{
	const char *group = "";
	char buf[32], tgt[16];

	for (unsigned int i = 0; i < nfigures; i++) {
		const struct figure *f = &figures[i];

		if (strcmp(group, f->group)) {
			group = f->group;
			printf("\n%-44s %13s %13s %-5s %6s %7s  %s\n", group,
			       "value", "baseline", "vs", "ratio", "target",
			       "result");
		}
		snprintf(tgt, sizeof(tgt), f->target ? "<=%.2f" : "-", f->target);
		printf("  %-42s %10.2f %-2s %10.2f %-2s %-5s %6.3f %7s  %s\n",
		       f->what, f->value, f->unit, f->baseline, f->unit, f->vs,
		       f->ratio, tgt, verdict(f, buf, sizeof(buf)));
	}
	printf("\nvs:\n");
	for (unsigned int i = 0; i < sizeof(baselines) / sizeof(baselines[0]); i++)
		printf("  %-5s %s\n", baselines[i][0], baselines[i][1]);
	printf("ratio: the median of ratios taken within rounds that "
	       "interleave value and baseline;\n"
	       "values are medians too.  Under TCG only the ratios mean "
	       "anything.\n");
}

static void json_string(FILE *o, const char *s)
{
	fputc('"', o);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(o, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(o, "\\u%04x", *s);
		else
			fputc(*s, o);
	}
	fputc('"', o);
}

static void json_number(FILE *o, double v)
{
	fprintf(o, "%.4f", v);
}

/* Where the run happened: the host CPU, the hypervisor (TCGTCGTCGTCG). */
static void json_env(FILE *o, const struct plan *p, bool smoke)
{
	unsigned int r[4] = { 0 };
	char hv[13] = "";
	struct utsname u;

	__cpuid(0x40000000, r[0], r[1], r[2], r[3]);
	memcpy(hv, &r[1], 4);
	memcpy(hv + 4, &r[2], 4);
	memcpy(hv + 8, &r[3], 4);
	for (int i = 0; i < 12; i++)
		if ((unsigned char)hv[i] < 0x20 || (unsigned char)hv[i] > 0x7e)
			hv[i] = '?';
	uname(&u);
	fprintf(o, "  \"env\": {\"kernel\": ");
	json_string(o, u.release);
	fprintf(o, ", \"hypervisor\": ");
	json_string(o, hv);
	fprintf(o, ", \"cpus\": %ld, \"smoke\": %s, \"kernel_rounds\": %u, "
		"\"kernel_reps\": %u, \"netlink_rounds\": %u, \"netlink_trips\": %u, "
		"\"dump_rounds\": %u},\n",
		sysconf(_SC_NPROCESSORS_ONLN), smoke ? "true" : "false",
		p->k_rounds, p->k_reps, p->nl_rounds, p->nl_trips,
		p->dump_rounds);
}

static int write_json(const char *path, const struct plan *p, bool smoke)
{
	FILE *o = fopen(path, "we");
	char buf[32];

	if (!o)
		return -errno;
	fprintf(o, "{\n  \"schema\": 1,\n");
	json_env(o, p, smoke);
	fprintf(o, "  \"figures\": [");
	for (unsigned int i = 0; i < nfigures; i++) {
		const struct figure *f = &figures[i];

		fprintf(o, "%s\n    {\"id\": ", i ? "," : "");
		json_string(o, f->id);
		fprintf(o, ", \"group\": ");
		json_string(o, f->group);
		fprintf(o, ", \"figure\": ");
		json_string(o, f->what);
		fprintf(o, ", \"unit\": ");
		json_string(o, f->unit);
		fprintf(o, ", \"measured\": %s,\n     \"value\": ",
			f->measured ? "true" : "false");
		json_number(o, f->value);
		fprintf(o, ", \"baseline\": ");
		json_number(o, f->baseline);
		fprintf(o, ", \"baseline_name\": ");
		json_string(o, f->baseline_what);
		fprintf(o, ", \"ratio\": ");
		json_number(o, f->ratio);
		fprintf(o, ", \"best_ratio\": ");
		if (f->min_ratio)
			json_number(o, f->min_ratio);
		else
			fprintf(o, "null");
		fprintf(o, ",\n     \"target_max_ratio\": ");
		if (f->target)
			json_number(o, f->target);
		else
			fprintf(o, "null");
		fprintf(o, ", \"met\": %s, \"result\": ",
			!f->measured || !f->target ? "null" :
			f->ratio <= f->target ? "true" : "false");
		json_string(o, verdict(f, buf, sizeof(buf)));
		fprintf(o, ", \"note\": ");
		json_string(o, f->note);
		fprintf(o, "}");
	}
	fprintf(o, "\n  ]\n}\n");
	return fclose(o) ? -errno : 0;
}

/* ---- statistics ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, unsigned int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n & 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ---- setup ---- */

static int fail(const char *what, int ret)
{
	fprintf(stderr, "bench_vac: %s: %s\n", what, strerror(-ret));
	return ret;
}

static int vpids_used(struct vac *h, unsigned int *used)
{
	struct vac_resource_info r;
	int ret = vac_resource_get(h, KIND, &r);

	if (!ret)
		*used = r.used;
	return ret;
}

/* Register bench0..bench<n-1> through vac_test.ko, each with cap / n VPIDs. */
static int bench_set_up(struct vac *h, unsigned int n)
{
	char name[VAC_NAME_LEN];
	int ret;

	ret = vt_ctl(NULL, 0, "bench_register bench %u", n);
	if (ret)
		return fail("bench_register", ret);
	for (unsigned int i = 0; i < n; i++) {
		struct vac_quota q = { KIND, CAP / n };

		snprintf(name, sizeof(name), "bench%u", i);
		ret = vac_quota_set(h, name, &q, 1, false);
		if (ret)
			return fail(name, ret);
	}
	return 0;
}

/* Unregister them and delete them, so that their quotas return. */
static int bench_tear_down(struct vac *h, unsigned int n)
{
	char name[VAC_NAME_LEN];
	int ret;

	ret = vt_ctl(NULL, 0, "bench_unregister");
	if (ret)
		return fail("bench_unregister", ret);
	for (unsigned int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "bench%u", i);
		ret = vac_instance_delete(h, name);
		if (ret)
			return fail(name, ret);
	}
	return 0;
}

/* ---- kernel figures ---- */

struct kresult {
	double vac_ns, bare_ns, ratio;	/* medians */
	double vac_min, bare_min;	/* fastest rounds */
};

static int kbench(struct vac *h, const struct plan *p, unsigned int fill_pct,
		  unsigned int threads, struct kresult *out)
{
	unsigned long long vac_ps, bare_ps, ratio_pm, vac_min, bare_min;
	unsigned int iters, used;
	char buf[512];
	int ret;

	/* The fill level is right only if the bench holds every VPID. */
	ret = vpids_used(h, &used);
	if (ret || used)
		return fail("VPIDs held before the benchmark", ret ? ret : -EBUSY);
	iters = p->k_iters[fill_pct >= 99 ? 2 : fill_pct >= 50 ? 1 : 0];
	ret = vt_ctl(buf, sizeof(buf), "bench %s %u %u %u %u %u", KIND_NAME,
		     CAP, fill_pct, iters, threads, p->k_rounds);
	if (ret)
		return fail("bench command", ret);
	if (sscanf(buf, "vac_ps=%llu bare_ps=%llu ratio_pm=%llu vac_min_ps=%llu "
		   "bare_min_ps=%llu", &vac_ps, &bare_ps, &ratio_pm, &vac_min,
		   &bare_min) != 5 || !bare_min) {
		fprintf(stderr, "bench_vac: bench said: %s", buf);
		return -EPROTO;
	}
	out->vac_ns = vac_ps / 1000.0;
	out->bare_ns = bare_ps / 1000.0;
	out->ratio = ratio_pm / 1000.0;
	out->vac_min = vac_min / 1000.0;
	out->bare_min = bare_min / 1000.0;
	return 0;
}

enum { VS_BARE, VS_1INST, VS_GENL, VS_GETS };

/* Kernel measurements: 1 and 64 instances, three fills and threads. */
enum { K_FILL0, K_FILL50, K_FILL99, K_THREADS, K_NR };

static const unsigned int k_fill[K_NR] = { 0, 50, 99, 50 };

/* One registered set of @n instances: every measurement once. */
static int kernel_set(struct vac *h, const struct plan *p, unsigned int n,
		      unsigned int threads, struct kresult *out)
{
	int ret = bench_set_up(h, n);

	for (unsigned int m = 0; m < K_NR && !ret; m++)
		ret = kbench(h, p, k_fill[m], m == K_THREADS ? threads : 1,
			     &out[m]);
	if (!ret)
		ret = bench_tear_down(h, n);
	return ret;
}

/* The medians over the repetitions, the fastest of the fastest rounds. */
static void kernel_figure(struct figure *f, const struct kresult *r,
			  unsigned int reps)
{
	double vac[MAX_ROUNDS], bare[MAX_ROUNDS], ratio[MAX_ROUNDS];
	double vac_min = r[0].vac_min, bare_min = r[0].bare_min;

	for (unsigned int i = 0; i < reps; i++) {
		vac[i] = r[i].vac_ns;
		bare[i] = r[i].bare_ns;
		ratio[i] = r[i].ratio;
		vac_min = vac_min < r[i].vac_min ? vac_min : r[i].vac_min;
		bare_min = bare_min < r[i].bare_min ? bare_min : r[i].bare_min;
	}
	measured(f, median(vac, reps), median(bare, reps), median(ratio, reps));
	f->min_ratio = vac_min / bare_min;
}

static int kernel_figures(struct vac *h, const struct plan *p,
			  unsigned int threads)
{
	static const unsigned int insts[2] = { 1, 64 };
	static const char *const ids[2][K_NR] = {
		{ "kernel.alloc_free.inst1.fill0",
		  "kernel.alloc_free.inst1.fill50",
		  "kernel.alloc_free.inst1.fill99",
		  "kernel.alloc_free.threads.inst1.fill50" },
		{ "kernel.alloc_free.inst64.fill0",
		  "kernel.alloc_free.inst64.fill50",
		  "kernel.alloc_free.inst64.fill99",
		  "kernel.alloc_free.threads.inst64.fill50" },
	};
	static const char *const flat_ids[3] = { "kernel.flat.fill0",
		"kernel.flat.fill50", "kernel.flat.fill99" };
	static const char *const fills[3] = { "empty map", "50% fill", "99% fill" };
	static char whats[2][K_NR][64], flat_whats[3][64];
	struct kresult r[2][K_NR][MAX_ROUNDS];
	struct figure *f[2][K_NR], *flat[3];
	int ret = 0;

	for (unsigned int s = 0; s < 2; s++) {
		for (unsigned int m = 0; m < K_NR; m++) {
			const char *plural = insts[s] > 1 ? "s" : "";

			if (m == K_THREADS)
				snprintf(whats[s][m], sizeof(whats[s][m]),
					 "alloc+free, %u threads, %u instance%s, 50%%",
					 threads, insts[s], plural);
			else
				snprintf(whats[s][m], sizeof(whats[s][m]),
					 "alloc+free, %u instance%s, %s",
					 insts[s], plural, fills[m]);
			/* An empty map shows the fixed cost: no target there. */
			f[s][m] = figure(ids[s][m], "kernel", whats[s][m], "ns",
					 VS_BARE, m == K_FILL0 ? 0 : 1.3);
		}
		note(f[s][K_FILL0], "the fixed cost (API call, quota check, "
		     "owner array, counters) where no scan hides it");
		note(f[s][K_THREADS], "ns per pair and thread, %u kthreads "
		     "started together, thread i on bench instance i %% %u",
		     threads, insts[s]);
	}
	for (unsigned int j = 0; j < 3; j++) {
		snprintf(flat_whats[j], sizeof(flat_whats[j]),
			 "flat: 64 against 1 instance, %s", fills[j]);
		/* The empty map, where no scan hides a per-instance cost: no target. */
		flat[j] = figure(flat_ids[j], "kernel", flat_whats[j], "x",
				 VS_1INST, j ? 1.1 : 0);
		note(flat[j], "value and baseline are ratios to the bare bitmap; "
		     "flat taken as within 10%%");
	}

	/*
	 * 1 and 64 instances in turn, several times, so that drift in the
	 * machine hits both sets alike and the flat figures compare like
	 * with like.
	 */
	for (unsigned int i = 0; i < p->k_reps && !ret; i++)
		for (unsigned int k = 0; k < 2 && !ret; k++) {
			unsigned int s = (i + k) % 2;
			struct kresult one[K_NR];

			ret = kernel_set(h, p, insts[s], threads, one);
			for (unsigned int m = 0; m < K_NR && !ret; m++)
				r[s][m][i] = one[m];
		}
	if (ret)
		return ret;

	for (unsigned int s = 0; s < 2; s++)
		for (unsigned int m = 0; m < K_NR; m++)
			kernel_figure(f[s][m], r[s][m], p->k_reps);
	for (unsigned int j = 0; j < 3; j++)
		measured(flat[j], f[1][j]->ratio, f[0][j]->ratio,
			 f[1][j]->ratio / f[0][j]->ratio);
	return 0;
}

/* ---- netlink: the floor, a CTRL_CMD_GETFAMILY round trip ---- */

/* The same socket options and the same request/ack shape as libvac. */
struct genl_floor {
	struct nl_sock *sk;
	struct nl_cb *cb;
	bool done;
	int err;
	int family;		/* vac's, from the last GETFAMILY */
	unsigned int reply_len;	/* bytes of the last reply */
};

static int floor_valid(struct nl_msg *msg, void *arg)
{
	struct genl_floor *g = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct nlattr *tb[CTRL_ATTR_MAX + 1];

	g->reply_len = nlh->nlmsg_len;
	if (nlh->nlmsg_type != GENL_ID_CTRL)
		return NL_OK;
	if (genlmsg_parse(nlh, 0, tb, CTRL_ATTR_MAX, NULL) ||
	    !tb[CTRL_ATTR_FAMILY_ID])
		g->err = -EPROTO;
	else
		g->family = nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	return NL_OK;
}

static int floor_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct genl_floor *g = arg;

	g->err = e->error;
	g->done = true;
	return NL_STOP;
}

static int floor_ack(struct nl_msg *msg, void *arg)
{
	((struct genl_floor *)arg)->done = true;
	return NL_STOP;
}

static void floor_close(struct genl_floor *g)
{
	nl_cb_put(g->cb);
	nl_socket_free(g->sk);
}

static int floor_open(struct genl_floor *g)
{
	int one = 1;

	memset(g, 0, sizeof(*g));
	g->sk = nl_socket_alloc();
	g->cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!g->sk || !g->cb || genl_connect(g->sk)) {
		floor_close(g);
		return -EIO;
	}
	setsockopt(nl_socket_get_fd(g->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(g->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	nl_cb_err(g->cb, NL_CB_CUSTOM, floor_error, g);
	nl_cb_set(g->cb, NL_CB_ACK, NL_CB_CUSTOM, floor_ack, g);
	nl_cb_set(g->cb, NL_CB_VALID, NL_CB_CUSTOM, floor_valid, g);
	return 0;
}

/* A do request with one string attribute: the reply, then the ack. */
static int genl_do(struct genl_floor *g, int family, uint8_t cmd,
		   uint8_t version, int attr, const char *str)
{
	struct nl_msg *msg = nlmsg_alloc();
	int ret;

	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
			 NLM_F_ACK, cmd, version) ||
	    nla_put_string(msg, attr, str)) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	g->done = false;
	g->err = 0;
	g->reply_len = 0;
	ret = nl_send_auto(g->sk, msg);
	nlmsg_free(msg);
	if (ret < 0)
		return -EIO;
	while (!g->done) {
		ret = nl_recvmsgs(g->sk, g->cb);
		if (ret < 0 && !g->done)
			return -EIO;
	}
	return g->err ? g->err : g->reply_len ? 0 : -EPROTO;
}

/* The floor: CTRL_CMD_GETFAMILY for "vac", as genl_ctrl_resolve() sends. */
static int floor_trip(struct genl_floor *g)
{
	return genl_do(g, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1,
		       CTRL_ATTR_FAMILY_NAME, VAC_FAMILY_NAME);
}

/* ---- netlink figures ---- */

struct nl_ctx {
	struct vac *h;
	struct genl_floor floor;
	const char *name;		/* for get and set */
	unsigned int trip;		/* set: alternates the quota */
	unsigned int quota;
};

enum { OP_FLOOR, OP_GET, OP_SET, OP_RAW_GET, OP_NR };

static int nl_op(struct nl_ctx *c, int op)
{
	struct vac_instance_info in;
	struct vac_quota q = { KIND, 0 };

	switch (op) {
	case OP_FLOOR:
		return floor_trip(&c->floor);
	case OP_GET:
		return vac_instance_get(c->h, c->name, &in);
	case OP_RAW_GET:
		/* The same request without libvac: nothing parsed. */
		return genl_do(&c->floor, c->floor.family, VAC_CMD_INSTANCE_GET,
			       VAC_FAMILY_VERSION, VAC_A_INST_NAME, c->name);
	default:
		/* A real change each time: quota and quota - 1 in turn. */
		q.quota = c->quota - (c->trip++ & 1);
		return vac_quota_set(c->h, c->name, &q, 1, false);
	}
}

/*
 * Rounds of @trips round trips of each op in @ops, the order rotating
 * every round; per op the median µs per trip and the median ratio to
 * ops[0] (the floor).
 */
static int nl_rounds(struct nl_ctx *c, const struct plan *p, const int *ops,
		     unsigned int nops, double *us, double *ratio)
{
	double t[OP_NR][MAX_ROUNDS], rr[OP_NR][MAX_ROUNDS];
	unsigned int rounds = p->nl_rounds;
	int ret;

	for (unsigned int i = 0; i < p->nl_trips; i++)	/* warm up */
		for (unsigned int k = 0; k < nops; k++)
			if ((ret = nl_op(c, ops[k])))
				return ret;
	for (unsigned int r = 0; r < rounds; r++) {
		for (unsigned int j = 0; j < nops; j++) {
			unsigned int k = (j + r) % nops;
			double t0 = now_ns();

			for (unsigned int i = 0; i < p->nl_trips; i++)
				if ((ret = nl_op(c, ops[k])))
					return ret;
			t[k][r] = (now_ns() - t0) / p->nl_trips / 1000;
		}
		for (unsigned int k = 0; k < nops; k++)
			rr[k][r] = t[k][r] / t[0][r];
	}
	for (unsigned int k = 0; k < nops; k++) {
		us[k] = median(t[k], rounds);
		ratio[k] = median(rr[k], rounds);
	}
	return 0;
}

/* Quota get and set on an instance of the 64 registered, against the floor. */
static int netlink_round_trips(struct nl_ctx *c, const struct plan *p)
{
	static const int ops[] = { OP_FLOOR, OP_GET, OP_SET, OP_RAW_GET };
	struct figure *get, *set, *raw;
	double us[4], ratio[4];
	unsigned int len;
	int ret;

	get = figure("netlink.quota_get", "netlink",
		     "quota get (VAC_CMD_INSTANCE_GET do)", "us", VS_GENL, 1.3);
	raw = figure("netlink.quota_get.raw", "netlink",
		     "quota get, raw genl, reply not parsed", "us", VS_GENL, 0);
	set = figure("netlink.quota_set", "netlink",
		     "quota set (VAC_CMD_QUOTA_SET do)", "us", VS_GENL, 0);
	ret = bench_set_up(c->h, 64);
	if (ret)
		return ret;
	c->name = "bench63";		/* registered last: the longest lookup */
	c->quota = CAP / 64;
	ret = floor_trip(&c->floor);	/* learns vac's family ID */
	if (!ret)
		ret = nl_rounds(c, p, ops, 4, us, ratio);
	if (ret)
		return fail("netlink round trips", ret);
	measured(get, us[1], us[0], ratio[1]);
	ret = floor_trip(&c->floor);
	len = c->floor.reply_len;
	if (!ret)
		ret = genl_do(&c->floor, c->floor.family, VAC_CMD_INSTANCE_GET,
			      VAC_FAMILY_VERSION, VAC_A_INST_NAME, c->name);
	if (ret)
		return fail("reply sizes", ret);
	note(get, "libvac vac_instance_get(), reply parsed, of the last of 64 "
	     "registered instances; replies: %u bytes, GETFAMILY's %u",
	     c->floor.reply_len, len);
	measured(raw, us[3], us[0], ratio[3]);
	note(raw, "the same request over libnl without libvac: what the "
	     "kernel side costs beyond the floor; no target set");
	measured(set, us[2], us[0], ratio[2]);
	note(set, "libvac vac_quota_set() changing the vpids quota each time; "
	     "no target set");
	return bench_tear_down(c->h, 64);
}

struct count_arg {
	unsigned int n;
};

static int count_cb(const struct vac_instance_info *in, void *arg)
{
	((struct count_arg *)arg)->n++;
	return 0;
}

/* A dump of 1,000 instances against 1,000 gets, and a get among 1,000. */
static int netlink_thousand(struct nl_ctx *c, const struct plan *p)
{
	static const int ops[] = { OP_FLOOR, OP_GET };
	double dump[MAX_ROUNDS], gets[MAX_ROUNDS], rr[MAX_ROUNDS];
	char name[VAC_NAME_LEN];
	struct figure *df, *lf;
	double us[2], ratio[2];
	int ret = 0;

	df = figure("netlink.dump1000", "netlink",
		    "dump of 1,000 instances", "ms",
		    VS_GETS, 0);
	lf = figure("netlink.quota_get.of1000", "netlink",
		    "quota get, 1,000 instances, the last", "us", VS_GENL, 0);
	for (unsigned int i = 0; i < NL_INSTANCES && !ret; i++) {
		snprintf(name, sizeof(name), "nl%u", i);
		ret = vac_instance_declare(c->h, name);
	}
	if (ret)
		return fail("declaring 1,000 instances", ret);

	for (unsigned int r = 0; r < p->dump_rounds; r++) {
		for (unsigned int j = 0; j < 2; j++) {
			struct count_arg cnt = { 0 };
			double t0 = now_ns();

			if ((j + r) % 2 == 0) {
				ret = vac_instance_dump(c->h, count_cb, &cnt);
				dump[r] = (now_ns() - t0) / 1e6;
				if (!ret && cnt.n != NL_INSTANCES)
					ret = -EPROTO;
				continue;
			}
			for (unsigned int i = 0; i < NL_INSTANCES && !ret; i++) {
				struct vac_instance_info in;

				snprintf(name, sizeof(name), "nl%u", i);
				ret = vac_instance_get(c->h, name, &in);
			}
			gets[r] = (now_ns() - t0) / 1e6;
		}
		if (ret)
			return fail("dump against gets", ret);
		rr[r] = dump[r] / gets[r];
	}
	measured(df, median(dump, p->dump_rounds), median(gets, p->dump_rounds),
		 median(rr, p->dump_rounds));
	note(df, "libvac vac_instance_dump() with replies parsed; "
	     "no target set");

	snprintf(name, sizeof(name), "nl%u", NL_INSTANCES - 1);
	c->name = name;
	ret = nl_rounds(c, p, ops, 2, us, ratio);
	if (ret)
		return fail("get among 1,000", ret);
	measured(lf, us[1], us[0], ratio[1]);
	note(lf, "the lookup by name walks the instance table; no target set");

	for (unsigned int i = 0; i < NL_INSTANCES && !ret; i++) {
		snprintf(name, sizeof(name), "nl%u", i);
		ret = vac_instance_delete(c->h, name);
	}
	return ret ? fail("deleting 1,000 instances", ret) : 0;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	const struct plan *p = &full_plan;
	const char *json = NULL, *share = getenv("VAC_VM_SHARE");
	char path[4096];
	struct nl_ctx c = { 0 };
	bool smoke = false;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int threads = cpus > 2 ? cpus : 2;
	int ret, ret2;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--smoke")) {
			smoke = true;
			p = &smoke_plan;
		} else if (argv[i][0] == '-' || json) {
			fprintf(stderr, "usage: bench_vac [--smoke] [JSON]\n");
			return 2;
		} else {
			json = argv[i];
		}
	}
	if (!json) {
		snprintf(path, sizeof(path), "%s/bench.json", share ? share : ".");
		json = path;
	}

	vt_unload_all();
	ret = vt_load_vac("cap_" KIND_NAME "=" CAP_STR);
	if (ret)
		return -fail("loading vac.ko", ret);
	ret = vt_load_test(NULL);
	if (ret) {
		fail("loading vac_test.ko", ret);
		goto out_unload;
	}
	ret = vac_open(&c.h);
	if (ret) {
		fail("vac_open", ret);
		goto out_unload;
	}
	ret = floor_open(&c.floor);
	if (ret) {
		fail("netlink socket", ret);
		goto out_close;
	}

	fprintf(stderr, "bench_vac: kernel figures (%u x %u rounds each)\n",
		p->k_reps, p->k_rounds);
	ret = kernel_figures(c.h, p, threads);
	if (!ret) {
		fprintf(stderr, "bench_vac: netlink figures\n");
		ret = netlink_round_trips(&c, p);
	}
	if (!ret)
		ret = netlink_thousand(&c, p);
	if (!ret)
		ret = vt_vac_check();
	floor_close(&c.floor);

	print_table();
	if ((ret2 = write_json(json, p, smoke)))
		ret = fail(json, ret2);
	else
		printf("\nwrote %s\n", json);
	for (unsigned int i = 0; i < nfigures && !ret; i++)
		if (!figures[i].measured)
			ret = -EPROTO;
out_close:
	c.h = vac_close(c.h);
out_unload:
	vt_unload_all();
	return ret ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer: the accounting core driven by arbitrary operation sequences,
 * checked after every step against a model that keeps only what an
 * outside observer knows (who holds which ID, which quota was accepted),
 * and against the core's own recount (vac_core_check).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vac_core.h"

#define NI	4	/* instances */
#define CAP	48	/* IDs per ID kind, ASIDs, slots: small so all fills */

struct model {
	int owner[VAC_NR_KINDS][CAP];	/* holder + 1 of each ID */
	u32 quota[NI][VAC_NR_KINDS];
	u32 used[NI][VAC_NR_KINDS];
	bool online[NI];
	bool forced[NI][VAC_NR_KINDS];	/* over quota by force */
};

/* ASIDs and PMU counters: a registered instance uses its whole quota. */
static bool budget(u32 k)
{
	return k == VAC_RES_ASIDS || k == VAC_RES_PMU_COUNTERS;
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz_core: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[NI] = { "kvm_a", "kvm_b", "kvm_c", "kvm_d" };
	const u32 cap[VAC_NR_KINDS] = { CAP, 8, 8, CAP, 16, 16 };
	struct vac_core_inst *in[NI] = { NULL };
	struct vac_core core;
	struct model m;
	struct vac_err err;

	if (vac_core_init(&core, cap))
		die("init");
	memset(&m, 0, sizeof(m));
	for (int i = 0; i < NI; i++)
		if (vac_core_inst_add(&core, names[i], &in[i]))
			die("add");

	for (size_t p = 0; p + 4 <= size; p += 4) {
		const uint8_t op = data[p] % 8, i = data[p + 1] % NI;
		const u32 kind = data[p + 2] % VAC_NR_KINDS, v = data[p + 3];
		const u32 first = core.kind[kind].first;
		u32 id, slot;
		int ret;

		switch (op) {
		case 0:	/* online / offline */
			if (m.online[i]) {
				vac_core_offline(&core, in[i]);
				for (u32 k = 0; k < VAC_NR_KINDS; k++) {
					for (u32 b = 0; b < CAP; b++)
						if (m.owner[k][b] == i + 1)
							m.owner[k][b] = 0;
					if (!budget(k))
						m.used[i][k] = 0;
				}
				m.online[i] = false;
			} else if (vac_core_online(&core, in[i]) == 0) {
				m.online[i] = true;
			} else {
				die("online refused");
			}
			break;
		case 1:	/* quota, maybe forced */
		case 2: {
			struct vac_core_quota q = { kind, v % (cap[kind] + 4) };
			u32 sum = 0;

			for (int j = 0; j < NI; j++)
				sum += j == i ? q.value : m.quota[j][kind];
			ret = vac_core_quota_set(&core, in[i], &q, 1, op == 2, &err);
			if (!ret && sum > cap[kind])
				die("quota sum above capacity accepted");
			if (!ret) {
				m.quota[i][kind] = q.value;
				if (!budget(kind))
					m.forced[i][kind] = m.used[i][kind] > q.value;
			}
			break;
		}
		case 3:	/* alloc */
			ret = vac_core_alloc(&core, in[i], kind, &id);
			if (!ret) {
				if (id < first || id - first >= cap[kind] ||
				    m.owner[kind][id - first])
					die("alloc handed out a held or bad ID");
				if (!m.online[i] || m.used[i][kind] >= m.quota[i][kind])
					die("alloc over quota or while offline");
				m.owner[kind][id - first] = i + 1;
				m.used[i][kind]++;
			}
			break;
		case 4:	/* quarantine, and the flush that ends it */
			if (v & 0x80) {
				vac_core_release_quarantined(&core, kind);
				for (u32 b = 0; b < CAP; b++)
					if (m.owner[kind][b] == NI + 1)
						m.owner[kind][b] = 0;
				break;
			}
			ret = vac_core_quarantine(&core, in[i], kind, first + v % CAP);
			if (!ret != (kind < VAC_NR_KINDS && v % CAP < cap[kind] &&
				     m.owner[kind][v % CAP] == i + 1 && !budget(kind) &&
				     kind != VAC_RES_MSR_SLOTS))
				die("quarantine disagrees with who holds the ID");
			if (!ret) {
				m.owner[kind][v % CAP] = NI + 1;
				m.used[i][kind]--;
			}
			break;
		case 5:	/* release */
			ret = vac_core_release(&core, in[i], kind, first + v % CAP);
			if (!ret != (kind < VAC_NR_KINDS && v % CAP < cap[kind] &&
				     m.owner[kind][v % CAP] == i + 1 &&
				     !budget(kind) && kind != VAC_RES_MSR_SLOTS))
				die("release disagrees with who holds the ID");
			if (!ret) {
				m.owner[kind][v % CAP] = 0;
				m.used[i][kind]--;
			}
			break;
		case 6:	/* user-return MSR slot */
			ret = vac_core_msr_get(&core, in[i], 0xc0000080 + v % 20, &slot);
			if (!ret) {
				if (!m.online[i] ||
				    m.used[i][VAC_RES_MSR_SLOTS] >= m.quota[i][VAC_RES_MSR_SLOTS])
					die("slot over quota or while offline");
				m.used[i][VAC_RES_MSR_SLOTS]++;
			}
			break;
		default:
			if (!vac_core_msr_put(&core, in[i], 0xc0000080 + v % 20))
				m.used[i][VAC_RES_MSR_SLOTS]--;
			break;
		}

		if (vac_core_check(&core, &err))
			die(err.msg);
		for (int j = 0; j < NI; j++)
			for (u32 k = 0; k < VAC_NR_KINDS; k++) {
				u32 want = budget(k) ?
					   (m.online[j] ? m.quota[j][k] : 0) :
					   m.used[j][k];

				if (in[j]->usage[k].used != want ||
				    in[j]->usage[k].quota != m.quota[j][k])
					die("used or quota differ from the model");
			}
	}
	vac_core_fini(&core);
	return 0;
}

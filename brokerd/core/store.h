/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The state directory: the desired state (instances and their quotas) in
 * one JSON file and a journal of the changes since it was written, each
 * change appended and synced before it is acknowledged, the file
 * rewritten atomically (and the journal emptied) once the journal holds
 * as many changes as there are instances.  Both are loaded at start.  A
 * state file or journal that does not parse is an error for the operator
 * to resolve; it is never replaced.
 */
#ifndef BROKER_STORE_H
#define BROKER_STORE_H

#include "base/base.h"
#include "core/store_files.h"
#include "vac_core.h"		/* struct vac_name_index */

#define BROKER_REASON_LEN 256	/* as struct broker_backend.errmsg */

struct broker_inst {
	char name[VAC_NAME_LEN];
	uint64_t generation;		/* of its last desired-state change */
	struct broker_quotas want;	/* desired quotas of the kinds set */
	/* runtime, from the last reconciliation; "" when applied */
	char unapplied[VAC_NR_RESOURCES][BROKER_REASON_LEN];
	char undeclared[BROKER_REASON_LEN];
	bool dirty;			/* for the next reconciliation */
};

struct broker_store {
	char path[PATH_MAX];		/* the state file */
	int dirfd;			/* the state directory, locked */
	uint64_t generation;		/* the last one handed out */
	struct broker_inst *insts;
	size_t n, cap;
	struct vac_name_index index;	/* insts by name, as index + 1 */
	size_t ndirty;			/* insts with dirty set */
	int jfd;			/* the journal, or -1: rewrite */
	uint64_t jseq;			/* the last change journaled */
	size_t jrecords;		/* changes in the journal */
	off_t jsize;			/* its length */
};

#define BROKER_STATE_FILE "desired.json"
#define BROKER_JOURNAL_FILE "desired.journal"

/*
 * Create the directory if missing (not its parents), lock it against a
 * second daemon and load the state file, if any.
 */
int broker_store_open(struct broker_store *s, const char *dir,
		      struct broker_err *err);
void broker_store_close(struct broker_store *s);

struct broker_inst *broker_store_find(struct broker_store *s,
				      const char *name);

/*
 * @d (NULL: none) or every instance is to be looked at by the next
 * reconciliation: its desired state changed, or what the backend has may
 * have.  A change through broker_store_put() marks its instance itself.
 */
void broker_store_mark(struct broker_store *s, struct broker_inst *d);
void broker_store_mark_all(struct broker_store *s);

/*
 * Record @inst (replacing the instance of its name, or adding it) with
 * the next generation, and make it durable (the journal, or the state
 * file rewritten); on failure nothing changes.  Its generation is set on success.
 */
int broker_store_put(struct broker_store *s, struct broker_inst *inst,
		     struct broker_err *err);
/* Drop @name, durably; on failure nothing changes. */
int broker_store_del(struct broker_store *s, const char *name,
		     struct broker_err *err);

#endif /* BROKER_STORE_H */

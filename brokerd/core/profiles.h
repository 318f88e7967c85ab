/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The parameter profiles (see profiles.c).  Every call with the broker
 * lock held.
 */
#ifndef BROKER_PROFILES_H
#define BROKER_PROFILES_H

#include "core/broker.h"
#include "vac_profile.h"

#define BROKER_PROFILES_FILE "profiles.json"

struct broker_profiles {
	json_t *profiles;	/* name -> {"quotas", "params"} */
	json_t *applied;	/* instance -> {"profile", "params"} */
};

/* Load profiles.json from the state directory (b->store) into b->profiles. */
int broker_profiles_open(struct broker *b, struct broker_err *err);
void broker_profiles_free(struct broker_profiles *p);

/*
 * Write @profiles and @applied as profiles.json, then make them the
 * daemon's (references taken); on failure nothing changes.
 */
int broker_profiles_commit(struct broker *b, json_t *profiles, json_t *applied,
			   struct broker_err *err);

/* A stored profile (or {"params": ...}) as the document it was. */
int broker_profile_parse(json_t *doc, struct vacp_profile **out,
			 struct vacp_err *perr);
/* @pr as stored: only what it gives. */
json_t *broker_profile_stored(const struct vacp_profile *pr);

/*
 * The report of @pr applied to instance @inst, written first if @write:
 * its parameters, and the modprobe.d snippet of the load-time ones
 * (removed when there is none; modprobe_dir is not touched when there is
 * nothing to write or remove).  NULL on failure, @err.
 */
json_t *broker_profile_report(struct broker *b, const char *inst,
			      const char *profile, const struct vacp_profile *pr,
			      bool write, struct broker_err *err);

#endif /* BROKER_PROFILES_H */

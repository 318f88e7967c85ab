/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The quota policy and the parameter profiles: their files in the state
 * directory, the re-plan on instance changes, and their REST handlers
 * (see broker_handler).  The documents and the planner are policy/'s.
 */
#ifndef BROKER_POLICY_H
#define BROKER_POLICY_H

#include "core/broker.h"

#define BROKER_POLICY_FILE	"policy.json"
#define BROKER_PROFILES_FILE	"profiles.json"

/* Load both files from the state directory (b->store) into b->policy. */
int broker_policy_open(struct broker *b, struct broker_err *err);
void broker_policy_free(struct broker_policy *p);

/*
 * With a policy stored, and the backend's instances (names, online or
 * not) changed since the last plan: plan again and apply.  The number of
 * steps applied.  Lock held; called by broker_reconcile().
 */
int broker_policy_reconcile(struct broker *b);

#endif /* BROKER_POLICY_H */

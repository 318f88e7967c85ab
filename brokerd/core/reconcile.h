/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Reconciliation: the backend driven to the desired state (see
 * reconcile.c).
 */
#ifndef BROKER_RECONCILE_H
#define BROKER_RECONCILE_H

struct broker;

/*
 * Drive the backend to the desired state; the number of instances that
 * keep something unapplied, also left in b->pending.  Lock held.
 */
int broker_reconcile(struct broker *b);

#endif /* BROKER_RECONCILE_H */

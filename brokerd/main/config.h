/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * The configuration: the command line and the file (see config.c).
 */
#ifndef BROKER_MAIN_CONFIG_H
#define BROKER_MAIN_CONFIG_H

#include "base/config.h"

struct broker_args {
	const char *config;	/* -c FILE */
	const char *bootstrap_token;	/* --bootstrap-token FILE */
	json_t *flags;		/* the other options, as config keys */
	bool verbose;
};

/*
 * The command line into @a: 0, 1 when it asked for --help or --version
 * (printed), or -EINVAL (usage printed).  a->flags is set whatever the
 * outcome.
 */
int broker_config_args(int argc, char **argv, struct broker_args *a);
/* The file, then the flags over it; @c is only written on success. */
int broker_config_load(const struct broker_args *a, struct broker_config *c,
		       struct broker_err *err);

#endif /* BROKER_MAIN_CONFIG_H */

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * libFuzzer: the token store.  The input is written as tokens.json into
 * a scratch state directory and loaded by broker_tokens_open(), as brokerd
 * does at start.  A store that loads holds only valid tokens, each id
 * once, and survives being written back and loaded again unchanged; one
 * that does not load says why, naming the file, and yields nothing.
 */
#define _GNU_SOURCE
#include <ftw.h>

#include "../../brokerd/http/tokens.c"

static char dir[] = "/tmp/fuzz_tokens.XXXXXX";
static int dirfd = -1;

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path);
}

static void cleanup(void)
{
	nftw(dir, rm_one, 4, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (!mkdtemp(dir))
		abort();
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		abort();
	atexit(cleanup);
	return 0;
}

static void put(const void *data, size_t size)
{
	int fd = openat(dirfd, BROKER_TOKENS_FILE,
			O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
}

static void check_token(const struct broker_token *t)
{
	if (strlen(t->id) != 2 * ID_BYTES ||
	    strspn(t->id, "0123456789abcdef") != 2 * ID_BYTES ||
	    !name_ok(t->name) || t->role < BROKER_ROLE_VIEWER ||
	    t->role > BROKER_ROLE_ADMIN || t->iterations < 1 ||
	    t->iterations > 10000000 || t->n_insts > TOKEN_INSTANCES_MAX ||
	    (!t->scoped && t->n_insts))
		abort();
	for (size_t i = 0; i < t->n_insts; i++)
		if (!vac_name_ok(t->insts[i]))
			abort();
}

static bool same_token(const struct broker_token *a, const struct broker_token *b)
{
	if (strcmp(a->id, b->id) || strcmp(a->name, b->name) ||
	    a->role != b->role || a->scoped != b->scoped ||
	    a->n_insts != b->n_insts || a->created != b->created ||
	    a->expires != b->expires || a->iterations != b->iterations ||
	    memcmp(a->salt, b->salt, SALT_BYTES) ||
	    memcmp(a->hash, b->hash, HASH_BYTES))
		return false;
	for (size_t i = 0; i < a->n_insts; i++)
		if (strcmp(a->insts[i], b->insts[i]))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct broker_tokens *a = (void *)&dir, *again = NULL;
	struct broker_err err = { 0 };
	_cleanup_json_ json_t *doc = NULL;
	_cleanup_free_ char *text = NULL;

	if (size > TOKENS_MAX_BYTES)
		return 0;
	put(data, size);
	if (broker_tokens_open(&a, dirfd, &err)) {
		if (a != (void *)&dir || !err.msg[0] ||
		    !strstr(err.msg, BROKER_TOKENS_FILE))
			abort();
		return 0;
	}
	if (a->n > TOKENS_MAX)
		abort();
	for (size_t i = 0; i < a->n; i++) {
		check_token(&a->tokens[i]);
		if (find(a, a->tokens[i].id) != &a->tokens[i])
			abort();
	}
	/* Written back as brokerd saves it, it loads to the same tokens. */
	doc = tokens_json(a, true);
	text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	if (!text)
		abort();
	put(text, strlen(text));
	if (broker_tokens_open(&again, dirfd, &err) || again->n != a->n)
		abort();
	for (size_t i = 0; i < a->n; i++)
		if (!same_token(&a->tokens[i], &again->tokens[i]))
			abort();
	broker_tokens_free(again);
	broker_tokens_free(a);
	return 0;
}

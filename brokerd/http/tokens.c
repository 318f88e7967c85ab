// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Bearer tokens and roles: the token store, tokens.json.
 *
 * A token is "vac_<id>_<secret>": <id> 16 hex digits (8 random bytes),
 * <secret> 64 hex digits (32 bytes of RAND_bytes).  tokens.json keeps,
 * per token, its id, name, role, scope, expiry, a 16-byte random salt
 * and PBKDF2-HMAC-SHA256(secret, salt, iterations); never the secret.
 * A request costs one lookup by id and one hash (no cache of verified
 * tokens), compared with CRYPTO_memcmp.  The secret is 256 random bits:
 * a stolen tokens.json is useless for offline guessing with a single
 * salted HMAC, and stretching (meant for weak passwords) would only make
 * every request pay for it, so new tokens get one iteration.  Tokens
 * keep the count they were made with.
 *
 * The token table has its own lock, so that the hash runs outside the
 * broker lock; the handlers of /v1/tokens take it under the broker lock
 * (order: broker lock, then this one).  The roles are named here too.
 *
 * May call: core/store.c, core/store_files.c (the atomic write, the
 * file's mode), base/.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base/json.h"
#include "core/store.h"
#include "core/store_files.h"
#include "http/tokens.h"

#define TOKENS_MAX		1024
#define TOKEN_INSTANCES_MAX	64
#define TOKENS_MAX_BYTES	(4u << 20)
#define PBKDF2_ITERATIONS	1
#define ID_BYTES		8
#define SECRET_BYTES		32
#define SALT_BYTES		16
#define HASH_BYTES		32

_Static_assert(sizeof(((struct broker_token *)0)->id) == 2 * ID_BYTES + 1 &&
	       sizeof(((struct broker_token *)0)->salt) == SALT_BYTES &&
	       sizeof(((struct broker_token *)0)->hash) == HASH_BYTES,
	       "struct broker_token's sizes");

struct broker_tokens {
	pthread_mutex_t lock;
	int dirfd;
	struct broker_token *tokens;
	size_t n, cap;
};

static const char *const role_names[] = {
	[BROKER_ROLE_NONE] = "none",
	[BROKER_ROLE_VIEWER] = "viewer",
	[BROKER_ROLE_OPERATOR] = "operator",
	[BROKER_ROLE_ADMIN] = "admin",
};

const char *broker_role_name(enum broker_role role)
{
	return role_names[role];
}

enum broker_role broker_role_parse(const char *s)
{
	for (int r = BROKER_ROLE_VIEWER; s && r <= BROKER_ROLE_ADMIN; r++)
		if (!strcmp(s, role_names[r]))
			return r;
	return BROKER_ROLE_NONE;
}

static void hex(char *dst, const unsigned char *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(dst + 2 * i, "%02x", src[i]);
}

static int unhex(unsigned char *dst, size_t n, const char *src)
{
	if (!src || strlen(src) != 2 * n ||
	    strspn(src, "0123456789abcdef") != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		sscanf(src + 2 * i, "%2x", &v);
		dst[i] = v;
	}
	return 0;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	return n && n < 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.-") == n;
}

static void token_clear(struct broker_token *t)
{
	free(t->insts);
	OPENSSL_cleanse(t, sizeof(*t));
}

static int derive(const char *secret, const unsigned char *salt,
		  unsigned int iterations, unsigned char *out)
{
	return PKCS5_PBKDF2_HMAC(secret, strlen(secret), salt, SALT_BYTES,
				 iterations, EVP_sha256(), HASH_BYTES, out) == 1 ?
	       0 : -EIO;
}

static struct broker_token *find(struct broker_tokens *a, const char *id)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->tokens[i].id, id))
			return &a->tokens[i];
	return NULL;
}

/* ---- the token file ---- */

static json_t *token_json(const struct broker_token *t, bool secret_parts)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "id", t->id,
			      "name", t->name, "role", role_names[t->role],
			      "created", (json_int_t)t->created);

	if (!o)
		return NULL;
	if (t->scoped) {
		json_t *l = json_array();

		for (size_t i = 0; i < t->n_insts; i++)
			json_array_append_new(l, json_string(t->insts[i]));
		json_object_set_new(o, "instances", l);
	}
	if (t->expires)
		json_object_set_new(o, "expires", json_integer(t->expires));
	if (secret_parts) {
		char salt[2 * SALT_BYTES + 1], hash[2 * HASH_BYTES + 1];

		hex(salt, t->salt, SALT_BYTES);
		hex(hash, t->hash, HASH_BYTES);
		json_object_set_new(o, "kdf", json_string("pbkdf2-hmac-sha256"));
		json_object_set_new(o, "iterations", json_integer(t->iterations));
		json_object_set_new(o, "salt", json_string(salt));
		json_object_set_new(o, "hash", json_string(hash));
	}
	return o;
}

static json_t *tokens_json(struct broker_tokens *a, bool secret_parts)
{
	json_t *l = json_array();

	for (size_t i = 0; l && i < a->n; i++)
		if (json_array_append_new(l, token_json(&a->tokens[i], secret_parts))) {
			json_decref(l);
			return NULL;
		}
	return l ? json_pack("{s:o}", "tokens", l) : NULL;
}

static int save(struct broker_tokens *a, struct broker_err *err)
{
	_cleanup_json_ json_t *doc = tokens_json(a, true);
	_cleanup_free_ char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;

	if (!text) {
		broker_err_set(err, NULL, BROKER_TOKENS_FILE ": out of memory");
		return -ENOMEM;
	}
	return broker_store_write(a->dirfd, BROKER_TOKENS_FILE, text, err);
}

static int scope_parse(json_t *l, struct broker_token *t, const char *field,
		       struct broker_err *err)
{
	size_t i;
	json_t *v;

	if (!json_is_array(l) || json_array_size(l) > TOKEN_INSTANCES_MAX) {
		broker_err_set(err, field, "an array of at most %d instance names",
			       TOKEN_INSTANCES_MAX);
		return -EINVAL;
	}
	t->insts = calloc(json_array_size(l) + 1, VAC_NAME_LEN);
	if (!t->insts)
		return -ENOMEM;
	t->scoped = true;
	json_array_foreach(l, i, v) {
		const char *s = json_string_value(v);

		if (!s || !vac_name_ok(s)) {
			broker_err_set(err, field,
				       "instance names match [a-z0-9_]{1,31}");
			return -EINVAL;
		}
		snprintf(t->insts[t->n_insts++], VAC_NAME_LEN, "%s", s);
	}
	return 0;
}

static int load_one(json_t *o, struct broker_token *t, struct broker_err *err)
{
	const char *id = NULL, *name = NULL, *role = NULL, *kdf = NULL;
	const char *salt = NULL, *hash = NULL;
	json_int_t created = 0, expires = 0, iter = 0;
	json_t *insts = NULL;
	json_error_t je;

	if (json_unpack_ex(o, &je, JSON_STRICT,
			   "{s:s, s:s, s:s, s:I, s?o, s?I, s:s, s:I, s:s, s:s}",
			   "id", &id, "name", &name, "role", &role,
			   "created", &created, "instances", &insts,
			   "expires", &expires, "kdf", &kdf,
			   "iterations", &iter, "salt", &salt, "hash", &hash)) {
		broker_err_set(err, NULL, "%s", je.text);
		return -EINVAL;
	}
	t->role = broker_role_parse(role);
	if (strlen(id) != 2 * ID_BYTES || strspn(id, "0123456789abcdef") != 2 * ID_BYTES ||
	    !name_ok(name) || !t->role || strcmp(kdf, "pbkdf2-hmac-sha256") ||
	    iter < 1 || iter > 10000000 || unhex(t->salt, SALT_BYTES, salt) ||
	    unhex(t->hash, HASH_BYTES, hash)) {
		broker_err_set(err, NULL, "token %s: a field is not valid", id);
		return -EINVAL;
	}
	strcpy(t->id, id);
	strcpy(t->name, name);
	t->created = created;
	t->expires = expires;
	t->iterations = iter;
	return insts ? scope_parse(insts, t, "instances", err) : 0;
}

static int load(struct broker_tokens *a, struct broker_err *err)
{
	_cleanup_json_ json_t *doc = NULL;
	struct broker_err why = { 0 };
	json_t *l, *o;
	size_t i;
	int ret;

	ret = broker_store_private(a->dirfd, BROKER_TOKENS_FILE, &why);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		goto fail;
	ret = bj_load_file(a->dirfd, BROKER_TOKENS_FILE, TOKENS_MAX_BYTES, &doc,
			   &why);
	if (ret)
		goto fail;
	l = json_object_get(doc, "tokens");
	if (!json_is_array(l) || json_object_size(doc) != 1 ||
	    json_array_size(l) > TOKENS_MAX) {
		broker_err_set(&why, NULL, "expected {\"tokens\": [...]}");
		ret = -EINVAL;
		goto fail;
	}
	a->tokens = calloc(json_array_size(l) + 1, sizeof(*a->tokens));
	if (!a->tokens)
		return -ENOMEM;
	a->cap = json_array_size(l) + 1;
	json_array_foreach(l, i, o) {
		ret = load_one(o, &a->tokens[a->n], &why);
		a->n++;
		if (ret)
			goto fail;
		if (find(a, a->tokens[a->n - 1].id) != &a->tokens[a->n - 1]) {
			broker_err_set(&why, NULL, "token %s twice",
				       a->tokens[a->n - 1].id);
			ret = -EINVAL;
			goto fail;
		}
	}
	return 0;

fail:
	broker_err_set(err, NULL, "%s: %s (the file is left as it is)",
		       BROKER_TOKENS_FILE, why.msg);
	return ret;
}

int broker_tokens_open(struct broker_tokens **out, int dirfd,
		     struct broker_err *err)
{
	struct broker_tokens *a = calloc(1, sizeof(*a));
	int ret;

	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	a->dirfd = dirfd;
	ret = load(a, err);
	if (ret) {
		broker_tokens_free(a);
		return ret;
	}
	*out = a;
	return 0;
}

void broker_tokens_free(struct broker_tokens *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++)
		token_clear(&a->tokens[i]);
	free(a->tokens);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/*
 * A new token into the table and the file; its text ("vac_<id>_<secret>")
 * in @text.  Lock held.  On failure nothing changes.
 */
static int create(struct broker_tokens *a, struct broker_token *t, char *text,
		  size_t size, struct broker_err *err)
{
	unsigned char id[ID_BYTES], secret[SECRET_BYTES];
	char secret_hex[2 * SECRET_BYTES + 1];
	int ret;

	for (size_t i = 0; i < a->n; i++) {
		if (!strcmp(a->tokens[i].name, t->name)) {
			broker_err_set(err, "name", "a token named %s exists",
				       t->name);
			return -EEXIST;
		}
	}
	ret = broker_grow(&a->tokens, &a->cap, a->n, sizeof(*a->tokens),
			  TOKENS_MAX);
	if (ret == -ENOSPC) {
		/* The table is full, not the disk: -EUSERS tells them apart. */
		broker_err_set(err, NULL, "at most %d tokens", TOKENS_MAX);
		return -EUSERS;
	}
	if (ret) {
		broker_err_set(err, NULL, "out of memory");
		return ret;
	}
	do {
		if (RAND_bytes(id, sizeof(id)) != 1)
			goto rand_fail;
		hex(t->id, id, sizeof(id));
	} while (find(a, t->id));
	if (RAND_bytes(secret, sizeof(secret)) != 1 ||
	    RAND_bytes(t->salt, sizeof(t->salt)) != 1)
		goto rand_fail;
	hex(secret_hex, secret, sizeof(secret));
	OPENSSL_cleanse(secret, sizeof(secret));
	t->iterations = PBKDF2_ITERATIONS;
	t->created = time(NULL);
	ret = derive(secret_hex, t->salt, t->iterations, t->hash);
	if (ret) {
		broker_err_set(err, NULL, "PBKDF2 failed");
		goto out;
	}
	a->tokens[a->n++] = *t;
	ret = save(a, err);
	if (ret) {
		a->n--;
		goto out;
	}
	snprintf(text, size, "vac_%s_%s", t->id, secret_hex);
	t->insts = NULL;	/* the table's now */
out:
	OPENSSL_cleanse(secret_hex, sizeof(secret_hex));
	return ret;

rand_fail:
	broker_err_set(err, NULL, "RAND_bytes failed");
	return -EIO;
}

int broker_tokens_bootstrap(struct broker_tokens *a, const char *path,
			  struct broker_err *err)
{
	struct broker_token t = { .name = "bootstrap", .role = BROKER_ROLE_ADMIN };
	char text[128], line[130];
	_cleanup_close_ int fd = -1;
	int ret;

	pthread_mutex_lock(&a->lock);
	if (a->n) {
		pthread_mutex_unlock(&a->lock);
		return 1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0 || fchmod(fd, 0600) < 0) {
		ret = -errno;
		broker_err_set(err, "bootstrap-token", "%s: %s", path,
			       strerror(-ret));
		pthread_mutex_unlock(&a->lock);
		return ret;
	}
	ret = create(a, &t, text, sizeof(text), err);
	pthread_mutex_unlock(&a->lock);
	if (ret)
		return ret;
	snprintf(line, sizeof(line), "%s\n", text);
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
	    fsync(fd) < 0) {
		ret = -errno;
		broker_err_set(err, "bootstrap-token", "%s: %s", path,
			       strerror(ret ? -ret : EIO));
	}
	OPENSSL_cleanse(text, sizeof(text));
	OPENSSL_cleanse(line, sizeof(line));
	return ret ? ret : 0;
}

/* ---- requests ---- */

int broker_tokens_verify(struct broker_tokens *a, const char *text,
			 struct broker_principal *who)
{
	unsigned char hash[HASH_BYTES];
	char id[2 * ID_BYTES + 1];
	const char *secret;
	struct broker_token copy, *t;
	int ret;

	if (strncmp(text, "vac_", 4) || strlen(text) != 4 + 2 * ID_BYTES + 1 +
	    2 * SECRET_BYTES || text[4 + 2 * ID_BYTES] != '_')
		return -EACCES;
	snprintf(id, sizeof(id), "%.*s", 2 * ID_BYTES, text + 4);
	secret = text + 4 + 2 * ID_BYTES + 1;

	pthread_mutex_lock(&a->lock);
	t = find(a, id);
	if (t) {
		copy = *t;
		copy.insts = NULL;
	}
	pthread_mutex_unlock(&a->lock);
	if (!t || (copy.expires && time(NULL) >= copy.expires))
		return -EACCES;
	ret = derive(secret, copy.salt, copy.iterations, hash);
	if (ret || CRYPTO_memcmp(hash, copy.hash, HASH_BYTES))
		return -EACCES;
	who->role = copy.role;
	who->token = true;
	who->scoped = copy.scoped;
	memcpy(who->token_id, copy.id, sizeof(who->token_id));
	memcpy(who->token_name, copy.name, sizeof(who->token_name));
	return 0;
}

/* ---- the tokens resource ---- */

int broker_tokens_parse(const char *text, size_t len, struct broker_token *t,
			struct broker_err *err)
{
	_cleanup_json_ json_t *body = bj_load(text, len, "body", err);
	const char *name = NULL, *role = NULL;
	json_int_t expires = 0;
	json_t *insts = NULL;
	json_error_t je;
	int ret;

	if (!body)
		return -EINVAL;
	if (json_unpack_ex(body, &je, JSON_STRICT, "{s:s, s:s, s?o, s?I}",
			   "name", &name, "role", &role, "instances", &insts,
			   "expires", &expires)) {
		broker_err_set(err, NULL, "body: %s (expected name, role, "
			       "instances?, expires?)", je.text);
		return -EINVAL;
	}
	if (!name_ok(name)) {
		broker_err_set(err, "name", "1 to 63 of [A-Za-z0-9_.-]");
		return -EINVAL;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->role = broker_role_parse(role);
	if (!t->role) {
		broker_err_set(err, "role", "one of viewer, operator, admin");
		return -EINVAL;
	}
	if (json_object_get(body, "expires") &&
	    (!json_is_integer(json_object_get(body, "expires")) ||
	     expires <= time(NULL))) {
		broker_err_set(err, "expires",
			       "a time in the future, in Unix seconds");
		return -EINVAL;
	}
	t->expires = expires;
	ret = insts ? scope_parse(insts, t, "instances", err) : 0;
	for (size_t i = 0; !ret && i < t->n_insts; i++) {
		for (size_t k = 0; k < i; k++) {
			if (!strcmp(t->insts[i], t->insts[k])) {
				broker_err_set(err, "instances",
					       "instance %s twice", t->insts[i]);
				ret = -EINVAL;
				break;
			}
		}
	}
	if (ret) {
		free(t->insts);
		t->insts = NULL;
	}
	return ret;
}

int broker_tokens_create(struct broker_tokens *a, struct broker_token *t,
			 json_t **view, struct broker_err *err)
{
	char text[128];
	int ret;

	pthread_mutex_lock(&a->lock);
	ret = create(a, t, text, sizeof(text), err);
	*view = ret ? NULL : token_json(&a->tokens[a->n - 1], false);
	pthread_mutex_unlock(&a->lock);
	if (ret)
		return ret;
	if (*view)
		json_object_set_new(*view, "token", json_string(text));
	OPENSSL_cleanse(text, sizeof(text));
	return 0;
}

json_t *broker_tokens_list(struct broker_tokens *a)
{
	json_t *doc;

	pthread_mutex_lock(&a->lock);
	doc = tokens_json(a, false);
	pthread_mutex_unlock(&a->lock);
	return doc;
}

int broker_tokens_revoke(struct broker_tokens *a, const char *id,
			 struct broker_err *err)
{
	struct broker_token *t, keep;
	size_t i;
	int ret;

	pthread_mutex_lock(&a->lock);
	t = find(a, id);
	if (!t) {
		pthread_mutex_unlock(&a->lock);
		return -ENOENT;
	}
	i = t - a->tokens;
	keep = *t;
	memmove(t, t + 1, (a->n - i - 1) * sizeof(*t));
	a->n--;
	ret = save(a, err);
	if (ret) {
		memmove(&a->tokens[i + 1], &a->tokens[i], (a->n - i) * sizeof(*t));
		a->tokens[i] = keep;
		a->n++;
	} else {
		token_clear(&keep);
	}
	pthread_mutex_unlock(&a->lock);
	return ret;
}

bool broker_tokens_scope_ok(struct broker_tokens *a, const char *id,
			    const char *name)
{
	struct broker_token *t;
	bool ok = false;

	pthread_mutex_lock(&a->lock);
	t = find(a, id);
	for (size_t i = 0; t && i < t->n_insts; i++)
		if (!strcmp(t->insts[i], name))
			ok = true;
	pthread_mutex_unlock(&a->lock);
	return ok;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * brokerctl: the command line of brokerd, in the manner of iproute2's
 * devlink and dpll: brokerctl [options] <object> <verb> [args].  main()
 * reads the options and where brokerd is, checks them (plain http:// to
 * loopback only), and hands the object's verbs to its file: one file per
 * object, sharing one request layer (request.c) and one print layer
 * (print.c).  Exit status: 0 ok, 1 the server refused (4xx), 2 usage
 * error, 3 cannot connect or server error (5xx).
 *
 * May call: every file of brokerctl, libcurl.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "brokerctl.h"

static const char main_help[] =
"Usage: brokerctl [OPTIONS] OBJECT [VERB] [ARGS]\n"
"\n"
"Objects and verbs:\n"
"  resources [show]                       capacity and usage of every kind\n"
"  instances [list]                       every instance\n"
"  instances show|declare|delete NAME     one instance\n"
"  quota get NAME                         desired quotas and usage\n"
"  quota set NAME KIND=N... [--force] [--if-match GEN]\n"
"  events [--count N]                     follow changes, one line each\n"
"  token create NAME --role ROLE [--instance NAME]... [--expires WHEN]\n"
"  token list\n"
"  token revoke ID\n"
"  policy show|apply|delete               the stored policy\n"
"  policy set FILE|- [--if-match GEN]     store a policy and apply it\n"
"  policy plan [FILE|-]                   dry run\n"
"  profile list | show NAME | set NAME FILE|- | delete NAME\n"
"  profile apply NAME INSTANCE | status INSTANCE\n"
"  help [OBJECT]\n"
"\n"
"Options:\n"
"  -s, --socket PATH     brokerd's Unix socket (env BROKERCTL_SOCKET;\n"
"                        default " DEFAULT_SOCKET ")\n"
"  -H, --host, --url URL https://host:port, or http://127.0.0.1:port\n"
"                        (env BROKERCTL_HOST); instead of the socket;\n"
"                        http:// is refused unless the host is loopback\n"
"  -t, --token TOKEN     bearer token (env BROKERCTL_TOKEN)\n"
"      --token-file FILE read the bearer token from FILE\n"
"                        (env BROKERCTL_TOKEN_FILE)\n"
"      --cacert FILE     CA certificate(s) to verify an https host\n"
"  -o, --output FORMAT   'table' (default) or 'json'\n"
"  -h, --help            this help; 'brokerctl OBJECT --help' for one object\n"
"      --version         brokerctl's version\n"
"\n"
"Kinds: asids sev_asids sev_es_asids vpids pmu_counters msr_slots\n"
"Instance names: [a-z0-9_]{1,31}.  Quotas: 0 to 4294967295.\n"
"\n"
"Exit status:\n"
"  0  success\n"
"  1  the server refused the request (4xx); its reason on stderr\n"
"  2  usage error (bad arguments); no request was made\n"
"  3  cannot connect to brokerd, or it failed (5xx)\n";

static const struct object {
	const char *name;
	int (*run)(const struct ctl *ctl, int argc, char **argv);
	const char *help;
} objects[] = {
	{ "resources", ctl_resources, ctl_resources_help },
	{ "instances", ctl_instances, ctl_instances_help },
	{ "instance", ctl_instances, ctl_instances_help },
	{ "quota", ctl_quota, ctl_quota_help },
	{ "events", ctl_events, ctl_events_help },
	{ "token", ctl_token, ctl_token_help },
	{ "tokens", ctl_token, ctl_token_help },
	{ "policy", ctl_policy, ctl_policy_help },
	{ "profile", ctl_profile, ctl_profile_help },
	{ "profiles", ctl_profile, ctl_profile_help },
};

static const struct object *find_object(const char *name)
{
	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
		if (!strcmp(objects[i].name, name))
			return &objects[i];
	return NULL;
}

static bool valid_host(const char *host)
{
	return !strncmp(host, "https://", 8) || !strncmp(host, "http://", 7);
}

/*
 * Is the host of @url, as curl reads it, a loopback one: 127.0.0.0/8,
 * ::1, or localhost (which curl resolves itself, never through DNS)?
 */
static bool loopback_url(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	struct in6_addr a6;
	struct in_addr a4;
	bool ok = false;
	size_t n;

	if (u && url && !curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_HOST, &host, 0)) {
		n = strlen(host);
		if (!strcasecmp(host, "localhost"))
			ok = true;
		else if (inet_pton(AF_INET, host, &a4) == 1)
			ok = ntohl(a4.s_addr) >> 24 == 127;
		else if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
			host[n - 1] = 0;
			ok = inet_pton(AF_INET6, host + 1, &a6) == 1 &&
			     IN6_IS_ADDR_LOOPBACK(&a6);
		}
	}
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

/*
 * http:// only to loopback, where brokerd's plain listener is: anywhere
 * else the token and every answer would cross the network in cleartext.
 */
static bool cleartext_ok(const struct ctl *ctl)
{
	char *url;
	bool ok;

	if (strncmp(ctl->host, "http://", 7))
		return true;
	url = ctl_host_url(ctl, "/");
	ok = loopback_url(url);
	free(url);
	return ok;
}

/* The first line of @path, without trailing white space, malloc'ed. */
static char *read_token_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t size = 0;
	ssize_t n;

	if (!f)
		return NULL;
	n = getline(&line, &size, f);
	fclose(f);
	if (n < 0) {
		free(line);
		return strdup("");
	}
	while (n && isspace((unsigned char)line[n - 1]))
		line[--n] = 0;
	return line;
}

int main(int argc, char **argv)
{
	enum { OPT_TOKEN_FILE = 256, OPT_CACERT, OPT_VERSION };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "host", required_argument, NULL, 'H' },
		{ "url", required_argument, NULL, 'H' },
		{ "token", required_argument, NULL, 't' },
		{ "token-file", required_argument, NULL, OPT_TOKEN_FILE },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	struct ctl ctl = { 0 };
	const char *token = NULL, *token_file = NULL, *socket_opt = NULL;
	const struct object *obj;
	int opt, ret;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+s:H:t:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket_opt = optarg;
			break;
		case 'H':
			ctl.host = optarg;
			break;
		case 't':
			token = optarg;
			break;
		case OPT_TOKEN_FILE:
			token_file = optarg;
			break;
		case OPT_CACERT:
			ctl.cacert = optarg;
			break;
		case 'o':
			if (!strcmp(optarg, "json"))
				ctl.json = true;
			else if (!strcmp(optarg, "table"))
				ctl.json = false;
			else
				return ctl_usage_error(NULL, "unknown output format '%s': expected table or json",
						       optarg);
			break;
		case 'h':
			return ctl_show_help(main_help);
		case OPT_VERSION:
			printf("brokerctl %s\n", BROKER_VERSION);
			return 0;
		case ':':
			return ctl_usage_error(NULL, "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return ctl_usage_error(NULL, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return ctl_usage_error(NULL, "missing object");
	if (!strcmp(argv[optind], "help")) {
		obj = optind + 1 < argc ? find_object(argv[optind + 1]) : NULL;
		if (optind + 1 < argc && !obj)
			return ctl_usage_error(NULL, "unknown object '%s'", argv[optind + 1]);
		return ctl_show_help(obj ? obj->help : main_help);
	}
	obj = find_object(argv[optind]);
	if (!obj)
		return ctl_usage_error(NULL, "unknown object '%s'", argv[optind]);

	if (ctl.host && !valid_host(ctl.host))
		return ctl_usage_error(NULL, "bad host '%s': expected https://host:port or http://127.0.0.1:port",
				       ctl.host);

	/* Where: -s, else -H, else the environment, else the default socket. */
	if (socket_opt) {
		ctl.socket = socket_opt;
		ctl.host = NULL;
	} else if (!ctl.host) {
		ctl.host = getenv("BROKERCTL_HOST");
		if (ctl.host && !*ctl.host)
			ctl.host = NULL;
		ctl.socket = getenv("BROKERCTL_SOCKET");
		if (!ctl.socket || !*ctl.socket)
			ctl.socket = DEFAULT_SOCKET;
	}
	if (ctl.host && !valid_host(ctl.host))
		return ctl_usage_error(NULL, "bad host '%s': expected https://host:port or http://127.0.0.1:port",
				       ctl.host);
	if (ctl.host && !cleartext_ok(&ctl))
		return ctl_usage_error(NULL, "refusing %s: plain http:// would send the token "
				       "and every answer in cleartext; it is for brokerd's "
				       "loopback listener only (127.0.0.0/8, ::1, localhost): "
				       "use https://HOST:PORT with --cacert", ctl.host);
	if (!token && !token_file) {
		token = getenv("BROKERCTL_TOKEN");
		if (token && !*token)
			token = NULL;
		if (!token)
			token_file = getenv("BROKERCTL_TOKEN_FILE");
		if (token_file && !*token_file)
			token_file = NULL;
	}
	if (token_file && !token) {
		ctl.token = read_token_file(token_file);
		if (!ctl.token) {
			fprintf(stderr, "brokerctl: cannot read %s: %s\n",
				token_file, strerror(errno));
			return CTL_EXIT_USAGE;
		}
	} else if (token) {
		ctl.token = *token ? strdup(token) : NULL;
	}
	if (ctl.token && (!*ctl.token || strpbrk(ctl.token, "\r\n"))) {
		free(ctl.token);
		return ctl_usage_error(NULL, "bad token: empty or more than one line");
	}

	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		free(ctl.token);
		fprintf(stderr, "brokerctl: cannot initialise libcurl\n");
		return CTL_EXIT_CONNECT;
	}
	ret = obj->run(&ctl, argc - optind - 1, argv + optind + 1);
	curl_global_cleanup();
	free(ctl.token);
	return ret;
}

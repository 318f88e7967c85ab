// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer: libvac's parsing of what the kernel sends (instance,
 * resource and allocation replies, events), from arbitrary attribute
 * bytes behind valid netlink and genetlink headers.
 */
#include "../../api/libvac/libvac.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[NLMSG_HDRLEN + GENL_HDRLEN + 65536];
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct genlmsghdr *gh = nlmsg_data(nlh);
	struct vac_instance_info in;
	struct vac_resource_info r;
	int refused;
	struct collect runs = { .size = sizeof(struct vac_alloc_run) };

	if (size < 1 || size > 65536)
		return 0;
	memset(buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	nlh->nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN + size - 1;
	gh->cmd = data[0];
	memcpy(buf + NLMSG_HDRLEN + GENL_HDRLEN, data + 1, size - 1);

	if (!parse_instance(nlh, &in, &refused)) {
		if (!memchr(in.name, 0, sizeof(in.name)) ||
		    !memchr(in.module, 0, sizeof(in.module)))
			abort();
	}
	parse_resource(nlh, &r);
	/* Every run parsed is kept, and nothing leaks (the sanitizer). */
	if (!collect_runs(NULL, nlh, &runs) && runs.n > runs.cap)
		abort();
	free(runs.items);
	return 0;
}

/* cpus.c - see cpus.h */
#include "host/cpus.h"

#include <stdlib.h>
#include <string.h>

#define ONLINE_PATH "/sys/devices/system/cpu/online"

int host_read_cpu_list(const char *sysfs_root, const char *path, uint8_t mask[CPU_LIST_MAX / 8],
                       struct error *err)
{
	bool host = sysfs_root == NULL || sysfs_root[0] == '\0' || strcmp(sysfs_root, "/") == 0;
	char *full = host ? xstrdup(path) : xasprintf("%s%s", sysfs_root, path);
	char *text;
	size_t len;
	int rc = read_file(full, &text, &len, err);

	free(full);
	if (rc < 0)
		return -1;
	text[strcspn(text, "\n")] = '\0';
	rc = parse_cpu_list(text, mask, err);
	free(text);
	return rc < 0 ? error_prefix(err, "%s", path) : 0;
}

int host_online_cpus(const char *sysfs_root, uint8_t online[CPU_LIST_MAX / 8], struct error *err)
{
	return host_read_cpu_list(sysfs_root, ONLINE_PATH, online, err);
}

int cpus_require_online(const char *what, const uint8_t want[CPU_LIST_MAX / 8],
                        const uint8_t online[CPU_LIST_MAX / 8], struct error *err)
{
	uint8_t missing[CPU_LIST_MAX / 8];
	bool any = false;
	char *missing_text, *want_text, *online_text;

	for (size_t i = 0; i < CPU_LIST_MAX / 8; i++) {
		missing[i] = (uint8_t)(want[i] & ~online[i]);
		any = any || missing[i] != 0;
	}
	if (!any)
		return 0;
	missing_text = format_cpu_list(missing);
	want_text = format_cpu_list(want);
	online_text = format_cpu_list(online);
	error_set(err, EXIT_RUNNER_ERROR, 0,
	          "%s %s: CPU %s not online on this host (online CPUs: %s)", what, want_text,
	          missing_text, online_text);
	free(missing_text);
	free(want_text);
	free(online_text);
	return -1;
}

int host_check_cpus_online(const char *what, const uint8_t want[CPU_LIST_MAX / 8],
                           struct error *err)
{
	uint8_t online[CPU_LIST_MAX / 8];

	if (host_online_cpus(NULL, online, err) < 0)
		return error_prefix(err, "checking %s", what);
	return cpus_require_online(what, want, online, err);
}

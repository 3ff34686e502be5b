/* SPDX-License-Identifier: MIT */
/* argv_test - the arguments a program is started with.
 *
 *     argv_test                  no arguments: argc is 1
 *     argv_test N WORD...        N says how many WORDs follow
 *
 * On Pagoda the arguments come from the program's GRUB module line
 * ("module2 /boot/bin/argv_test argv_test 3 alpha beta x=y,z", written by
 * tools/mkiso from a run-tests configuration's modules=); under Linux from
 * tools/linux-ref ('argv_test 3 alpha beta x=y,z'). The program checks the
 * System V initial stack they are laid out on (argc, argv[], NULL, envp[],
 * NULL, auxv) and prints the arguments, so the two systems' outputs can be
 * compared line by line. argv[0] is printed without its directory: Linux
 * gives the path the program was started by, Pagoda the module's name.
 */
#include "libc.h"

#define AT_NULL 0
#define AT_PAGESZ 6
#define AT_EXECFN 31

static const char *base_name(const char *path)
{
	const char *slash = NULL;

	for (const char *p = path; *p; p++)
		if (*p == '/')
			slash = p;
	return slash ? slash + 1 : path;
}

/* argv[1] is the count of the words after it; with no arguments, 0 words
 * are expected. Returns -1 if argv[1] is not a number. */
static long expected_words(int argc, char **argv)
{
	char *end;
	unsigned long n;

	if (argc < 2)
		return 0;
	n = strtoul(argv[1], &end, 10);
	if (end == argv[1] || *end)
		return -1;
	return (long)n;
}

/* After argv's NULL come envp's entries and a NULL, then the auxiliary
 * vector: AT_PAGESZ must say 4096 and AT_EXECFN point at a string. */
static bool auxv_after_envp(int argc, char **argv)
{
	char **envp = argv + argc + 1;
	int n = 0;
	unsigned long *auxv;
	bool pagesz = false, execfn = false;

	while (envp[n] && n < 4096)
		n++;
	if (envp[n]) {
		ktap_diag("envp has no NULL within 4096 entries");
		return false;
	}
	for (auxv = (unsigned long *)(envp + n + 1); auxv[0] != AT_NULL; auxv += 2) {
		if (auxv[0] == AT_PAGESZ)
			pagesz = auxv[1] == 4096;
		if (auxv[0] == AT_EXECFN)
			execfn = auxv[1] != 0 && ((const char *)auxv[1])[0] != 0;
	}
	if (!pagesz || !execfn)
		ktap_diag("auxv: AT_PAGESZ 4096 %s, AT_EXECFN a string %s",
			  pagesz ? "yes" : "no", execfn ? "yes" : "no");
	return pagesz && execfn;
}

/* The strings follow one another, each after the previous one's NUL. */
static bool strings_contiguous(int argc, char **argv)
{
	for (int i = 0; i + 1 < argc; i++)
		if (argv[i + 1] != argv[i] + strlen(argv[i]) + 1) {
			ktap_diag("argv[%d] at %p, expected right after argv[%d] at %p",
				  i + 1, (void *)argv[i + 1], i, (void *)argv[i]);
			return false;
		}
	return true;
}

int main(int argc, char **argv)
{
	long want = expected_words(argc, argv);

	ktap_plan(5);
	ktap_diag("argc %d", argc);
	for (int i = 1; i < argc; i++)
		ktap_diag("argv[%d] \"%s\"", i, argv[i]);
	ktap_ok(argc >= 1 && !strcmp(base_name(argv[0]), "argv_test"),
		"argv[0] names the program");
	ktap_ok(want >= 0 && argc == (argc < 2 ? 1 : want + 2),
		"argc counts argv[0], argv[1] and the words argv[1] announces");
	ktap_ok(argv[argc] == NULL, "argv[argc] is NULL");
	ktap_ok(strings_contiguous(argc, argv), "the argument strings are contiguous, in order");
	ktap_ok(auxv_after_envp(argc, argv), "envp, then the auxiliary vector, after argv");
	return ktap_finish();
}

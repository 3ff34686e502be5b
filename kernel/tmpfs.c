/* SPDX-License-Identifier: MIT */
/* kernel/tmpfs.c - the RAM file system's names: open by name (creating),
 * unlink, and the two directories (kernel/tmpfs.h has the model). The
 * files themselves are memfd's kind (kernel/memfd.c). Checks come in the
 * order Linux's path walk and do_open make them, so that a bad call gets
 * Linux's errno.
 */
#include "kernel/tmpfs.h"
#include "kernel/file.h"
#include "kernel/memfd.h"
#include "kernel/path.h"
#include "kernel/proc.h"
#include "kernel/sysfs.h"
#include "kernel/syscall.h"
#include "kernel/errno.h"
#include "kernel/string.h"
#include "kernel/rwsem.h"
#include "kernel/printk.h"         /* snprintf */
#include "mm/shared_anon.h"
#include "mm/vma.h"             /* shared_anon_put */
#include "mm/slab.h"

#define O_ACCMODE 3
#define O_WRONLY 1
#define O_RDWR 2
#define O_DIRECTORY 0200000
#define NAME_MAX 255
#define UMASK 022               /* every Linux process's first umask */
#define S_IFREG 0100000

/* A directory entry: its key is the path without the leading '/' ("x" or
 * "tmp/x"), which is also the object's name in /proc/PID/maps. */
struct tmpfs_entry {
	struct tmpfs_entry *next;
	struct shared_anon *obj;        /* the entry's reference */
	char key[PATH_BUF];
};

static struct rwsem tmpfs_lock;
static struct tmpfs_entry *entries;
static u32 nr_entries;

/* ---- resolving a name ---- */

enum tmpfs_kind { TMPFS_ROOT, TMPFS_TMP, TMPFS_FILE };

struct tmpfs_name {
	enum tmpfs_kind kind;
	char key[PATH_BUF];             /* TMPFS_FILE: the entry's key */
	bool slash;                     /* the name ended in '/' */
};

#define MAX_COMPONENTS 64

/* Split path into its components, dropping empty ones and "." and taking
 * ".." back one (at "/" it stays at "/", as Linux's walk). The components
 * are strings in buf. Their number, or -ENAMETOOLONG (one over NAME_MAX)
 * or -ENOENT (too many to be a name here). */
static int split(const char *path, char *buf, const char **comp)
{
	strlcpy(buf, path, PATH_BUF);
	int n = 0;
	char *s = buf;
	while (*s) {
		if (*s == '/') {
			s++;
			continue;
		}
		char *start = s;
		while (*s && *s != '/')
			s++;
		if (*s)
			*s++ = 0;
		if (strlen(start) > NAME_MAX)
			return -ENAMETOOLONG;
		if (!strcmp(start, "."))
			continue;
		if (!strcmp(start, "..")) {
			if (n)
				n--;
			continue;
		}
		if (n == MAX_COMPONENTS)
			return -ENOENT;
		comp[n++] = start;
	}
	return n;
}

bool tmpfs_claims(const char *path)
{
	char buf[PATH_BUF];
	const char *comp[MAX_COMPONENTS];
	int n = split(path, buf, comp);
	return n <= 0 || !(!strcmp(comp[0], "proc") || !strcmp(comp[0], "sys"));
}

static struct tmpfs_entry *find_locked(const char *key)
{
	for (struct tmpfs_entry *e = entries; e; e = e->next)
		if (!strcmp(e->key, key))
			return e;
	return NULL;
}

/* A file where a directory was needed: ENOTDIR; nothing there: ENOENT. */
static int missing_dir(const char *key)
{
	down_read(&tmpfs_lock);
	bool file = find_locked(key) != NULL;
	up_read(&tmpfs_lock);
	return file ? -ENOTDIR : -ENOENT;
}

static void key_of(char *key, const char *dir, const char *name)
{
	snprintf(key, PATH_BUF, "%s%s", dir, name);
}

/* What path names: a directory or a file's key. 0 or -errno. */
static int resolve(const char *path, struct tmpfs_name *nm)
{
	char buf[PATH_BUF];
	const char *comp[MAX_COMPONENTS];
	int n = split(path, buf, comp);
	if (n < 0)
		return n;
	size_t len = strlen(path);
	nm->slash = len > 1 && path[len - 1] == '/';
	if (n == 0) {
		nm->kind = TMPFS_ROOT;
		return 0;
	}
	bool in_tmp = !strcmp(comp[0], "tmp");
	if (n == 1) {
		nm->kind = in_tmp ? TMPFS_TMP : TMPFS_FILE;
		key_of(nm->key, "", comp[0]);
		return 0;
	}
	if (n == 2 && in_tmp) {
		nm->kind = TMPFS_FILE;
		key_of(nm->key, "tmp/", comp[1]);
		return 0;
	}
	/* Deeper: the directory on the way is missing or is a file. */
	char key[PATH_BUF];
	if (in_tmp)
		key_of(key, "tmp/", comp[1]);
	else
		key_of(key, "", comp[0]);
	return missing_dir(key);
}

/* ---- the directories ---- */

static long dir_read(struct file *f, u64 ubuf, u64 count, u64 *pos)
{
	(void)f, (void)ubuf, (void)count, (void)pos;
	return -EISDIR;
}

/* "/" as an initramfs root is (0755) and /tmp as every Linux system has
 * it (sticky, writable by all). Reading one is EISDIR. */
static const struct file_ops root_dir_ops = {
	.name = "tmpfs dir",
	.read = dir_read,
	.stat_mode = 040755,
};

static const struct file_ops tmp_dir_ops = {
	.name = "tmpfs dir",
	.read = dir_read,
	.stat_mode = 041777,
};

static struct file *open_dir(const struct tmpfs_name *nm, u64 flags, long *err)
{
	if (flags & O_CREAT)
		*err = (flags & O_EXCL) ? -EEXIST : -EISDIR;
	else if (flags & O_ACCMODE)
		*err = -EISDIR;         /* a directory is never open for writing */
	else
		*err = -ENOMEM;
	if (*err != -ENOMEM)
		return NULL;
	const struct file_ops *ops = nm->kind == TMPFS_ROOT ? &root_dir_ops : &tmp_dir_ops;
	return file_alloc(ops, FMODE_READ, (u32)flags & O_NONBLOCK, NULL);
}

/* ---- files ---- */

static int create_locked(const char *key, u32 mode, struct shared_anon **out)
{
	if (nr_entries >= TMPFS_MAX_FILES)
		return -ENOSPC;
	struct tmpfs_entry *e = kzalloc(sizeof(*e), GFP_KERNEL);
	struct shared_anon *obj = shared_anon_create(0);
	char *name = kmalloc(strlen(key) + 1, GFP_KERNEL);
	if (!e || !obj || !name) {
		kfree(e);
		kfree(name);
		if (obj)
			shared_anon_put(obj);
		return -ENOMEM;
	}
	strlcpy(name, key, strlen(key) + 1);
	strlcpy(e->key, key, sizeof(e->key));
	obj->name = name;
	obj->mode = S_IFREG | (mode & 07777 & ~(u32)UMASK);
	obj->linked = true;
	e->obj = obj;
	e->next = entries;
	entries = e;
	nr_entries++;
	shared_anon_get(obj);           /* the caller's */
	*out = obj;
	return 0;
}

/* The file's object with a reference for the caller, found or created as
 * flags ask; *created says which. 0 or -errno. */
static int lookup_create(const struct tmpfs_name *nm, u64 flags, u32 mode,
			 struct shared_anon **obj, bool *created)
{
	*created = false;
	down_write(&tmpfs_lock);
	struct tmpfs_entry *e = find_locked(nm->key);
	int err = 0;
	if (e && (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		err = -EEXIST;
	else if (e && (nm->slash || (flags & O_DIRECTORY)))
		err = -ENOTDIR;         /* a file is not a directory */
	else if (e)
		shared_anon_get(*obj = e->obj);
	else if (!(flags & O_CREAT))
		err = -ENOENT;
	else if (nm->slash)
		err = -EISDIR;          /* "x/" cannot be created as a file */
	else if (flags & O_DIRECTORY)
		err = -ENOTDIR;
	else if (!(err = create_locked(nm->key, mode, obj)))
		*created = true;
	up_write(&tmpfs_lock);
	return err;
}

static u32 fmode_of(u64 flags)
{
	switch (flags & O_ACCMODE) {
	case O_WRONLY:
		return FMODE_WRITE;
	case O_RDWR:
		return FMODE_READ | FMODE_WRITE;
	case O_ACCMODE:
		return 0;               /* Linux's "3": neither read nor write */
	default:
		return FMODE_READ;
	}
}

struct file *tmpfs_open(const char *path, u64 flags, u32 mode, long *err)
{
	struct tmpfs_name nm;
	*err = resolve(path, &nm);
	if (*err)
		return NULL;
	if (nm.kind != TMPFS_FILE)
		return open_dir(&nm, flags, err);
	struct shared_anon *obj;
	bool created;
	*err = lookup_create(&nm, flags, mode, &obj, &created);
	if (*err)
		return NULL;
	/* O_TRUNC empties an existing file whatever the access mode (Linux's
	 * do_open truncates an O_RDONLY|O_TRUNC open too). */
	if (!created && (flags & O_TRUNC))
		*err = shmem_file_truncate(obj, 0);
	struct file *f = NULL;
	if (!*err) {
		f = shmem_file_open(obj, fmode_of(flags), (u32)flags & (O_NONBLOCK | O_APPEND));
		*err = f ? 0 : -ENOMEM;
	}
	shared_anon_put(obj);
	return f;
}

/* ---- unlink, unlinkat ---- */

#define AT_REMOVEDIR 0x200
#define SYS_unlink 87
#define SYS_unlinkat 263

/* A name outside the file system (/proc, /sys): EPERM if it exists (their
 * directories have no unlink), else ENOENT. */
static long unlink_outside(const char *path)
{
	long err;
	struct file *f = !strncmp(path, "/sys", 4) ? sysfs_open(path, &err) : procfs_open(path, &err);
	if (!f)
		return !strcmp(path, "/proc") || !strcmp(path, "/sys") ? -EPERM : err;
	file_put(f);
	return -EPERM;
}

static long do_unlink(const char *path, bool rmdir)
{
	if (!tmpfs_claims(path))
		return unlink_outside(path);
	struct tmpfs_name nm;
	long err = resolve(path, &nm);
	if (err)
		return err;
	if (nm.kind != TMPFS_FILE)
		return rmdir ? -EBUSY : -EISDIR;        /* a mount point; unlink of a dir */
	down_write(&tmpfs_lock);
	struct tmpfs_entry **pp = &entries;
	while (*pp && strcmp((*pp)->key, nm.key))
		pp = &(*pp)->next;
	struct tmpfs_entry *e = *pp;
	if (!e)
		err = -ENOENT;
	else if (rmdir || nm.slash)
		err = -ENOTDIR;
	else {
		*pp = e->next;
		nr_entries--;
		WRITE_ONCE(e->obj->linked, false);
	}
	up_write(&tmpfs_lock);
	if (err)
		return err;
	/* Open files and mappings keep the object; the last of them frees it. */
	shared_anon_put(e->obj);
	kfree(e);
	return 0;
}

static long sys_unlinkat(u64 dirfd, u64 upath, u64 flags)
{
	if (flags & ~(u64)AT_REMOVEDIR)
		return -EINVAL;
	char full[PATH_BUF];
	long err = path_from_user((s32)dirfd, upath, full, false);
	if (err)
		return err;
	return do_unlink(full, flags & AT_REMOVEDIR);
}

static long sys_unlink(u64 upath)
{
	return sys_unlinkat((u64)(s64)AT_FDCWD, upath, 0);
}

void tmpfs_syscalls_init(void)
{
	rwsem_init(&tmpfs_lock, "tmpfs");
	syscall_register(SYS_unlink, (void (*)(void))sys_unlink);
	syscall_register(SYS_unlinkat, (void (*)(void))sys_unlinkat);
}

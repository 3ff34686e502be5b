/* mm/maps.c - /proc/PID/maps text, in Linux's format:
 *
 *   start-end perms offset dev inode [padding name]
 *   00400000-00401000 r-xp 00000000 00:00 0
 *   7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]
 *
 * Addresses in lower-case hex, at least 8 digits; perms r/w/x or '-', then
 * 's' (shared) or 'p' (private); anonymous memory has offset 0, device 00:00
 * and inode 0. A line without a name ends with the space after the inode
 * (Linux prints it); a named one is padded with spaces so the name starts at
 * column 73 (Linux pads to 25 + 6 * sizeof(void *) - 1 characters, then one
 * more space). [heap] and [stack] are found by address, as Linux does.
 */
#include "mm/mm.h"
#include "mm/vma.h"
#include "kernel/printk.h"

#define MAPS_NAME_COLUMN 72

size_t mm_format_maps(struct mm_struct *mm, char *buf, size_t size)
{
	size_t len = 0;
	if (size == 0)
		return 0;
	buf[0] = 0;
	down_read(&mm->mmap_lock);
	const struct vma_set *s = mm->vma_root;
	for (u32 i = 0; i < s->nr; i++) {
		const struct vm_area *v = s->v[i];
		char line[160];
		int n = snprintf(line, sizeof(line), "%08lx-%08lx %c%c%c%c 00000000 00:00 0 ",
				 v->start, v->end,
				 (v->flags & VM_READ) ? 'r' : '-',
				 (v->flags & VM_WRITE) ? 'w' : '-',
				 (v->flags & VM_EXEC) ? 'x' : '-',
				 (v->flags & VM_SHARED) ? 's' : 'p');
		const char *name = NULL;
		if (v->start <= mm->brk && v->end >= mm->start_brk && mm->brk > mm->start_brk)
			name = "[heap]";
		else if (mm->start_stack && v->start <= mm->start_stack && v->end >= mm->start_stack)
			name = "[stack]";
		if (name) {
			while (n < MAPS_NAME_COLUMN)
				line[n++] = ' ';
			n += snprintf(line + n, sizeof(line) - (size_t)n, " %s", name);
		}
		line[n++] = '\n';
		if (len + (size_t)n >= size)
			break;          /* whole lines only */
		for (int k = 0; k < n; k++)
			buf[len++] = line[k];
	}
	buf[len] = 0;
	up_read(&mm->mmap_lock);
	return len;
}

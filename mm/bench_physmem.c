#include "mm/mm_init.h"
void bench_physmem(void) {}

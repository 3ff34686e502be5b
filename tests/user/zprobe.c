#include "libc.h"
#define R(n,a,b,c) raw_syscall6(n,(long)(a),(long)(b),(long)(c),0,0,0)
static void cat(const char *p){ static char buf[65536]; long n=read_file(p,buf,sizeof buf); if(n>0){buf[n]=0; printf("%s",buf);} }
int main(void){
	char *p = mmap(NULL, 16*4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	printf("mlock off %ld\n", R(149, p+100, 4096, 0));
	printf("mlock2 bad %ld\n", R(325, p, 4096, 2));
	printf("mlock2 onf %ld\n", R(325, p+8*4096, 4096, 1));
	p[8*4096+10]=1;
	char *n = mmap(NULL, 4*4096, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	printf("mlock none %ld\n", R(149, n, 4096, 0));
	munmap(n+4096, 4096);
	printf("mlock hole %ld\n", R(149, n, 3*4096, 0));
	printf("munlock hole %ld\n", R(150, n, 3*4096, 0));
	printf("mlock unm %ld\n", R(149, 0x10000, 4096, 0));
	printf("mlock wrap %ld\n", R(149, p, -4096L, 0));
	printf("mlock 0 %ld\n", R(149, p, 0, 0));
	printf("mlockall 0 %ld\n", R(151, 0, 0, 0));
	printf("mlockall onf %ld\n", R(151, 4, 0, 0));
	printf("mlockall 8 %ld\n", R(151, 8, 0, 0));
	printf("dontneed %ld\n", R(28, p, 4096, MADV_DONTNEED));
	printf("free %ld\n", R(28, p, 4096, MADV_FREE));
	printf("pageout %ld\n", R(28, p, 4096, MADV_PAGEOUT));
	printf("cold %ld\n", R(28, p, 4096, MADV_COLD));
	printf("dn_locked %ld\n", R(28, p, 4096, 24));
	printf("popr none %ld\n", R(28, n, 4096, 22));
	printf("popw none %ld\n", R(28, n, 4096, 23));
	printf("popr hole %ld\n", R(28, n, 3*4096, 22));
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	printf("popw ro %ld\n", R(28, ro, 4096, 23));
	cat("/proc/self/smaps");
	cat("/proc/self/smaps_rollup");
	cat("/proc/self/status");
	printf("munlockall %ld\n", R(152, 0, 0, 0));
	printf("mlockall fut %ld\n", R(151, 2, 0, 0));
	char *q = mmap(NULL, 4*4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	(void)q;
	printf("mlockall fut|onf %ld\n", R(151, 6, 0, 0));
	char *q2 = mmap(NULL, 4*4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	(void)q2;
	cat("/proc/self/smaps");
	long fds[1]; int pf[2];
	printf("pipe2 bad %ld\n", R(293, pf, 0x4000, 0));
	printf("pipe2 direct %ld\n", R(293, pf, 040000, 0));
	(void)fds;
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* arch/x86_64/mtrr.h - the Memory Type Range Registers, read and decoded.
 *
 * Firmware programs the MTRRs to give every physical address a memory type:
 * fixed ranges for the first MiB (eight 64 KiB, sixteen 16 KiB and
 * sixty-four 4 KiB pieces), up to about ten variable ranges (a base and a
 * mask each) and a default type for everything else (Intel SDM vol. 3,
 * "Memory Type Range Registers"). Pagoda never changes them; it reads them
 * once on the boot CPU (mtrr_init), prints a summary, and uses them to say
 * what type a mapping really gets: the *effective* type of an access
 * combines the MTRR type of its address with the PAT type of its page
 * (arch/x86_64/pat.h; SDM table "Effective Page-Level Memory Types"). A
 * write-combining page is WC whatever the MTRR says; an uncached page is
 * UC; a write-back page takes the MTRR's type, so "WB" RAM in a range
 * firmware made uncached is uncached.
 *
 * Precedence inside the MTRRs, for one address: all MTRRs disabled -> UC;
 * below 1 MiB with the fixed ranges enabled -> the fixed range's type;
 * otherwise the variable ranges that match (address & mask == base &
 * mask): none -> the default type, one -> its type, several -> UC if any
 * is UC, WT if they are WT and WB, their type if all agree, and undefined
 * (MTRR_CONFLICT, treated as UC) for any other mix.
 *
 * The decoding functions are pure (host test: tests/host/test_mtrr.c);
 * mtrr_init reads the MSRs only where CPUID says MTRRs exist.
 */
#ifndef PAGODA_ARCH_MTRR_H
#define PAGODA_ARCH_MTRR_H

#include "kernel/types.h"
#include "arch/x86_64/pat.h"

#define MSR_MTRRCAP 0xFE
#define MSR_MTRR_DEF_TYPE 0x2FF
#define MSR_MTRR_PHYSBASE(n) (0x200 + 2 * (n))
#define MSR_MTRR_PHYSMASK(n) (0x201 + 2 * (n))
#define MTRRCAP_VCNT 0xFFu
#define MTRRCAP_FIX (1u << 8)
#define MTRRCAP_WC (1u << 10)
#define MTRR_DEF_TYPE_FE (1u << 10)   /* fixed ranges enabled */
#define MTRR_DEF_TYPE_E (1u << 11)    /* MTRRs enabled */
#define MTRR_PHYSMASK_VALID (1u << 11)
#define MTRR_ADDR_MASK 0x000FFFFFFFFFF000ULL

/* The eleven fixed-range MSRs, in address order: each holds eight types. */
#define MTRR_NR_FIXED_MSRS 11
#define MTRR_NR_FIXED (MTRR_NR_FIXED_MSRS * 8)
#define MTRR_FIXED_END 0x100000ULL
#define MTRR_MAX_VAR 32

/* Not memory types: a range with more than one type, and an overlap of
 * variable ranges whose result the SDM leaves undefined. */
#define MTRR_MIXED 0xFE
#define MTRR_CONFLICT 0xFF

struct mtrr_var {
	u64 base;       /* IA32_MTRR_PHYSBASEn as read: type in bits 7:0 */
	u64 mask;       /* IA32_MTRR_PHYSMASKn as read: valid in bit 11 */
};

struct mtrr_state {
	bool present;           /* CPUID.1:EDX.MTRR: the MSRs exist */
	bool enabled;           /* MTRRdefType.E */
	bool fixed_enabled;     /* MTRRdefType.FE, and MTRRcap says fixed ranges exist */
	bool wc_supported;      /* MTRRcap.WC */
	u8 def_type;
	u32 nr_var;             /* MTRRcap.VCNT, at most MTRR_MAX_VAR kept */
	u8 fixed[MTRR_NR_FIXED];        /* the type of each fixed piece, address order */
	struct mtrr_var var[MTRR_MAX_VAR];
};

extern struct mtrr_state mtrr_state;     /* the boot CPU's, from mtrr_init */

/* The MSR number of fixed-range MSR i (0..10) and the first address and
 * size of the pieces it holds. */
u32 mtrr_fixed_msr(u32 i);
void mtrr_fixed_span(u32 i, u64 *start, u64 *piece);
/* Spread eleven fixed-range MSR values into s->fixed. */
void mtrr_decode_fixed(struct mtrr_state *s, const u64 msr[MTRR_NR_FIXED_MSRS]);

/* The MTRR type of one physical address (a type, or MTRR_CONFLICT). */
u8 mtrr_type_of(const struct mtrr_state *s, u64 addr);
/* The type of all of [start, end) (4 KiB pages: no MTRR is finer), or
 * MTRR_MIXED when it is not one type. */
u8 mtrr_type_of_range(const struct mtrr_state *s, u64 start, u64 end);
/* The effective type of an access to a page of PAT type `page` in an MTRR
 * range of type `mtrr` (MTRR_CONFLICT and MTRR_MIXED count as UC). */
enum pat_type mtrr_effective_type(u8 mtrr, enum pat_type page);
/* "UC", "WC", "WT", "WP", "WB", "mixed", "conflict" or "?". */
const char *mtrr_type_name(u8 type);

/* Read the boot CPU's MTRRs into mtrr_state (nothing when CPUID says there
 * are none) and print a summary. */
void mtrr_init(void);
/* After an ioremap or the direct map: say so when [phys, phys + size)
 * mapped with PAT type `page` is effectively another type than asked for
 * (and return that type; `page` itself without MTRRs). */
enum pat_type mtrr_check_mapping(const char *what, u64 phys, u64 size, enum pat_type page);

#endif

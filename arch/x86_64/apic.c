/* arch/x86_64/apic.c - placeholder until the local APIC driver lands. */
#include "arch/x86_64/apic.h"

u64 tsc_khz;
u64 lapic_timer_khz;

void lapic_init_bsp(void) {}
void lapic_init_ap(void) {}
bool lapic_x2apic_mode(void) { return false; }
u32 lapic_id(void) { return 0; }
void lapic_eoi(void) {}
void lapic_send_ipi(u32 apic_id, u8 vector) { (void)apic_id; (void)vector; }
void lapic_send_nmi(u32 apic_id) { (void)apic_id; }
void lapic_send_nmi_all_but_self(void) {}
void lapic_send_init(u32 apic_id) { (void)apic_id; }
void lapic_send_sipi(u32 apic_id, u8 start_page) { (void)apic_id; (void)start_page; }
void lapic_timer_calibrate(void) {}
void lapic_timer_start(u32 hz) { (void)hz; }
void udelay(u64 us) { (void)us; }
void mdelay(u64 ms) { (void)ms; }

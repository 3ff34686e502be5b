/* arch/x86_64/acpi.c - placeholder until the ACPI parser lands. */
#include "arch/x86_64/acpi.h"
#include "kernel/printk.h"

struct acpi_info acpi_info;

int acpi_init(void)
{
	acpi_info.nr_cpus = 1;
	return -1;
}

void acpi_poweroff(void) {}

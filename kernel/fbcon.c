/* kernel/fbcon.c - placeholder until the framebuffer console lands. */
#include "kernel/fbcon.h"

void fbcon_init(void) {}
